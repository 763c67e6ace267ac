/*
 * postgres.c - the PostgreSQL store's connection, its migrations run (their
 * text and the statements' are postgres_sql.c's) and shared helpers. One
 * connection, statements prepared on it at first use.
 * A commit returns once PostgreSQL has made it durable (its own
 * synchronous_commit setting), so a 201 survives kill -9 of Parley and of
 * the database server. A lost connection fails the call that finds it, and
 * every call until postgres_link.c's thread has made a new one (never on
 * the event loop: connecting to an unreachable server can take seconds).
 * Migrations are numbered, kept in parley_schema, and run under an
 * advisory lock, so nodes starting together migrate once.
 *
 * Round trips never hold up the loop: in a fiber (util/fiber.h) a statement
 * is sent and the fiber waits for its answer while the loop goes on. The
 * connection serves one round trip at a time (a transaction's from BEGIN
 * to its end), in the order the callers came, so commits complete, and are
 * published, in the order they were made. Code outside a fiber (start-up,
 * shutdown) waits on the spot, letting the fiber whose turn it is finish
 * its round trips first.
 */
#include "store/postgres.h"
#include "limits.h"
#include "metrics.h"
#include "store/postgres_link.h"
#include "util/clock.h"
#include "util/fiber.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <assert.h>
#include <event2/event.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---------- parameters and columns ---------- */

void
pg_text(struct pg_params *p, const char *v)
{
	p->value[p->n++] = v;
}

void
pg_int(struct pg_params *p, int64_t v)
{
	snprintf(p->number[p->n], sizeof p->number[p->n], "%" PRId64, v);
	p->value[p->n] = p->number[p->n];
	p->n++;
}

void
pg_real(struct pg_params *p, double v)
{
	snprintf(p->number[p->n], sizeof p->number[p->n], "%.17g", v);
	p->value[p->n] = p->number[p->n];
	p->n++;
}

void
pg_position(struct pg_params *p, uint64_t v)
{
	pg_int(p, v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v);
}

const char *
pg_col_text(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

json_t *
pg_col_json(PGresult *r, int row, int col)
{
	const char *v = pg_col_text(r, row, col);
	return v ? json_string(v) : json_null();
}

int64_t
pg_col_int(PGresult *r, int row, int col)
{
	const char *v = pg_col_text(r, row, col);
	return v ? strtoll(v, NULL, 10) : 0;
}

double
pg_col_real(PGresult *r, int row, int col)
{
	const char *v = pg_col_text(r, row, col);
	return v ? strtod(v, NULL) : 0;
}

/* ---------- the connection ---------- */

/* The connection's last error, its first line only (for one-line logs). */
static const char *
error_line(struct postgres_store *st)
{
	const char *message = PQerrorMessage(st->conn);
	snprintf(st->error, sizeof st->error, "%.*s", (int)strcspn(message, "\n"), message);
	return st->error;
}

/* The connection is gone: what was prepared on it with it. */
static void
connection_lost(struct postgres_store *st)
{
	memset(st->prepared, 0, sizeof st->prepared);
	st->unreachable = true;
}

/*
 * A usable connection: when lost, the new one postgres_link.c has made, if
 * it has; -1 if none (yet). Never in the middle of a transaction: the rest
 * of it would run outside one, so it fails until the caller ends it
 * (postgres_fail).
 */
static int
connected(struct postgres_store *st)
{
	if (PQstatus(st->conn) == CONNECTION_OK)
		return 0;
	connection_lost(st);
	if (st->in_transaction)
		return -1;
	PGconn *fresh = pg_link_take(st->link, &st->answer_ms);
	if (fresh == NULL)
		return -1;
	PQfinish(st->conn);
	st->conn = fresh;
	PQsetnonblocking(st->conn, 1);
	metrics_add(METRIC_DB_RECONNECTS, 1);
	log_info("database: connected again");
	return 0;
}

/* ---------- turns on the connection ---------- */

struct pg_waiter {
	struct fiber		*fiber;
	struct pg_waiter	*next;
};

/*
 * Waits on the spot (at most timeout_ms; -1: no limit) for fd to be ready
 * for what; what was (EV_TIMEOUT: time was up; 0: interrupted).
 */
static short
poll_for(int fd, short what, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = (short)((what & EV_READ ? POLLIN : 0) |
	    (what & EV_WRITE ? POLLOUT : 0)) };
	int n = poll(&p, 1, timeout_ms);
	if (n <= 0)
		return n == 0 ? EV_TIMEOUT : 0;
	return (short)((p.revents & (POLLIN | POLLERR | POLLHUP) ? EV_READ : 0) |
	    (p.revents & POLLOUT ? EV_WRITE : 0));
}

/* Outside a fiber: lets whoever has the connection finish with it, on the spot. */
static void
wait_on_loop(struct postgres_store *st)
{
	st->loop_waits = true;
	while (st->owned) {
		if (st->owner_waits != 0)
			poll_for(PQsocket(st->conn), st->owner_waits, 1000);
		fiber_resume(st->owner);
	}
	st->loop_waits = false;
}

/* The caller's turn on the connection (kept through a transaction it began). */
static void
take_turn(struct postgres_store *st)
{
	struct fiber *me = fiber_self();
	if (st->owned && st->owner == me)
		return;
	if (me == NULL) {
		wait_on_loop(st);
	} else if (st->owned || st->loop_waits || st->first != NULL) {
		struct pg_waiter w = { .fiber = me };
		*(st->first ? st->last : &st->first) = &w;
		st->last = &w.next;
		fiber_wait();		/* end_turn() made it ours */
		return;
	}
	st->owned = true;
	st->owner = me;
	st->owner_waits = 0;
}

/* The round trip is over: the next caller's turn, unless a transaction goes on. */
static void
end_turn(struct postgres_store *st)
{
	if (st->in_transaction || st->held)
		return;
	st->owned = false;
	st->owner = NULL;
	if (st->loop_waits || st->first == NULL)
		return;
	struct pg_waiter *w = st->first;
	st->first = w->next;
	st->owned = true;
	st->owner = w->fiber;
	st->owner_waits = 0;
	fiber_wake(w->fiber);
}

/*
 * The server has not answered for as long as any statement may run: it
 * hangs with the connection open (stopped, or its disk), which TCP does not
 * notice. The connection is given up; libpq finds it closed, the round trip
 * fails as on a lost connection and a new one is made.
 */
static bool
give_up_waiting(struct postgres_store *st, int fd)
{
	log_error("database: no answer in %u ms; closing the connection", st->answer_ms);
	shutdown(fd, SHUT_RDWR);
	PQconsumeInput(st->conn);
	return false;
}

/*
 * Waits until the socket is ready for what (EV_READ, EV_WRITE): in a fiber
 * while the loop goes on, else on the spot. False when the connection broke
 * or the server did not answer in time.
 */
static bool
await_socket(struct postgres_store *st, short what)
{
	int fd = PQsocket(st->conn);
	if (fd < 0)
		return false;
	short ready;
	if (fiber_self() != NULL) {
		st->owner_waits = what;
		st->waiting_since = monotonic_ms();
		ready = fiber_wait_fd(fd, what, st->answer_ms);
		st->waiting_since = 0;
		st->owner_waits = 0;
	} else {
		ready = poll_for(fd, what, st->answer_ms ? (int)st->answer_ms : -1);
	}
	if (ready == EV_TIMEOUT)
		return give_up_waiting(st, fd);
	/* woken early (0: the loop drove it, wait_on_loop), input may be there too */
	return ready == EV_WRITE || PQconsumeInput(st->conn) == 1;
}

/* Sends what was queued on the connection; false when it broke. */
static bool
await_sent(struct postgres_store *st)
{
	int unsent;
	while ((unsent = PQflush(st->conn)) == 1)
		if (!await_socket(st, EV_READ | EV_WRITE))
			return false;
	return unsent == 0;
}

/*
 * The next answer to what was sent: its first result, the others dropped
 * (NULL and the connection bad when it broke). In a pipeline, one
 * statement's answer; then the sync's.
 */
static PGresult *
await_answer(struct postgres_store *st)
{
	PGresult *first = NULL, *r;
	for (;;) {
		while (PQisBusy(st->conn))
			if (!await_socket(st, EV_READ)) {
				PQclear(first);
				return NULL;
			}
		if ((r = PQgetResult(st->conn)) == NULL)
			return first;
		if (first == NULL && PQresultStatus(r) == PGRES_PIPELINE_SYNC)
			return r;
		if (first == NULL)
			first = r;
		else
			PQclear(r);
	}
}

/* A round trip outside a fiber, once fibers are on, held the loop up: counted. */
static void
count_loop_wait(void)
{
	if (fiber_self() == NULL && fiber_enabled())
		metrics_add(METRIC_DB_LOOP_WAITS, 1);
}

static PGresult *
prepare_round_trip(struct postgres_store *st, const char *name, const char *sql)
{
	count_loop_wait();
	return PQsendPrepare(st->conn, name, sql, 0, NULL) && await_sent(st) ?
	    await_answer(st) : NULL;
}

static PGresult *
exec_round_trip(struct postgres_store *st, const char *name, const struct pg_params *p)
{
	count_loop_wait();
	return PQsendQueryPrepared(st->conn, name, p ? p->n : 0, p ? p->value : NULL, NULL,
	    NULL, 0) && await_sent(st) ? await_answer(st) : NULL;
}

/* Statement id is prepared on this connection (named s<id>); -1 on failure. */
static int
prepare(struct postgres_store *st, enum pg_stmt id, char name[16])
{
	snprintf(name, 16, "s%d", (int)id);
	if (st->prepared[id])
		return 0;
	PGresult *r = prepare_round_trip(st, name, pg_sql[id]);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		snprintf(st->sqlstate, sizeof st->sqlstate, "%s", state ? state : "08006");
		log_error("database: preparing %s: %s", pg_sql[id], error_line(st));
	}
	PQclear(r);
	st->prepared[id] = ok;
	return ok ? 0 : -1;
}

/*
 * Whether the last failure was the connection's: it is gone, or the server
 * said it is ending it (class 08, connection; 57P, shutting down), which
 * may come before the connection looks closed.
 */
static bool
lost_connection(struct postgres_store *st)
{
	return PQstatus(st->conn) != CONNECTION_OK || strncmp(st->sqlstate, "08", 2) == 0 ||
	    strncmp(st->sqlstate, "57P", 3) == 0;
}

/* Failures the callers turn into answers (postgres_failure): not worth a log line. */
static bool
answered_failure(const char *sqlstate)
{
	return strcmp(sqlstate, "23505") == 0 || strcmp(sqlstate, "23503") == 0;
}

/* The statement's round trip(s) on the connection, in the caller's turn. */
static PGresult *
run_in_turn(struct postgres_store *st, enum pg_stmt id, const struct pg_params *p)
{
	char name[16];
	snprintf(st->sqlstate, sizeof st->sqlstate, "08006");	/* connection failure */
	if (connected(st) != 0 || prepare(st, id, name) != 0) {
		if (lost_connection(st))
			connection_lost(st);
		return NULL;
	}
	PGresult *r = exec_round_trip(st, name, p);
	ExecStatusType status = PQresultStatus(r);
	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
		st->unreachable = false;
		return r;
	}
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	snprintf(st->sqlstate, sizeof st->sqlstate, "%s", state ? state : "08006");
	if (!answered_failure(st->sqlstate))
		log_error("database: %s: %s", pg_sql[id], error_line(st));
	PQclear(r);
	if (lost_connection(st))
		connection_lost(st);
	return NULL;
}

/* A statement of the batch failed: its SQLSTATE kept, logged, every result dropped. */
static void
batch_failed(struct postgres_store *st, struct pg_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const char *state = PQresultErrorField(b->result[i], PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "08006") != 0 &&
		    PQresultStatus(b->result[i]) == PGRES_FATAL_ERROR) {
			snprintf(st->sqlstate, sizeof st->sqlstate, "%s", state);
			if (!answered_failure(st->sqlstate))
				log_error("database: %s: %s", pg_sql[b->id[i]],
				    PQresultErrorMessage(b->result[i]));
			break;
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		PQclear(b->result[i]);
		b->result[i] = NULL;
	}
}

PGresult *
postgres_run(struct postgres_store *st, enum pg_stmt id, const struct pg_params *p)
{
	take_turn(st);
	PGresult *r = run_in_turn(st, id, p);
	end_turn(st);
	return r;
}

/* The server refused the statement (an error it answered, not the connection's failure). */
static bool
refused(const PGresult *r)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	return PQresultStatus(r) == PGRES_FATAL_ERROR && state != NULL &&
	    strncmp(state, "08", 2) != 0;
}

/* The batch's statements sent in one pipeline, their answers read; 0 when all went out. */
static int
pipeline(struct postgres_store *st, struct pg_batch *b)
{
	char name[16];
	if (!PQenterPipelineMode(st->conn))
		return -1;
	count_loop_wait();
	size_t sent = 0;
	while (sent < b->n) {
		const struct pg_params *p = b->params[sent];
		snprintf(name, sizeof name, "s%d", (int)b->id[sent]);
		if (!PQsendQueryPrepared(st->conn, name, p ? p->n : 0, p ? p->value : NULL, NULL,
		    NULL, 0))
			break;
		sent++;
	}
	bool ok = sent == b->n && PQpipelineSync(st->conn) && await_sent(st);
	b->maybe_committed = ok;	/* until an answer says otherwise */
	for (size_t i = 0; ok && i < b->n; i++) {
		ok = (b->result[i] = await_answer(st)) != NULL;
		if (ok && refused(b->result[i]))
			b->maybe_committed = false;	/* the transaction is rolled back */
	}
	PGresult *sync = ok ? await_answer(st) : NULL;
	ok = ok && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
	if (sync != NULL)
		b->maybe_committed = false;	/* the commit's answer came: known */
	PQclear(sync);
	return PQexitPipelineMode(st->conn) && ok ? 0 : -1;
}

int
postgres_run_batch(struct postgres_store *st, struct pg_batch *b)
{
	take_turn(st);
	assert(!st->in_transaction);	/* the batch is a transaction of its own */
	memset(b->result, 0, sizeof b->result);
	b->maybe_committed = false;
	snprintf(st->sqlstate, sizeof st->sqlstate, "08006");	/* connection failure */
	char name[16];
	int rc = connected(st);
	for (size_t i = 0; rc == 0 && i < b->n; i++)
		rc = prepare(st, b->id[i], name);
	if (rc == 0 && pipeline(st, b) != 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < b->n; i++) {
		ExecStatusType status = PQresultStatus(b->result[i]);
		if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
			rc = -1;
	}
	if (rc == 0) {
		st->unreachable = false;
	} else {
		batch_failed(st, b);
		if (lost_connection(st))
			connection_lost(st);
	}
	end_turn(st);
	return rc;
}

void
postgres_hold(struct postgres_store *st)
{
	take_turn(st);
	st->held = true;
}

void
postgres_let_go(struct postgres_store *st)
{
	st->held = false;
	end_turn(st);
}

long
postgres_exec(struct postgres_store *st, enum pg_stmt id, const struct pg_params *p)
{
	PGresult *r = postgres_run(st, id, p);
	if (r == NULL)
		return -1;
	long changed = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return changed;
}

enum store_status
postgres_failure(struct postgres_store *st)
{
	if (strcmp(st->sqlstate, "23505") == 0)
		return STORE_CONFLICT;
	if (strcmp(st->sqlstate, "23503") == 0)
		return STORE_NOT_FOUND;
	return STORE_ERROR;
}

static int
begin_as(struct postgres_store *st, enum pg_stmt begin)
{
	take_turn(st);
	PGresult *r = run_in_turn(st, begin, NULL);
	st->in_transaction = r != NULL;
	PQclear(r);
	end_turn(st);
	return r != NULL ? 0 : -1;
}

void
postgres_lease_params(struct pg_params *p, const struct lease *l)
{
	p->n = 0;
	pg_text(p, l->chat_id);
	pg_text(p, l->node);
	pg_int(p, (int64_t)l->fence);
}

/*
 * Inside a write's transaction: the lease it is fenced with still holds
 * (and stays, FOR SHARE, until the commit: a takeover waits for it). When
 * not, the transaction is rolled back and st->fenced says why.
 */
static int
check_fence(struct postgres_store *st)
{
	st->fenced = false;
	if (!st->fencing)
		return 0;
	struct pg_params p;
	postgres_lease_params(&p, &st->fence);
	PGresult *r = postgres_run(st, PG_LEASE_CHECK, &p);
	bool held = r != NULL && PQntuples(r) == 1;
	PQclear(r);
	if (held)
		return 0;
	st->fenced = r != NULL;
	postgres_fail(st, STORE_ERROR);
	return -1;
}

int
postgres_begin(struct postgres_store *st)
{
	return begin_as(st, PG_BEGIN) == 0 ? check_fence(st) : -1;
}

void
postgres_fence(struct postgres_store *st, const struct lease *l)
{
	st->fencing = l != NULL;
	st->fenced = false;
	if (l != NULL)
		st->fence = *l;
}

json_t *
postgres_chat_positions(struct postgres_store *st, json_t *ids)
{
	struct pg_params p = { .n = 0 };
	char *text = json_dumps(ids, JSON_COMPACT);
	pg_text(&p, text);
	PGresult *r = postgres_run(st, PG_CHAT_POSITIONS, &p);
	free(text);
	if (r == NULL)
		return NULL;
	json_t *out = json_object();
	for (int i = 0; i < PQntuples(r); i++)
		json_object_set_new(out, pg_col_text(r, i, 0), json_integer(pg_col_int(r, i, 1)));
	PQclear(r);
	return out;
}

int
postgres_view_begin(struct postgres_store *st)
{
	return begin_as(st, PG_BEGIN_VIEW);
}

int
postgres_commit(struct postgres_store *st)
{
	take_turn(st);
	PGresult *r = run_in_turn(st, PG_COMMIT, NULL);
	st->in_transaction = false;
	end_turn(st);
	/* a transaction that failed answers COMMIT with ROLLBACK */
	bool committed = r != NULL && strcmp(PQcmdStatus(r), "COMMIT") == 0;
	PQclear(r);
	return committed ? 0 : -1;
}

enum store_status
postgres_fail(struct postgres_store *st, enum store_status status)
{
	if (!st->in_transaction || !st->owned || st->owner != fiber_self())
		return status;		/* not in a transaction of the caller's */
	if (PQstatus(st->conn) == CONNECTION_OK)
		PQclear(run_in_turn(st, PG_ROLLBACK, NULL));
	st->in_transaction = false;
	end_turn(st);
	return status;
}

enum store_status
postgres_one(struct postgres_store *st, enum pg_stmt id, const struct pg_params *p,
    pg_row_fn conv, json_t **out)
{
	*out = NULL;
	PGresult *r = postgres_run(st, id, p);
	if (r == NULL)
		return STORE_ERROR;
	enum store_status rc = PQntuples(r) > 0 ? STORE_OK : STORE_NOT_FOUND;
	if (rc == STORE_OK)
		*out = conv(st, r, 0);
	PQclear(r);
	return rc;
}

json_t *
postgres_collect(struct postgres_store *st, enum pg_stmt id, const struct pg_params *p,
    pg_row_fn conv)
{
	PGresult *r = postgres_run(st, id, p);
	if (r == NULL)
		return NULL;
	json_t *rows = json_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_array_append_new(rows, conv(st, r, i));
	PQclear(r);
	return rows;
}

/* ---------- opening ---------- */

static int
open_failed(struct postgres_store *st, const char *what, char **err)
{
	if (asprintf(err, "%s: %s", what, error_line(st)) < 0)
		*err = NULL;
	return -1;
}

/*
 * A database that does not hold UTF-8 (SQL_ASCII, LATIN1, ...) would cut
 * characters in half, or fail to store some: refused at start.
 */
static int
encoding_refused(struct postgres_store *st, char **err)
{
	const char *encoding = PQparameterStatus(st->conn, "server_encoding");
	if (encoding != NULL && strcmp(encoding, "UTF8") == 0)
		return 0;
	if (asprintf(err, "the database's encoding is %s; Parley needs UTF8 (CREATE DATABASE ..."
	    " ENCODING 'UTF8' TEMPLATE template0)", encoding ? encoding : "unknown") < 0)
		*err = NULL;
	return -1;
}

/* Runs SQL text (no parameters) that returns no rows; 0 or -1. */
static int
run_text(struct postgres_store *st, const char *sql)
{
	PGresult *r = PQexec(st->conn, sql);
	ExecStatusType status = PQresultStatus(r);
	PQclear(r);
	return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : -1;
}

/* The schema version recorded, or -1 on failure (inside the migration's transaction). */
static int
schema_version(struct postgres_store *st)
{
	PGresult *r = PQexec(st->conn, "SELECT coalesce(max(version), 0) FROM parley_schema");
	int version = PQresultStatus(r) == PGRES_TUPLES_OK ? (int)pg_col_int(r, 0, 0) : -1;
	PQclear(r);
	return version;
}

/*
 * Brings the schema up to the latest migration in one transaction, under
 * an advisory lock (another node starting at the same time waits, then
 * finds it done); a database a newer Parley migrated is refused, in *err.
 */
static int
migrate(struct postgres_store *st, char **err)
{
	if (run_text(st, "BEGIN") != 0 ||
	    run_text(st, "SELECT pg_advisory_xact_lock(7013390)") != 0 ||
	    run_text(st, "CREATE TABLE IF NOT EXISTS parley_schema (version INTEGER NOT NULL)")
	    != 0)
		return open_failed(st, "preparing the schema", err);
	int version = schema_version(st);
	int latest = (int)pg_migration_count;
	if (version < 0)
		return open_failed(st, "reading the schema version", err);
	if (version > latest) {
		run_text(st, "ROLLBACK");
		if (asprintf(err, "its schema is version %d, newer than this Parley knows (%d):"
		    " run a newer Parley on it", version, latest) < 0)
			*err = NULL;
		return -1;
	}
	for (int v = version; v < latest; v++) {
		char record[64];
		snprintf(record, sizeof record, "INSERT INTO parley_schema VALUES (%d)", v + 1);
		if (run_text(st, pg_migrations[v]) != 0 || run_text(st, record) != 0)
			return open_failed(st, "migrating the schema", err);
	}
	if (run_text(st, "COMMIT") != 0)
		return open_failed(st, "migrating the schema", err);
	return 0;
}

static int
read_deployment(struct postgres_store *st, char **err)
{
	PGresult *r = PQexec(st->conn, "SELECT id FROM deployment");
	bool read = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	if (read)
		snprintf(st->deployment, sizeof st->deployment, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return read ? 0 : open_failed(st, "reading the deployment's name", err);
}

const char *
postgres_deployment(const struct postgres_store *st)
{
	return st->deployment;
}

struct postgres_store *
postgres_open(const char *conninfo, char **err)
{
	struct postgres_store *st = xcalloc(1, sizeof *st);
	*err = NULL;
	st->conn = pg_link_connect(conninfo, &st->answer_ms);
	if (PQstatus(st->conn) != CONNECTION_OK) {
		open_failed(st, "cannot connect", err);
		postgres_close(st);
		return NULL;
	}
	if (encoding_refused(st, err) != 0) {
		postgres_close(st);
		return NULL;
	}
	if ((st->link = pg_link_new(conninfo)) == NULL) {
		if (asprintf(err, "cannot start a thread") < 0)
			*err = NULL;
		postgres_close(st);
		return NULL;
	}
	if (migrate(st, err) != 0 || read_deployment(st, err) != 0) {
		postgres_close(st);
		return NULL;
	}
	PQsetnonblocking(st->conn, 1);
	return st;
}

void
postgres_close(struct postgres_store *st)
{
	if (st == NULL)
		return;
	pg_link_free(st->link);
	PQfinish(st->conn);
	free(st);
}

void
postgres_set_accounts(struct postgres_store *st, bool accounts)
{
	st->accounts = accounts;
}

/*
 * Reads what the server sent unasked (without waiting): a server that shut
 * down or died has closed the connection, which makes it bad here.
 */
bool
postgres_available(struct postgres_store *st)
{
	/* a round trip under way: the server answers, unless it has not for LIMIT_DB_STUCK_MS */
	if (st->owned)
		return PQstatus(st->conn) == CONNECTION_OK && (st->waiting_since == 0 ||
		    monotonic_ms() - st->waiting_since <= LIMIT_DB_STUCK_MS);
	if (PQstatus(st->conn) == CONNECTION_OK)
		PQconsumeInput(st->conn);
	return connected(st) == 0;
}

bool
postgres_unreachable(struct postgres_store *st)
{
	return st->unreachable;
}

long
postgres_servers_using(struct postgres_store *st)
{
	PGresult *r = postgres_run(st, PG_SERVERS_USING, NULL);
	long n = r != NULL ? (long)pg_col_int(r, 0, 0) : -1;
	PQclear(r);
	return n;
}
