/*
 * postgres_link.h - how the PostgreSQL store gets its connections: the first
 * at start, on the caller's thread; any later one from a thread of its own
 * (postgres_link.c), so the event loop never waits on connecting.
 */
#ifndef PARLEY_STORE_POSTGRES_LINK_H
#define PARLEY_STORE_POSTGRES_LINK_H
#include <libpq-fe.h>

struct pg_link;

/*
 * A connection made now, with Parley's defaults (check PQstatus; PQfinish
 * it), and how long a round trip on it may wait for its answer: its
 * statement_timeout plus LIMIT_DB_ANSWER_GRACE_MS (0: no limit, when
 * statements have none), for a server that hangs with the connection open.
 */
PGconn		*pg_link_connect(const char *conninfo, unsigned *answer_ms);
/* The thread that makes connections to conninfo when asked; NULL if it cannot start. */
struct pg_link	*pg_link_new(const char *conninfo);
/*
 * A new connection if one is ready (now the caller's; *answer_ms as
 * pg_link_connect's), else NULL, and the thread is asked to make one (it
 * keeps trying, with backoff).
 */
PGconn		*pg_link_take(struct pg_link *l, unsigned *answer_ms);
/* Stops the thread (an attempt under way finishes first); NULL is a no-op. */
void		 pg_link_free(struct pg_link *l);

#endif
