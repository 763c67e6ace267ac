/*
 * copy.c - `parley copy` (copy.h): a SQLite deployment into an empty
 * PostgreSQL database. Called by main() alone, never inside the server: it
 * blocks on both databases for as long as the copy takes.
 *
 * The source is opened with sqlite_open() (it migrates an older file and
 * flock()s it, so no server writes meanwhile) and read in one transaction.
 * The target is opened with postgres_open() (it creates the schema) and
 * written in one transaction that first locks every table and checks that
 * there is no user, bot or chat: a server starting on it meanwhile waits,
 * and a failure anywhere leaves the target as it was.
 *
 * Rows go over COPY FROM STDIN (text format) rather than prepared INSERTs:
 * one statement per table instead of a round trip per row, so millions of
 * messages move in seconds; the price is the text format's escaping
 * (put_text). Each table's rows are sent in rowid order, so the identity
 * column n of users, tokens, bots and chats orders them as rowid did.
 *
 * Counters: SQLite's chats.last_seq/last_event_id are floors, PostgreSQL's
 * are the exact counters its next write adds 1 to; they are copied from
 * SQLite's live counters (SQL_CHAT_COUNTERS), then raised to any id a copied
 * row uses. A final message keeps its event_id: its row is its event in
 * both stores, so a resume replays the same ids. The activity clock is set
 * past every copied active_at.
 */
#include "store/copy.h"
#include "limits.h"
#include "store/postgres.h"
#include "store/sqlite.h"
#include "util/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct copy {
	struct sqlite_store	*lite;
	struct postgres_store	*pg;
	const char		*table;		/* being copied, for errors */
	struct buf		 out;		/* COPY data not sent yet */
	char			*err;		/* the first failure */
};

struct table {
	const char	*name;		/* the same in both stores */
	const char	*select;	/* SQLite: every column, in rowid order where there is one */
	const char	*columns;	/* PostgreSQL: the select's columns (n left to its identity) */
	size_t		 count;		/* offsetof() its count in struct copy_counts */
	int		(*row)(struct copy *c, sqlite3_stmt *s);	/* one COPY line's fields */
};

static int plain_row(struct copy *c, sqlite3_stmt *s);
static int chat_row(struct copy *c, sqlite3_stmt *s);

/* In an order that satisfies the foreign keys. */
static const struct table tables[] = {
	{ "users", "SELECT id, name, display_name, password, admin, created_at FROM users"
	    " ORDER BY rowid", "id, name, display_name, password, admin, created_at",
	    offsetof(struct copy_counts, users), plain_row },
	{ "sessions", "SELECT hash, user_id, created_at, last_seen FROM sessions",
	    "hash, user_id, created_at, last_seen",
	    offsetof(struct copy_counts, sessions), plain_row },
	{ "tokens", "SELECT id, user_id, name, hash, created_at FROM tokens ORDER BY rowid",
	    "id, user_id, name, hash, created_at",
	    offsetof(struct copy_counts, tokens), plain_row },
	{ "bots", "SELECT id, name, persona, backend, model, base_url, api_key_env, temperature,"
	    " max_tokens, talkativeness, greeting FROM bots ORDER BY rowid",
	    "id, name, persona, backend, model, base_url, api_key_env, temperature,"
	    " max_tokens, talkativeness, greeting",
	    offsetof(struct copy_counts, bots), plain_row },
	/* chat_row() replaces the last two with the live counters */
	{ "chats", "SELECT id, title, policy, created_at, active_at, auto_rounds, last_seq,"
	    " last_event_id FROM chats ORDER BY rowid",
	    "id, title, policy, created_at, active_at, auto_rounds, last_seq, last_event_id",
	    offsetof(struct copy_counts, chats), chat_row },
	{ "chat_bots", "SELECT chat_id, bot_id, position, muted FROM chat_bots",
	    "chat_id, bot_id, position, muted",
	    offsetof(struct copy_counts, chat_bots), plain_row },
	{ "members", "SELECT chat_id, user_id, added_at, read_seq FROM members",
	    "chat_id, user_id, added_at, read_seq",
	    offsetof(struct copy_counts, members), plain_row },
	{ "invites", "SELECT hash, chat_id, user_id, expires_at FROM invites",
	    "hash, chat_id, user_id, expires_at",
	    offsetof(struct copy_counts, invites), plain_row },
	{ "messages", "SELECT chat_id, seq, kind, author, bot_id, body, state, error, created_at,"
	    " event_id, user_id, edited_at, alternative, alternatives FROM messages",
	    "chat_id, seq, kind, author, bot_id, body, state, error, created_at,"
	    " event_id, user_id, edited_at, alternative, alternatives",
	    offsetof(struct copy_counts, messages), plain_row },
	{ "alternatives", "SELECT chat_id, seq, idx, body, state, error, edited_at"
	    " FROM alternatives", "chat_id, seq, idx, body, state, error, edited_at",
	    offsetof(struct copy_counts, alternatives), plain_row },
	{ "events", "SELECT chat_id, id, name, data FROM events", "chat_id, id, name, data",
	    offsetof(struct copy_counts, events), plain_row },
};
#define NTABLES (sizeof tables / sizeof tables[0])

/* Records the first failure (one line in c->err); returns -1. */
static int __attribute__((format(printf, 2, 3)))
failed(struct copy *c, const char *fmt, ...)
{
	if (c->err != NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&c->err, fmt, ap) < 0)
		c->err = NULL;
	va_end(ap);
	for (char *p = c->err; p != NULL && *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t len = c->err ? strlen(c->err) : 0;
	while (len > 0 && c->err[len - 1] == ' ')
		c->err[--len] = '\0';
	return -1;
}

/* What PostgreSQL said of r (or of the connection), without its detail lines. */
static const char *
pg_said(struct copy *c, PGresult *r)
{
	const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	return primary ? primary : PQerrorMessage(c->pg->conn);
}

/* Runs SQL text on the target; its rows in *rows (PQclear them) when rows is not NULL. */
static int
pg_run(struct copy *c, const char *sql, PGresult **rows)
{
	PGresult *r = PQexec(c->pg->conn, sql);
	ExecStatusType status = PQresultStatus(r);
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
		failed(c, "PostgreSQL: %s", pg_said(c, r));
		PQclear(r);
		return -1;
	}
	if (rows != NULL)
		*rows = r;
	else
		PQclear(r);
	return 0;
}

/* ---------- the source ---------- */

/*
 * Every column of every table is copied: a migration that adds a table or
 * a column must add it to tables[] too, and until then the copy refuses.
 */
static int
check_source(struct copy *c)
{
	sqlite3_stmt *s;
	int known = 0, rc = SQLITE_ERROR;
	if (sqlite3_prepare_v2(c->lite->db, "SELECT t.name, (SELECT count(*)"
	    " FROM pragma_table_info(t.name)) FROM sqlite_schema t WHERE t.type = 'table'"
	    " AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'", -1, &s, NULL) == SQLITE_OK)
		rc = sqlite3_step(s);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(s)) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		size_t i = 0;
		while (i < NTABLES && strcmp(tables[i].name, name) != 0)
			i++;
		sqlite3_stmt *q = NULL;
		if (i == NTABLES || sqlite3_prepare_v2(c->lite->db, tables[i].select, -1, &q,
		    NULL) != SQLITE_OK || sqlite3_column_count(q) != sqlite3_column_int(s, 1))
			failed(c, "parley copy does not know the SQLite table %s as it is"
			    " (a migration it has not caught up with)", name);
		sqlite3_finalize(q);
		known++;
	}
	if (rc != SQLITE_DONE && c->err == NULL)
		failed(c, "reading the SQLite schema: %s", sqlite3_errmsg(c->lite->db));
	sqlite3_finalize(s);
	if (c->err == NULL && known != (int)NTABLES)
		failed(c, "the SQLite file lacks tables (a Parley database?)");
	return c->err == NULL ? 0 : -1;
}

/* ---------- COPY lines ---------- */

/* Sends what is buffered. */
static int
send_out(struct copy *c)
{
	if (c->out.len > 0 && PQputCopyData(c->pg->conn, c->out.data, (int)c->out.len) != 1)
		return failed(c, "copying %s: %s", c->table, pg_said(c, NULL));
	buf_reset(&c->out);
	return 0;
}

/* A text field in COPY's text format: backslash, tab, newline and return escaped. */
static int
put_text(struct copy *c, sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	if (t == NULL || strlen(t) != (size_t)sqlite3_column_bytes(s, col))
		return failed(c, "copying %s: a %s holds a NUL character", c->table,
		    sqlite3_column_name(s, col));
	while (*t != '\0') {
		size_t plain = strcspn(t, "\\\t\n\r");
		buf_add(&c->out, t, plain);
		t += plain;
		if (*t == '\0')
			break;
		buf_addc(&c->out, '\\');
		buf_addc(&c->out, *t == '\t' ? 't' : *t == '\n' ? 'n' : *t == '\r' ? 'r' : '\\');
		t++;
	}
	return 0;
}

/* Column col of s as a COPY field; NULL stays NULL, a real keeps every bit. */
static int
put_value(struct copy *c, sqlite3_stmt *s, int col)
{
	switch (sqlite3_column_type(s, col)) {
	case SQLITE_NULL:
		buf_adds(&c->out, "\\N");
		return 0;
	case SQLITE_INTEGER:
		buf_printf(&c->out, "%lld", (long long)sqlite3_column_int64(s, col));
		return 0;
	case SQLITE_FLOAT:
		buf_printf(&c->out, "%.17g", sqlite3_column_double(s, col));
		return 0;
	case SQLITE_TEXT:
		return put_text(c, s, col);
	default:
		return failed(c, "copying %s: a %s holds binary data", c->table,
		    sqlite3_column_name(s, col));
	}
}

/* Columns from..to-1 of s, tab-separated. */
static int
put_columns(struct copy *c, sqlite3_stmt *s, int from, int to)
{
	for (int i = from; i < to; i++) {
		if (i > 0)
			buf_addc(&c->out, '\t');
		if (put_value(c, s, i) != 0)
			return -1;
	}
	return 0;
}

static int
plain_row(struct copy *c, sqlite3_stmt *s)
{
	return put_columns(c, s, 0, sqlite3_column_count(s));
}

/* A chat, with its live counters for last_seq and last_event_id (see tables[]). */
static int
chat_row(struct copy *c, sqlite3_stmt *s)
{
	sqlite3_stmt *k = sqlite_stmt(c->lite, SQL_CHAT_COUNTERS);
	if (k == NULL)
		return failed(c, "reading chats: %s", sqlite3_errmsg(c->lite->db));
	sqlite_bind_text(k, 1, (const char *)sqlite3_column_text(s, 0));
	int rc = sqlite3_step(k);
	if (rc == SQLITE_ROW && put_columns(c, s, 0, 6) == 0)
		buf_printf(&c->out, "\t%lld\t%lld", (long long)sqlite3_column_int64(k, 0),
		    (long long)sqlite3_column_int64(k, 1));
	else if (rc != SQLITE_ROW)
		failed(c, "reading chats: %s", sqlite3_errmsg(c->lite->db));
	sqlite3_reset(k);
	return c->err == NULL ? 0 : -1;
}

/* ---------- tables ---------- */

static int
copy_begin(struct copy *c, const struct table *t)
{
	char sql[512];
	snprintf(sql, sizeof sql, "COPY %s (%s) FROM STDIN", t->name, t->columns);
	PGresult *r = PQexec(c->pg->conn, sql);
	int rc = PQresultStatus(r) == PGRES_COPY_IN ? 0 :
	    failed(c, "copying %s: %s", t->name, pg_said(c, r));
	PQclear(r);
	return rc;
}

/* Ends the COPY under way: its rows kept when ok, else refused (and the transaction with them). */
static int
copy_end(struct copy *c, bool ok)
{
	if (ok && send_out(c) != 0)
		ok = false;
	buf_reset(&c->out);
	if (PQputCopyEnd(c->pg->conn, ok ? NULL : "parley copy failed") != 1)
		return failed(c, "copying %s: %s", c->table, pg_said(c, NULL));
	PGresult *r;
	while ((r = PQgetResult(c->pg->conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			failed(c, "copying %s: %s", c->table, pg_said(c, r));
		PQclear(r);
	}
	return ok && c->err == NULL ? 0 : -1;
}

/* Copies every row of table t; their number in *count. */
static int
copy_table(struct copy *c, const struct table *t, unsigned long *count)
{
	sqlite3_stmt *s;
	c->table = t->name;
	if (sqlite3_prepare_v2(c->lite->db, t->select, -1, &s, NULL) != SQLITE_OK)
		return failed(c, "reading %s: %s", t->name, sqlite3_errmsg(c->lite->db));
	if (copy_begin(c, t) != 0) {
		sqlite3_finalize(s);
		return -1;
	}
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (t->row(c, s) != 0)
			break;
		buf_addc(&c->out, '\n');
		(*count)++;
		if (c->out.len >= LIMIT_COPY_CHUNK_BYTES && send_out(c) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		failed(c, "reading %s: %s", t->name, sqlite3_errmsg(c->lite->db));
	sqlite3_finalize(s);
	return copy_end(c, c->err == NULL);
}

/* ---------- the target ---------- */

/*
 * Locks the target's tables until the end of the transaction (a server may
 * still read them, not write) and refuses one that holds a deployment.
 */
static int
claim_target(struct copy *c)
{
	PGresult *r;
	if (pg_run(c, "LOCK TABLE users, sessions, tokens, bots, chats, chat_bots, members,"
	    " invites, messages, alternatives, events IN EXCLUSIVE MODE", NULL) != 0 ||
	    pg_run(c, "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM bots),"
	    " (SELECT count(*) FROM chats)", &r) != 0)
		return -1;
	const char *users = PQgetvalue(r, 0, 0), *bots = PQgetvalue(r, 0, 1),
	    *chats = PQgetvalue(r, 0, 2);
	if (strcmp(users, "0") != 0 || strcmp(bots, "0") != 0 || strcmp(chats, "0") != 0)
		failed(c, "the target database is not empty (%s users, %s bots, %s chats);"
		    " parley copy fills only an empty one", users, bots, chats);
	PQclear(r);
	/* one COPY may outlast the server's bound on a statement, or on a pause between them */
	return c->err == NULL && pg_run(c, "SET LOCAL statement_timeout = 0", NULL) == 0 ?
	    pg_run(c, "SET LOCAL idle_in_transaction_session_timeout = 0", NULL) : -1;
}

/* Commits; a transaction that failed answers COMMIT with ROLLBACK. */
static int
pg_commit(struct copy *c)
{
	PGresult *r = PQexec(c->pg->conn, "COMMIT");
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0;
	if (!ok)
		failed(c, "PostgreSQL: the commit failed: %s", pg_said(c, r));
	PQclear(r);
	return ok ? 0 : -1;
}

/* The counters and the activity clock past everything copied. */
static int
finish_target(struct copy *c)
{
	return pg_run(c, "UPDATE chats SET last_seq = greatest(last_seq, (SELECT max(m.seq)"
	    " FROM messages m WHERE m.chat_id = chats.id)), last_event_id ="
	    " greatest(last_event_id, (SELECT max(m.event_id) FROM messages m"
	    " WHERE m.chat_id = chats.id), (SELECT max(e.id) FROM events e"
	    " WHERE e.chat_id = chats.id))", NULL) != 0 ||
	    pg_run(c, "SELECT setval('activity_clock', greatest((SELECT max(active_at) FROM chats),"
	    " (SELECT last_value FROM activity_clock)))", NULL) != 0 ? -1 : 0;
}

/* Both transactions: everything read from one, written to the other, committed. */
static int
copy_all(struct copy *c, struct copy_counts *out)
{
	if (check_source(c) != 0)
		return -1;
	if (sqlite3_exec(c->lite->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return failed(c, "reading the SQLite file: %s", sqlite3_errmsg(c->lite->db));
	int rc = -1;
	if (pg_run(c, "BEGIN", NULL) == 0 && claim_target(c) == 0) {
		size_t i = 0;
		while (i < NTABLES && copy_table(c, &tables[i],
		    (unsigned long *)((char *)out + tables[i].count)) == 0)
			i++;
		rc = i == NTABLES && finish_target(c) == 0 ? pg_commit(c) : -1;
		if (rc != 0 && PQtransactionStatus(c->pg->conn) != PQTRANS_IDLE)
			PQclear(PQexec(c->pg->conn, "ROLLBACK"));
	}
	sqlite3_exec(c->lite->db, "ROLLBACK", NULL, NULL, NULL);	/* it only read */
	return rc;
}

/* Opens both ends: the SQLite file must exist (sqlite_open would create it). */
static int
open_both(struct copy *c, const char *from_path, const char *to_url)
{
	struct stat sb;
	char *err = NULL;
	if (stat(from_path, &sb) != 0)
		return failed(c, "cannot open %s: %s", from_path, strerror(errno));
	if ((c->lite = sqlite_open(from_path, false, &err)) == NULL) {
		/* sqlite.c's hold_file() says "… is in use by another server" */
		failed(c, "cannot open %s: %s%s", from_path, err ? err : "?",
		    err && strstr(err, "in use") ? " (stop the server first)" : "");
		free(err);
		return -1;
	}
	if ((c->pg = postgres_open(to_url, &err)) == NULL) {
		failed(c, "cannot open the PostgreSQL database: %s", err ? err : "?");
		free(err);
		return -1;
	}
	return 0;
}

int
store_copy(const char *from_path, const char *to_url, struct copy_counts *out, char **err)
{
	struct copy c = { .out = BUF_INIT };
	memset(out, 0, sizeof *out);
	int rc = open_both(&c, from_path, to_url) == 0 ? copy_all(&c, out) : -1;
	postgres_close(c.pg);
	sqlite_close(c.lite);
	buf_free(&c.out);
	*err = c.err;
	return rc;
}
