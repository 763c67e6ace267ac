/*
 * postgres_link.h - how the PostgreSQL store gets its connections: the first
 * at start, on the caller's thread; any later one from a thread of its own
 * (postgres_link.c), so the event loop never waits on connecting.
 */
#ifndef PARLEY_STORE_POSTGRES_LINK_H
#define PARLEY_STORE_POSTGRES_LINK_H
#include <libpq-fe.h>

struct pg_link;

/* A connection made now, with Parley's defaults (check PQstatus; PQfinish it). */
PGconn		*pg_link_connect(const char *conninfo);
/* The thread that makes connections to conninfo when asked; NULL if it cannot start. */
struct pg_link	*pg_link_new(const char *conninfo);
/*
 * A new connection if one is ready (now the caller's), else NULL, and the
 * thread is asked to make one (it keeps trying, with backoff).
 */
PGconn		*pg_link_take(struct pg_link *l);
/* Stops the thread (an attempt under way finishes first); NULL is a no-op. */
void		 pg_link_free(struct pg_link *l);

#endif
