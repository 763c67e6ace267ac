/*
 * store_sqlite.c - the store interface (store.h) on SQLite in WAL mode with
 * synchronous=FULL, so a committed transaction survives kill -9 and power
 * loss. Schema changes are migrations keyed by PRAGMA user_version.
 *
 * Statements are prepared once and cached. Each write is one transaction that
 * also bumps the chat's counters (last_seq, last_event_id), so sequence
 * numbers and event ids are never reused, across restarts too.
 */
#include "store/store.h"
#include "limits.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
	/* 1: chats, messages, the event log */
	"CREATE TABLE chats ("
	"  id TEXT PRIMARY KEY, title TEXT NOT NULL, policy TEXT NOT NULL,"
	"  created_at TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,"
	"  last_event_id INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE messages ("
	"  chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL, kind TEXT NOT NULL, author TEXT, bot_id TEXT,"
	"  body TEXT NOT NULL, state TEXT NOT NULL, error TEXT,"
	"  created_at TEXT NOT NULL, PRIMARY KEY (chat_id, seq)) WITHOUT ROWID;"
	"CREATE TABLE events ("
	"  chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
	"  id INTEGER NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL,"
	"  PRIMARY KEY (chat_id, id)) WITHOUT ROWID;",
};

enum stmt_id {
	SQL_BEGIN, SQL_COMMIT, SQL_ROLLBACK,
	SQL_CHAT_LIST, SQL_CHAT_GET, SQL_CHAT_INSERT, SQL_CHAT_UPDATE, SQL_CHAT_DELETE,
	SQL_CHAT_NEXT_SEQ, SQL_CHAT_NEXT_EVENT,
	SQL_MSG_AFTER, SQL_MSG_LAST, SQL_MSG_INSERT,
	SQL_EVENT_INSERT, SQL_EVENT_PRUNE, SQL_EVENT_AFTER, SQL_EVENT_OLDEST,
	SQL_COUNT
};

#define CHAT_COLS "id, title, policy, created_at, last_event_id"
#define MSG_COLS  "chat_id, seq, kind, author, bot_id, body, state, error, created_at"

static const char *const sql_text[SQL_COUNT] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_CHAT_LIST] = "SELECT " CHAT_COLS " FROM chats ORDER BY rowid DESC",
	[SQL_CHAT_GET] = "SELECT " CHAT_COLS " FROM chats WHERE id = ?1",
	[SQL_CHAT_INSERT] = "INSERT INTO chats (id, title, policy, created_at)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[SQL_CHAT_UPDATE] = "UPDATE chats SET title = coalesce(?2, title),"
	    " policy = coalesce(?3, policy) WHERE id = ?1",
	[SQL_CHAT_DELETE] = "DELETE FROM chats WHERE id = ?1",
	[SQL_CHAT_NEXT_SEQ] = "UPDATE chats SET last_seq = last_seq + 1"
	    " WHERE id = ?1 RETURNING last_seq",
	[SQL_CHAT_NEXT_EVENT] = "UPDATE chats SET last_event_id = last_event_id + 1"
	    " WHERE id = ?1 RETURNING last_event_id",
	[SQL_MSG_AFTER] = "SELECT " MSG_COLS " FROM messages WHERE chat_id = ?1"
	    " AND seq > ?2 ORDER BY seq LIMIT ?3",
	[SQL_MSG_LAST] = "SELECT * FROM (SELECT " MSG_COLS " FROM messages"
	    " WHERE chat_id = ?1 ORDER BY seq DESC LIMIT ?2) ORDER BY seq",
	[SQL_MSG_INSERT] = "INSERT INTO messages (" MSG_COLS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)",
	[SQL_EVENT_INSERT] = "INSERT INTO events (chat_id, id, name, data)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[SQL_EVENT_PRUNE] = "DELETE FROM events WHERE chat_id = ?1 AND id <= ?2",
	[SQL_EVENT_AFTER] = "SELECT id, name, data FROM events WHERE chat_id = ?1"
	    " AND id > ?2 ORDER BY id",
	[SQL_EVENT_OLDEST] = "SELECT min(id) FROM events WHERE chat_id = ?1",
};

struct store {
	sqlite3		*db;
	sqlite3_stmt	*stmts[SQL_COUNT];
};

/* ---------- statements ---------- */

static void
log_db_error(struct store *st, const char *what)
{
	log_error("database: %s: %s", what, sqlite3_errmsg(st->db));
}

/* Returns the cached statement, reset and with bindings cleared; NULL on error. */
static sqlite3_stmt *
stmt(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmts[id];
	if (s == NULL) {
		if (sqlite3_prepare_v3(st->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
		    &s, NULL) != SQLITE_OK) {
			log_db_error(st, sql_text[id]);
			return NULL;
		}
		st->stmts[id] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Runs a statement that returns no rows. */
static int
exec_stmt(struct store *st, sqlite3_stmt *s)
{
	if (s == NULL)
		return -1;
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_db_error(st, sqlite3_sql(s));
		return -1;
	}
	return 0;
}

static int
tx_begin(struct store *st)
{
	return exec_stmt(st, stmt(st, SQL_BEGIN));
}

static int
tx_commit(struct store *st)
{
	return exec_stmt(st, stmt(st, SQL_COMMIT));
}

static enum store_status
tx_fail(struct store *st, enum store_status status)
{
	exec_stmt(st, stmt(st, SQL_ROLLBACK));
	return status;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static json_t *
column_json(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return json_null();
	return json_string((const char *)sqlite3_column_text(s, i));
}

/* Bumps a chat counter (SQL_CHAT_NEXT_SEQ or _EVENT); 0 when the chat is gone. */
static uint64_t
next_counter(struct store *st, enum stmt_id id, const char *chat_id)
{
	sqlite3_stmt *s = stmt(st, id);
	if (s == NULL)
		return 0;
	bind_text(s, 1, chat_id);
	uint64_t v = 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return v;
}

/* ---------- rows to JSON ---------- */

static json_t *
row_chat(sqlite3_stmt *s)
{
	return json_pack("{s:o, s:o, s:o, s:[], s:o, s:I}",
	    "id", column_json(s, 0), "title", column_json(s, 1),
	    "policy", column_json(s, 2), "bots", "created_at", column_json(s, 3),
	    "last_event_id", (json_int_t)sqlite3_column_int64(s, 4));
}

static json_t *
row_message(sqlite3_stmt *s)
{
	return json_pack("{s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "chat_id", column_json(s, 0), "seq", (json_int_t)sqlite3_column_int64(s, 1),
	    "kind", column_json(s, 2), "author", column_json(s, 3),
	    "bot_id", column_json(s, 4), "body", column_json(s, 5),
	    "state", column_json(s, 6), "error", column_json(s, 7),
	    "created_at", column_json(s, 8));
}

/* Steps s to the end, collecting rows with conv; NULL on error. */
static json_t *
collect_rows(struct store *st, sqlite3_stmt *s, json_t *(*conv)(sqlite3_stmt *))
{
	json_t *rows = json_array();
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(rows, conv(s));
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_db_error(st, sqlite3_sql(s));
		json_decref(rows);
		return NULL;
	}
	return rows;
}

/* ---------- events ---------- */

/* Appends an event inside the caller's transaction; returns its id or 0. */
static uint64_t
event_append(struct store *st, const char *chat_id, const char *name, json_t *data)
{
	uint64_t id = next_counter(st, SQL_CHAT_NEXT_EVENT, chat_id);
	if (id == 0)
		return 0;
	char *text = json_dumps(data, JSON_COMPACT);
	sqlite3_stmt *s = stmt(st, SQL_EVENT_INSERT);
	int rc = -1;
	if (s != NULL) {
		bind_text(s, 1, chat_id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)id);
		bind_text(s, 3, name);
		bind_text(s, 4, text);
		rc = exec_stmt(st, s);
	}
	free(text);
	if (rc != 0)
		return 0;
	if (id % 100 == 0 && id > LIMIT_EVENTS_KEPT) {
		s = stmt(st, SQL_EVENT_PRUNE);
		if (s == NULL)
			return 0;
		bind_text(s, 1, chat_id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)(id - LIMIT_EVENTS_KEPT));
		if (exec_stmt(st, s) != 0)
			return 0;
	}
	return id;
}

static json_t *
row_event(sqlite3_stmt *s)
{
	json_t *data = json_loads((const char *)sqlite3_column_text(s, 2), 0, NULL);
	return json_pack("{s:I, s:s, s:o}", "id", (json_int_t)sqlite3_column_int64(s, 0),
	    "name", (const char *)sqlite3_column_text(s, 1), "data", data ? data : json_null());
}

enum store_status
store_events_after(struct store *st, const char *chat_id, uint64_t after, json_t **events)
{
	sqlite3_stmt *s = stmt(st, SQL_EVENT_OLDEST);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, chat_id);
	uint64_t oldest = 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		oldest = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (oldest > 0 && after + 1 < oldest)
		return STORE_GONE;

	if ((s = stmt(st, SQL_EVENT_AFTER)) == NULL)
		return STORE_ERROR;
	bind_text(s, 1, chat_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)after);
	*events = collect_rows(st, s, row_event);
	return *events ? STORE_OK : STORE_ERROR;
}

/* ---------- chats ---------- */

json_t *
store_chat_list(struct store *st)
{
	sqlite3_stmt *s = stmt(st, SQL_CHAT_LIST);
	return s ? collect_rows(st, s, row_chat) : NULL;
}

enum store_status
store_chat_get(struct store *st, const char *id, json_t **chat)
{
	sqlite3_stmt *s = stmt(st, SQL_CHAT_GET);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, id);
	int rc = sqlite3_step(s);
	*chat = rc == SQLITE_ROW ? row_chat(s) : NULL;
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return STORE_NOT_FOUND;
	log_db_error(st, "chat get");
	return STORE_ERROR;
}

enum store_status
store_chat_create(struct store *st, const char *title, const char *policy, json_t **chat)
{
	char id[ID_LEN + 1], now[21];
	id_generate(id);
	time_now_rfc3339(now);

	sqlite3_stmt *s = stmt(st, SQL_CHAT_INSERT);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, id);
	bind_text(s, 2, title);
	bind_text(s, 3, policy);
	bind_text(s, 4, now);
	if (exec_stmt(st, s) != 0)
		return STORE_ERROR;
	return store_chat_get(st, id, chat);
}

enum store_status
store_chat_update(struct store *st, const char *id, const char *title,
    const char *policy, json_t **chat, uint64_t *event_id)
{
	if (tx_begin(st) != 0)
		return STORE_ERROR;
	sqlite3_stmt *s = stmt(st, SQL_CHAT_UPDATE);
	if (s == NULL)
		return tx_fail(st, STORE_ERROR);
	bind_text(s, 1, id);
	bind_text(s, 2, title);
	bind_text(s, 3, policy);
	if (exec_stmt(st, s) != 0)
		return tx_fail(st, STORE_ERROR);
	if (sqlite3_changes(st->db) == 0)
		return tx_fail(st, STORE_NOT_FOUND);

	*event_id = next_counter(st, SQL_CHAT_NEXT_EVENT, id);
	/* The event's Chat carries the id it is published under. */
	enum store_status rc = store_chat_get(st, id, chat);
	if (rc != STORE_OK || *event_id == 0)
		return tx_fail(st, STORE_ERROR);
	json_object_set_new(*chat, "last_event_id", json_integer((json_int_t)*event_id));
	char *text = json_dumps(*chat, JSON_COMPACT);
	s = stmt(st, SQL_EVENT_INSERT);
	int ok = -1;
	if (s != NULL) {
		bind_text(s, 1, id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)*event_id);
		bind_text(s, 3, "chat");
		bind_text(s, 4, text);
		ok = exec_stmt(st, s);
	}
	free(text);
	if (ok != 0 || tx_commit(st) != 0) {
		json_decref(*chat);
		*chat = NULL;
		return tx_fail(st, STORE_ERROR);
	}
	return STORE_OK;
}

enum store_status
store_chat_delete(struct store *st, const char *id)
{
	sqlite3_stmt *s = stmt(st, SQL_CHAT_DELETE);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, id);
	if (exec_stmt(st, s) != 0)
		return STORE_ERROR;
	return sqlite3_changes(st->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

/* ---------- messages ---------- */

enum store_status
store_messages_after(struct store *st, const char *chat_id, uint64_t after,
    unsigned limit, json_t **messages)
{
	sqlite3_stmt *s = stmt(st, SQL_MSG_AFTER);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, chat_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)after);
	sqlite3_bind_int(s, 3, (int)limit);
	*messages = collect_rows(st, s, row_message);
	return *messages ? STORE_OK : STORE_ERROR;
}

enum store_status
store_messages_last(struct store *st, const char *chat_id, unsigned n, json_t **messages)
{
	sqlite3_stmt *s = stmt(st, SQL_MSG_LAST);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, chat_id);
	sqlite3_bind_int(s, 2, (int)n);
	*messages = collect_rows(st, s, row_message);
	return *messages ? STORE_OK : STORE_ERROR;
}

enum store_status
store_message_add(struct store *st, const char *chat_id, const struct message_in *in,
    json_t **message, uint64_t *event_id)
{
	char now[21];
	time_now_rfc3339(now);

	if (tx_begin(st) != 0)
		return STORE_ERROR;
	uint64_t seq = next_counter(st, SQL_CHAT_NEXT_SEQ, chat_id);
	if (seq == 0)
		return tx_fail(st, STORE_NOT_FOUND);
	sqlite3_stmt *s = stmt(st, SQL_MSG_INSERT);
	if (s == NULL)
		return tx_fail(st, STORE_ERROR);
	bind_text(s, 1, chat_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
	bind_text(s, 3, in->kind);
	bind_text(s, 4, in->author);
	bind_text(s, 5, in->bot_id);
	bind_text(s, 6, in->body);
	bind_text(s, 7, in->state);
	bind_text(s, 8, now);
	if (exec_stmt(st, s) != 0)
		return tx_fail(st, STORE_ERROR);

	*message = json_pack("{s:s, s:I, s:s, s:s?, s:s?, s:s, s:s, s:n, s:s}",
	    "chat_id", chat_id, "seq", (json_int_t)seq, "kind", in->kind,
	    "author", in->author, "bot_id", in->bot_id, "body", in->body,
	    "state", in->state, "error", "created_at", now);
	*event_id = event_append(st, chat_id, "message", *message);
	if (*event_id == 0 || tx_commit(st) != 0) {
		json_decref(*message);
		*message = NULL;
		return tx_fail(st, STORE_ERROR);
	}
	return STORE_OK;
}

/* ---------- open and close ---------- */

static int
migrate(struct store *st, char **err)
{
	sqlite3_stmt *s;
	int version = 0;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);

	int latest = (int)(sizeof migrations / sizeof migrations[0]);
	for (int v = version; v < latest; v++) {
		char pragma[48];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(st->db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
	}
	return 0;
fail:
	if (asprintf(err, "%s", sqlite3_errmsg(st->db)) < 0)
		*err = NULL;
	return -1;
}

struct store *
store_open(const char *path, char **err)
{
	struct store *st = xcalloc(1, sizeof *st);
	*err = NULL;

	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_exec(st->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (migrate(st, err) != 0)
		goto fail_quiet;
	return st;
fail:
	if (asprintf(err, "%s", st->db ? sqlite3_errmsg(st->db) : "out of memory") < 0)
		*err = NULL;
fail_quiet:
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	sqlite3_close(st->db);
	free(st);
}
