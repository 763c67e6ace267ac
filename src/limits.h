/*
 * limits.h - every limit Parley enforces, with its unit, in one place.
 * Included by whichever module enforces the limit; nothing here allocates.
 */
#ifndef PARLEY_LIMITS_H
#define PARLEY_LIMITS_H

#define LIMIT_BODY_BYTES          (64 * 1024)   /* request body, 413 above */
#define LIMIT_MESSAGE_BODY_BYTES  (16 * 1024)   /* a message's "body" field, 413 above */
#define LIMIT_HEADER_BYTES        (8 * 1024)    /* request header block, 431 above */
#define LIMIT_EVHTTP_HEADER_BYTES (256 * 1024)  /* libevent refuses on its own above (400) */
#define LIMIT_EVHTTP_BODY_BYTES   (1024 * 1024) /* libevent refuses on its own above */
#define LIMIT_AUTHOR_CHARS        64            /* person's name, after trimming */
#define LIMIT_TITLE_CHARS         200           /* chat title, after trimming */

#define LIMIT_IDLE_CONN_SECONDS   30            /* a connection (not a stream) silent this long closes */

#define LIMIT_SNAPSHOT_MESSAGES   50            /* messages in a snapshot and a chat GET */
#define LIMIT_PAGE_MESSAGES       200           /* messages rendered on a chat page */
#define LIMIT_LIST_DEFAULT        100           /* GET messages default limit */
#define LIMIT_LIST_MAX            500           /* GET messages maximum limit */
#define LIMIT_EVENTS_KEPT         2000          /* durable events kept per chat (>= 1000) */
#define LIMIT_REPLAY_EVENTS       LIMIT_EVENTS_KEPT

#define LIMIT_LISTEN_BACKLOG      4096
#define LIMIT_ACCEPT_PAUSE_MS     100           /* pause accepting on EMFILE/ENFILE */
#define LIMIT_SHUTDOWN_SECONDS    4             /* streams are cut after this on SIGTERM */
#define LIMIT_STREAM_STALL_SECONDS 60           /* a stream whose queued output makes no
						   progress this long is cut (a dead peer) */
#define LIMIT_STREAM_END_SECONDS  5             /* an ending stream's last bytes, at most */
#define LIMIT_DELIVERY_LAG_MS     1             /* stream threads further behind than this:
						   requests that write wait (admission) */
#define LIMIT_ADMIT_RECHECK_MS    1             /* how often waiting requests look again */
#define LIMIT_ADMIT_WAIT_MS       1000          /* and they wait at most this long */
#define LIMIT_TOKEN_COALESCE_MS   10            /* a bot's token waits at most this long
						   to share a write with the next ones */

#define CHAT_ID_LEN               12

#endif
