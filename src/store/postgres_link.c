/*
 * postgres_link.c - the PostgreSQL store's connections, made on a thread of
 * its own once the first is lost: connecting to a server that is down or
 * unreachable can take up to connect_timeout, which the event loop must
 * never wait for. The thread tries at once, then after 250 ms, doubling up
 * to LIMIT_DB_RETRY_MAX_MS, until it has a connection for the store to take.
 * Called by postgres.c only.
 */
#include "store/postgres_link.h"
#include "limits.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STR_(x) #x
#define STR(x) STR_(x)

struct pg_link {
	char		*conninfo;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;
	bool		 wanted;	/* the store asked for a connection */
	bool		 stopping;
	PGconn		*ready;		/* made, not yet taken */
	unsigned	 ready_answer_ms;
};

/* What the server says unasked (warnings, why it ends a connection) goes to the log. */
static void
log_notice(void *arg, const char *message)
{
	(void)arg;
	log_warn("database: %.*s", (int)strcspn(message, "\n"), message);
}

/*
 * The bound on a round trip's wait for conn's answers: the statement bound
 * in effect (the URL may have set its own, or none), plus a grace.
 */
static unsigned
answer_bound(PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT setting::bigint FROM pg_settings"
	    " WHERE name = 'statement_timeout'");
	long long statement_ms = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ?
	    strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	if (statement_ms <= 0 || statement_ms > INT_MAX - LIMIT_DB_ANSWER_GRACE_MS)
		return 0;
	return (unsigned)statement_ms + LIMIT_DB_ANSWER_GRACE_MS;
}

/*
 * The URL's own settings win over these defaults (they come first): a name
 * in pg_stat_activity, a bound on connecting, and on any one statement; a
 * transaction left idle (its node frozen or cut off: its locks would hold
 * every other node's writes of that chat) is ended by the server; text in
 * UTF-8 whatever the database's own encoding; numbers read back exactly
 * (extra_float_digits: a bot's update compares the reals it read); over
 * TCP, a server gone from the network (nothing acknowledged, or no answer to
 * keepalive probes) ends the connection rather than waiting for the kernel's
 * retries (about 15 minutes), so that requests answer 503 and it is made again.
 */
PGconn *
pg_link_connect(const char *conninfo, unsigned *answer_ms)
{
	const char *const keys[] = { "application_name", "connect_timeout", "tcp_user_timeout",
	    "keepalives_idle", "keepalives_interval", "keepalives_count", "options",
	    "client_encoding", "dbname", NULL };
	const char *const values[] = { "parley", STR(LIMIT_DB_CONNECT_SECONDS),
	    STR(LIMIT_DB_UNACKED_MS), STR(LIMIT_DB_KEEPALIVE_IDLE), STR(LIMIT_DB_KEEPALIVE_EVERY),
	    STR(LIMIT_DB_KEEPALIVE_COUNT),
	    "-c statement_timeout=" STR(LIMIT_DB_STATEMENT_MS) " -c idle_in_transaction_session_timeout="
	    STR(LIMIT_DB_IDLE_IN_TRANSACTION_MS) " -c client_min_messages=warning"
	    " -c extra_float_digits=3", "UTF8",
	    conninfo, NULL };
	PGconn *conn = PQconnectdbParams(keys, values, 1);
	PQsetNoticeProcessor(conn, log_notice, NULL);
	const char *encoding = PQparameterStatus(conn, "client_encoding");
	if (PQstatus(conn) == CONNECTION_OK && (encoding == NULL || strcmp(encoding, "UTF8") != 0))
		PQsetClientEncoding(conn, "UTF8");	/* the URL's own said otherwise */
	*answer_ms = PQstatus(conn) == CONNECTION_OK ? answer_bound(conn) : 0;
	return conn;
}

/* Waits (the lock held) until asked to stop or ms have passed. */
static void
pause_for(struct pg_link *l, unsigned ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while (!l->stopping && pthread_cond_timedwait(&l->wake, &l->lock, &until) != ETIMEDOUT)
		;
}

/* One attempt (the lock not held); true once a connection is ready. */
static bool
attempt(struct pg_link *l, unsigned next_ms)
{
	unsigned answer_ms;
	PGconn *conn = pg_link_connect(l->conninfo, &answer_ms);
	if (PQstatus(conn) == CONNECTION_OK) {
		pthread_mutex_lock(&l->lock);
		l->ready = conn;
		l->ready_answer_ms = answer_ms;
		l->wanted = false;
		pthread_mutex_unlock(&l->lock);
		return true;
	}
	const char *why = PQerrorMessage(conn);
	log_error("database: cannot connect (next try in %u ms): %.*s", next_ms,
	    (int)strcspn(why, "\n"), why);
	PQfinish(conn);
	return false;
}

static void *
run(void *arg)
{
	struct pg_link *l = arg;
	pthread_mutex_lock(&l->lock);
	while (!l->stopping) {
		if (!l->wanted) {
			pthread_cond_wait(&l->wake, &l->lock);
			continue;
		}
		unsigned delay = LIMIT_DB_RETRY_MIN_MS;
		pthread_mutex_unlock(&l->lock);
		while (!attempt(l, delay)) {
			pthread_mutex_lock(&l->lock);
			pause_for(l, delay);
			bool stop = l->stopping;
			pthread_mutex_unlock(&l->lock);
			if (stop)
				break;
			delay = delay * 2 > LIMIT_DB_RETRY_MAX_MS ? LIMIT_DB_RETRY_MAX_MS : delay * 2;
		}
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

struct pg_link *
pg_link_new(const char *conninfo)
{
	struct pg_link *l = xcalloc(1, sizeof *l);
	l->conninfo = xstrdup(conninfo);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	if (pthread_create(&l->thread, NULL, run, l) != 0) {
		pthread_cond_destroy(&l->wake);
		pthread_mutex_destroy(&l->lock);
		free(l->conninfo);
		free(l);
		return NULL;
	}
	return l;
}

PGconn *
pg_link_take(struct pg_link *l, unsigned *answer_ms)
{
	pthread_mutex_lock(&l->lock);
	PGconn *conn = l->ready;
	if (conn != NULL)
		*answer_ms = l->ready_answer_ms;
	l->ready = NULL;
	if (conn == NULL && !l->wanted) {
		l->wanted = true;
		pthread_cond_signal(&l->wake);
	}
	pthread_mutex_unlock(&l->lock);
	return conn;
}

void
pg_link_free(struct pg_link *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	PQfinish(l->ready);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->lock);
	free(l->conninfo);
	free(l);
}
