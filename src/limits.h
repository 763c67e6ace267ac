/*
 * limits.h - every limit Parley enforces, with its unit, in one place.
 * Included by whichever module enforces the limit; nothing here allocates.
 */
#ifndef PARLEY_LIMITS_H
#define PARLEY_LIMITS_H

#define LIMIT_BODY_BYTES          (64 * 1024)   /* request body, 413 above */
#define LIMIT_UPLOAD_BYTES        (2 * 1024 * 1024) /* a character card's upload (a PNG) */
#define LIMIT_CARD_BYTES          LIMIT_UPLOAD_BYTES /* a card, PNG or JSON, at most */
#define LIMIT_CARD_TEXT_CHUNKS    8             /* a card PNG: text chunks kept at most */
#define LIMIT_CARD_DEPTH          32            /* JSON nesting of a card, at most */
#define LIMIT_CARD_PIXELS         4096          /* a card PNG's width and height, at most */
#define LIMIT_MESSAGE_BODY_BYTES  (16 * 1024)   /* a message's "body" field, 413 above */
#define LIMIT_HEADER_BYTES        (8 * 1024)    /* request header block, 431 above */
#define LIMIT_FORWARDED_HEADERS   8             /* X-Forwarded-For headers read: the last ones */
#define LIMIT_EVHTTP_HEADER_BYTES (256 * 1024)  /* libevent refuses on its own above (400) */
#define LIMIT_EVHTTP_BODY_BYTES   (3 * 1024 * 1024) /* libevent refuses on its own above */
#define LIMIT_AUTHOR_CHARS        64            /* person's name, after trimming */
#define LIMIT_TITLE_CHARS         200           /* chat title, after trimming */
#define LIMIT_BOT_NAME_CHARS      32            /* [A-Za-z0-9_-] */
#define LIMIT_USER_NAME_CHARS     32            /* [A-Za-z0-9_.-] */
#define LIMIT_DISPLAY_NAME_CHARS  64            /* after trimming */
#define LIMIT_PASSWORD_MIN_CHARS  8
#define LIMIT_PASSWORD_MAX_CHARS  256
#define LIMIT_TOKEN_NAME_CHARS    64            /* an API token's label */
#define LIMIT_SIGNIN_NAME_FAILURES 5            /* wrong passwords for one name ... */
#define LIMIT_SIGNIN_ADDR_FAILURES 20           /* ... or from one address ... */
#define LIMIT_SIGNIN_WINDOW_SECONDS (15 * 60)   /* ... within this: 429 until they age out */
#define LIMIT_SIGNIN_KEYS         8192          /* names and addresses remembered for that */
#define LIMIT_HASHES_QUEUED       64            /* password hashes waiting: more is 503 */
#define LIMIT_INVITE_HOURS        720           /* an invite lives 1..this (default 168) */
#define LIMIT_SESSION_TOUCH_SECONDS 3600        /* a session's last use is stored this often */
#define LIMIT_ACCOUNTS_SWEEP_SECONDS 3600       /* expired sessions and invites are dropped this often */
#define LIMIT_CREDENTIALS_CACHED  4096          /* sessions and tokens kept in memory; when full it starts over */
#define LIMIT_PERSONA_BYTES       8000          /* a bot's persona */
#define LIMIT_URL_BYTES           2000          /* a bot's base_url */
#define LIMIT_MODEL_BYTES         200           /* a bot's model name */

#define LIMIT_IDLE_CONN_SECONDS   30            /* a connection (not a stream) silent this long closes */
#define LIMIT_CONN_UNSENT_BYTES   (256 * 1024)  /* an answer's unread bytes above which ... */
#define LIMIT_CONN_STALL_SECONDS  3             /* ... not moving for this long close the connection */
#define LIMIT_REFUSED_LINGER_SECONDS 2          /* a malformed request's connection, answered, closes after */

#define LIMIT_MENTIONS_SEEN       16            /* @mentions of absent bots a post is told of */
#define LIMIT_PREVIEW_CHARS       140           /* of a chat's last message, in the chat list */
#define LIMIT_SNAPSHOT_MESSAGES   50            /* messages in a snapshot and a chat GET */
#define LIMIT_PAGE_MESSAGES       200           /* messages rendered on a chat page */
#define LIMIT_PAGE_EARLIER        100           /* ... and fetched at a time by its "Earlier messages" */
#define LIMIT_LIST_DEFAULT        100           /* GET messages and chats: default limit */
#define LIMIT_LIST_MAX            500           /* GET messages and chats: maximum limit */
#define LIMIT_INDEX_CHATS         50            /* chats on one page of the chat list */
#define LIMIT_EVENTS_KEPT         2000          /* durable events kept per chat (>= 1000) */
#define LIMIT_POSTS_PER_COMMIT    64            /* people's posts grouped in one transaction */
#define LIMIT_CHANGE_TRIES        5             /* a change redone on what others changed meanwhile */
#define LIMIT_POSTED_CHATS        8192          /* chats whose settings posts find in memory (slots) */
#define LIMIT_COPY_CHUNK_BYTES    (256 * 1024)  /* parley copy: rows sent to PostgreSQL at a time */

#define LIMIT_LISTEN_BACKLOG      4096
#define LIMIT_ACCEPT_PAUSE_MS     100           /* pause accepting on EMFILE/ENFILE */
#define LIMIT_SHUTDOWN_MS         4000          /* after SIGTERM: replies stopped, streams ended (or cut) */
#define LIMIT_SHUTDOWN_FIBERS_MS  500           /* then what waits for the database gets this long */
#define LIMIT_DB_CHECK_SECONDS    2             /* how often the database is checked (SQLite: its file; PostgreSQL: its connection) */
#define LIMIT_BUS_TICK_MS         500           /* Redis: a heartbeat through it this often */
#define LIMIT_BUS_SILENCE_MS      3000          /* Redis: no own heartbeat back for this long: reconnect */
#define LIMIT_BUS_RETRY_MAX_MS    2000          /* Redis: reconnect backoff, from 100 ms, doubling up to this */
#define LIMIT_BUS_CHECK_SECONDS   5             /* Redis: each chat with streams here is checked against the store this often */
#define LIMIT_DB_RETRY_MIN_MS     250           /* PostgreSQL lost: the wait after a first failed attempt to connect again */
#define LIMIT_DB_RETRY_MAX_MS     5000          /* ... doubling up to this */
#define LIMIT_DB_CONNECT_SECONDS  5             /* PostgreSQL: connecting gives up after (the URL's connect_timeout wins) */
#define LIMIT_DB_STATEMENT_MS     30000         /* PostgreSQL: one statement's bound (the URL's options win) */
#define LIMIT_DB_IDLE_IN_TRANSACTION_MS 5000   /* PostgreSQL: a transaction idle this long is ended by the server (the URL's options win) */
#define LIMIT_DB_STUCK_MS         3000          /* PostgreSQL: a round trip waiting this long makes /healthz answer 503 */
#define LIMIT_DB_ANSWER_GRACE_MS  5000          /* PostgreSQL: a round trip waits for its answer the statement bound plus this, then the connection is given up */
#define LIMIT_DB_UNACKED_MS       15000         /* PostgreSQL over TCP: sent and not acknowledged this long, the connection is lost */
#define LIMIT_DB_KEEPALIVE_IDLE   10            /* PostgreSQL over TCP: an idle connection is probed after this many seconds, */
#define LIMIT_DB_KEEPALIVE_EVERY  5             /* ... every this many seconds, */
#define LIMIT_DB_KEEPALIVE_COUNT  3             /* ... and lost after this many probes unanswered (the URL's settings win) */
#define LIMIT_STREAM_STALL_SECONDS 60           /* a stream whose queued output makes no
						   progress this long is cut (a dead peer) */
#define LIMIT_STREAM_END_SECONDS  5             /* an ending stream's last bytes, at most */
#define LIMIT_STREAM_CHATS        64            /* chats on one browser stream (GET /events) */
#define LIMIT_DELIVERY_LAG_MS     1             /* stream threads further behind than this:
						   requests that write wait (admission) */
#define LIMIT_ADMIT_RECHECK_MS    1             /* how often waiting requests look again */
#define LIMIT_ADMIT_WAIT_MS       1000          /* and they wait at most this long */
#define LIMIT_TOKEN_COALESCE_MS   10            /* a bot's token waits at most this long
						   to share a write with the next ones */

#define LIMIT_CONTEXT_MESSAGES    20            /* recent messages a bot sees */
#define LIMIT_MODEL_CONTEXT_BYTES 12000         /* of message text sent to a model server */
#define LIMIT_MODEL_CONNECT_SECONDS 10          /* connecting to a model server */
#define LIMIT_MODEL_ERROR_BYTES   (64 * 1024)   /* of a model server's error answer read */
#define LIMIT_MODEL_ERROR_SHOWN   100           /* of its JSON error's message shown in the chat */
#define LIMIT_REPLY_BYTES         (64 * 1024)   /* a reply longer than this is cut and fails */
#define LIMIT_REPLY_SAVE_SECONDS  2             /* a reply's text so far is stored this often */
#define LIMIT_FINISH_RETRY_SECONDS 1            /* a reply's end that failed to store: again after */
#define LIMIT_MODEL_EVENT_BYTES   (1024 * 1024) /* one event of a model server's stream */
#define LIMIT_MODEL_FINISHED_QUIET_SECONDS 5    /* silence after a finish reason that ends a reply whole */
#define LIMIT_MODEL_KEEPALIVE_TIMES 5           /* keepalives alone hold a reply this many --model-timeouts */
#define LIMIT_MODEL_RETRY_AFTER_SECONDS 20      /* a 429's Retry-After waited for, at most */
#define LIMIT_BOT_TURNS           8             /* bot replies per person message */
#define LIMIT_AUTO_ROUNDS         50            /* a chat's auto_rounds, at most */
#define LIMIT_QUEUED_TURNS        64            /* asked-for turns waiting in a chat: more is 429 */
#define LIMIT_ALTERNATIVES        50            /* alternatives of one bot message */
#define LIMIT_CHAT_BOTS           64            /* bots of a chat the policies consider */
#define LIMIT_DICE_EXPRS          20            /* dice expressions rolled per message */
#define LIMIT_DICE_COUNT          100           /* N in NdM */
#define LIMIT_DICE_SIDES          1000          /* M in NdM */
#define LIMIT_DICE_BONUS          10000         /* |K| in NdM+K */

#define LIMIT_RESUME_RING         64            /* recent events per chat kept in memory for resumes */
#define LIMIT_ENDS_KEPT           64            /* ends of streams kept for the streams being opened meanwhile */
#define LIMIT_HELD_EVENTS         4096          /* events of a chat held behind a gap before its streams resync */
#define LIMIT_CHATS_CACHED        4096          /* chats the store keeps read; when full it starts over */
#define LIMIT_PAGE_CACHE_BYTES    (64 * 1024 * 1024) /* rendered chat pages kept, in all */
#define LIMIT_CACHED_PAGE_BYTES   (512 * 1024)  /* a bigger page is rendered every time */

#endif
