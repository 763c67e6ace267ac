/*
 * sqlite.c - the SQLite store's connection, schema migrations and shared
 * helpers. WAL mode: a committed transaction is in the log before the call
 * returns, so it survives kill -9; with synchronous=FULL (--sync full) each
 * commit also waits for the disk, so it survives power loss too.
 * One server per file: the file is flock()ed while open, and a second
 * server on it is refused. Checkpoints run on a thread of their own
 * (checkpointer.c), so commits never wait for one.
 * Migrations are keyed by PRAGMA user_version.
 * Statements are prepared once and cached.
 */
#include "store/sqlite.h"
#include "limits.h"
#include "store/checkpointer.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define STR_(x) #x
#define STR(x) STR_(x)

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
	/* 2: bots and the bots of each chat, in speaking order */
	"CREATE TABLE bots ("
	"  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  persona TEXT NOT NULL DEFAULT '', backend TEXT NOT NULL, model TEXT,"
	"  base_url TEXT, api_key_env TEXT, temperature REAL NOT NULL DEFAULT 0.7,"
	"  max_tokens INTEGER NOT NULL DEFAULT 512,"
	"  talkativeness REAL NOT NULL DEFAULT 0.5);"
	"CREATE TABLE chat_bots ("
	"  chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
	"  bot_id TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,"
	"  position INTEGER NOT NULL, PRIMARY KEY (chat_id, bot_id)) WITHOUT ROWID;"
	"CREATE INDEX chat_bots_by_bot ON chat_bots (bot_id);"
	"CREATE INDEX messages_streaming ON messages (state) WHERE state = 'streaming';",
	/* 3: a final message's "message" event is its row, not a copy in the log */
	"ALTER TABLE messages ADD COLUMN event_id INTEGER;",
	/* 4: accounts: users, their sessions and API tokens, chat members, invites */
	"CREATE TABLE users ("
	"  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  display_name TEXT NOT NULL, password TEXT, admin INTEGER NOT NULL DEFAULT 0,"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE sessions ("
	"  hash TEXT PRIMARY KEY,"
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX sessions_by_user ON sessions (user_id);"
	"CREATE INDEX sessions_by_last_seen ON sessions (last_seen);"
	"CREATE TABLE tokens ("
	"  id TEXT PRIMARY KEY,"
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);"
	"CREATE INDEX tokens_by_user ON tokens (user_id);"
	"CREATE TABLE members ("
	"  chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  added_at TEXT NOT NULL, PRIMARY KEY (chat_id, user_id)) WITHOUT ROWID;"
	"CREATE INDEX members_by_user ON members (user_id);"
	"CREATE TABLE invites ("
	"  hash TEXT PRIMARY KEY,"
	"  chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
	"  user_id TEXT REFERENCES users(id) ON DELETE SET NULL,"
	"  expires_at INTEGER NOT NULL) WITHOUT ROWID;"
	/* deleting a chat or a user finds its invites without a scan */
	"CREATE INDEX invites_by_chat ON invites (chat_id);"
	"CREATE INDEX invites_by_user ON invites (user_id);"
	"ALTER TABLE messages ADD COLUMN user_id TEXT;",
	/*
	 * 5: how far each member has read each chat; the order of the chat
	 * list (active_at: a clock taken by every message and new chat, so that
	 * the latest activity comes first even within one second)
	 */
	"ALTER TABLE members ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE chats ADD COLUMN active_at INTEGER NOT NULL DEFAULT 0;"
	"UPDATE chats SET active_at = r.n FROM (SELECT id, row_number() OVER (ORDER BY"
	"  coalesce((SELECT max(created_at) FROM messages m WHERE m.chat_id = c.id),"
	"  c.created_at), c.rowid) AS n FROM chats c) AS r WHERE chats.id = r.id;"
	"CREATE INDEX chats_by_activity ON chats (active_at);",
	/*
	 * 6: conversation control: edits, a bot message's alternatives (every
	 * one, the shown one mirrored in its message row, once there are two),
	 * muted bots, auto rounds, greetings
	 */
	"ALTER TABLE messages ADD COLUMN edited_at TEXT;"
	"ALTER TABLE messages ADD COLUMN alternative INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE messages ADD COLUMN alternatives INTEGER NOT NULL DEFAULT 1;"
	"CREATE TABLE alternatives ("
	"  chat_id TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,"
	"  body TEXT NOT NULL, state TEXT NOT NULL, error TEXT,"
	"  PRIMARY KEY (chat_id, seq, idx), FOREIGN KEY (chat_id, seq)"
	"  REFERENCES messages (chat_id, seq) ON DELETE CASCADE) WITHOUT ROWID;"
	"ALTER TABLE chat_bots ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE chats ADD COLUMN auto_rounds INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE bots ADD COLUMN greeting TEXT NOT NULL DEFAULT '';",
	/* 7: "edited" belongs to each alternative (the shown one's as its message says) */
	"ALTER TABLE alternatives ADD COLUMN edited_at TEXT;"
	"UPDATE alternatives SET edited_at = (SELECT m.edited_at FROM messages m"
	"  WHERE m.chat_id = alternatives.chat_id AND m.seq = alternatives.seq"
	"  AND m.alternative = alternatives.idx);",
};

/*
 * last_seq and last_event_id are floors: the live counters are the newest rows
 * (of the log, and the newest final message, whose event ids only grow with seq)
 */
#define CHAT_LAST_EVENT "max(last_event_id," \
	" coalesce((SELECT max(e.id) FROM events e WHERE e.chat_id = chats.id), 0)," \
	" coalesce((SELECT m.event_id FROM messages m WHERE m.chat_id = chats.id" \
	" AND m.event_id IS NOT NULL ORDER BY m.seq DESC LIMIT 1), 0))"
#define CHAT_COLS "id, title, policy, created_at, " CHAT_LAST_EVENT ", auto_rounds"
/* A chat list's preview: the newest message not being written (c: the chat). */
#define NEWEST_SHOWN "(SELECT seq FROM messages WHERE chat_id = c.id" \
	" AND state <> 'streaming' ORDER BY seq DESC LIMIT 1)"
#define MSG_COLS  "chat_id, seq, kind, author, bot_id, body, state, error, created_at, user_id"
/* An alternative's row, and the shown one's from its message row */
#define ALT_COLS  "chat_id, seq, idx, body, state, error, edited_at"
#define ALT_FROM_MSG "chat_id, seq, alternative, body, state, error, edited_at"
/* What a Message shows (sqlite_row_message) */
#define MSG_READ  MSG_COLS ", edited_at, alternative, alternatives"
#define BOT_COLS  "id, name, persona, backend, model, base_url, api_key_env," \
		  " temperature, max_tokens, talkativeness, greeting"
#define USER_COLS "id, name, display_name, admin, created_at"

const char *const sqlite_sql_text[SQL_COUNT] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_CHAT_LIST] = "SELECT " CHAT_COLS " FROM chats WHERE ?1 IS NULL"
	    " OR rowid < (SELECT rowid FROM chats WHERE id = ?1) ORDER BY rowid DESC LIMIT ?2",
	[SQL_CHAT_ACTIVITY] = "SELECT c.id, c.title, m.seq, m.kind, m.author, substr(m.body, 1, "
	    STR(LIMIT_PREVIEW_CHARS) "), m.created_at, m.user_id, c.active_at, r.read_seq"
	    " FROM chats c LEFT JOIN members r ON r.chat_id = c.id AND r.user_id = ?4"
	    " LEFT JOIN messages m ON m.chat_id = c.id"
	    " AND m.seq = " NEWEST_SHOWN
	    " WHERE ?3 IS NULL OR r.user_id IS NOT NULL"
	    " ORDER BY c.active_at DESC LIMIT ?2 OFFSET ?1",
	[SQL_CHAT_ITEM] = "SELECT c.id, c.title, m.seq, m.kind, m.author, substr(m.body, 1, "
	    STR(LIMIT_PREVIEW_CHARS) "), m.created_at, m.user_id, c.active_at, 0 FROM chats c"
	    " LEFT JOIN messages m ON m.chat_id = c.id"
	    " AND m.seq = " NEWEST_SHOWN " WHERE c.id = ?1",
	[SQL_MEMBER_READ] = "UPDATE members SET read_seq = n.seq FROM (SELECT min(?3,"
	    " max(last_seq, coalesce((SELECT max(m.seq) FROM messages m WHERE m.chat_id = ?1), 0)))"
	    " AS seq FROM chats WHERE id = ?1) AS n WHERE chat_id = ?1 AND user_id = ?2"
	    " AND read_seq < n.seq RETURNING read_seq",
	[SQL_MEMBER_READ_OWN] = "UPDATE members SET read_seq = max(read_seq, ?3)"
	    " WHERE chat_id = ?1 AND user_id = ?2",
	[SQL_CHAT_LIST_MEMBER] = "SELECT " CHAT_COLS " FROM members JOIN chats"
	    " ON chats.id = members.chat_id WHERE members.user_id = ?3 AND (?1 IS NULL"
	    " OR chats.rowid < (SELECT rowid FROM chats WHERE id = ?1))"
	    " ORDER BY chats.rowid DESC LIMIT ?2",
	[SQL_CHAT_GET] = "SELECT " CHAT_COLS " FROM chats WHERE id = ?1",
	[SQL_CHAT_INSERT] = "INSERT INTO chats (id, title, policy, created_at, active_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_CHAT_ACTIVE] = "UPDATE chats SET active_at = ?2 WHERE id = ?1",
	[SQL_ACTIVITY_CLOCK] = "SELECT coalesce(max(active_at), 0) FROM chats",
	[SQL_CHAT_UPDATE] = "UPDATE chats SET title = coalesce(?2, title),"
	    " policy = coalesce(?3, policy), auto_rounds = coalesce(?4, auto_rounds) WHERE id = ?1",
	[SQL_CHAT_DELETE] = "DELETE FROM chats WHERE id = ?1",
	[SQL_CHAT_COUNTERS] = "SELECT max(last_seq, coalesce((SELECT max(m.seq) FROM messages m"
	    " WHERE m.chat_id = chats.id), 0)), " CHAT_LAST_EVENT " FROM chats WHERE id = ?1",
	[SQL_CHAT_BOTS] = "SELECT b.id, b.name, c.muted FROM chat_bots c JOIN bots b"
	    " ON b.id = c.bot_id WHERE c.chat_id = ?1 ORDER BY c.position",
	[SQL_CHAT_BOTS_KEEP] = "DELETE FROM chat_bots WHERE chat_id = ?1"
	    " AND bot_id NOT IN (SELECT value FROM json_each(?2))",
	[SQL_CHAT_BOT_ADD] = "INSERT INTO chat_bots (chat_id, bot_id, position)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET position = excluded.position",
	[SQL_CHAT_MUTE] = "UPDATE chat_bots SET muted = (bot_id IN"
	    " (SELECT value FROM json_each(?2))) WHERE chat_id = ?1",
	[SQL_MSG_AFTER] = "SELECT " MSG_READ " FROM messages WHERE chat_id = ?1"
	    " AND seq > ?2 ORDER BY seq LIMIT ?3",
	[SQL_MSG_LAST] = "SELECT * FROM (SELECT " MSG_READ " FROM messages"
	    " WHERE chat_id = ?1 AND seq < ?3 ORDER BY seq DESC LIMIT ?2) ORDER BY seq",
	[SQL_MSG_INSERT] = "INSERT INTO messages (" MSG_COLS ", event_id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9, ?10)",
	[SQL_MSG_GET] = "SELECT " MSG_READ " FROM messages WHERE chat_id = ?1 AND seq = ?2",
	[SQL_MSG_FINISH] = "UPDATE messages SET body = ?3, state = ?4, error = ?5"
	    " WHERE chat_id = ?1 AND seq = ?2 AND state = 'streaming'",
	[SQL_MSG_EDIT] = "UPDATE messages SET body = ?3, edited_at = ?4"
	    " WHERE chat_id = ?1 AND seq = ?2 AND state <> 'streaming'",
	[SQL_MSG_REGENERATE] = "UPDATE messages SET alternative = alternatives,"
	    " alternatives = alternatives + 1, body = '', state = 'streaming', error = NULL,"
	    " edited_at = NULL"
	    " WHERE chat_id = ?1 AND seq = ?2 AND kind = 'bot' AND state <> 'streaming'"
	    " AND alternatives < " STR(LIMIT_ALTERNATIVES),
	[SQL_MSG_CONTINUE] = "UPDATE messages SET state = 'streaming', error = NULL"
	    " WHERE chat_id = ?1 AND seq = ?2 AND kind = 'bot' AND state <> 'streaming'",
	[SQL_MSG_PICK] = "UPDATE messages SET alternative = a.idx, body = a.body,"
	    " state = a.state, error = a.error, edited_at = a.edited_at"
	    " FROM alternatives a WHERE a.chat_id = ?1"
	    " AND a.seq = ?2 AND a.idx = ?3 AND messages.chat_id = ?1 AND messages.seq = ?2"
	    " AND messages.state <> 'streaming'",
	[SQL_MSG_DELETE] = "DELETE FROM messages WHERE chat_id = ?1 AND seq = ?2",
	[SQL_ALT_KEEP] = "INSERT INTO alternatives (" ALT_COLS ") SELECT " ALT_FROM_MSG
	    " FROM messages WHERE chat_id = ?1 AND seq = ?2 AND alternatives > 1"
	    " ON CONFLICT DO UPDATE SET body = excluded.body, state = excluded.state,"
	    " error = excluded.error, edited_at = excluded.edited_at",
	[SQL_ALT_FIRST] = "INSERT OR IGNORE INTO alternatives (" ALT_COLS ") SELECT "
	    ALT_FROM_MSG " FROM messages WHERE chat_id = ?1 AND seq = ?2",
	[SQL_EVENT_PURGE_MSG] = "DELETE FROM events WHERE chat_id = ?1"
	    " AND name IN ('message', 'message-update') AND json_extract(data, '$.seq') = ?2",
	[SQL_EVENT_PURGE_UPDATES] = "DELETE FROM events WHERE chat_id = ?1"
	    " AND name = 'message-update' AND json_extract(data, '$.seq') = ?2",
	[SQL_CHAT_FLOORS] = "UPDATE chats SET last_seq = max(last_seq, ?2),"
	    " last_event_id = max(last_event_id, ?3) WHERE id = ?1",
	[SQL_MSG_STREAMING] = "SELECT " MSG_READ " FROM messages WHERE state = 'streaming'",
	[SQL_MSG_SAVE_TEXT] = "UPDATE messages SET body = ?3 WHERE chat_id = ?1 AND seq = ?2"
	    " AND state = 'streaming'",
	[SQL_EVENT_INSERT] = "INSERT INTO events (chat_id, id, name, data)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[SQL_EVENT_PRUNE] = "DELETE FROM events WHERE chat_id = ?1 AND id <= ?2",
	[SQL_EVENT_AFTER] = "SELECT id, name, data FROM events WHERE chat_id = ?1"
	    " AND id > ?2 ORDER BY id",
	[SQL_EVENT_FINAL_AFTER] = "SELECT * FROM (SELECT " MSG_READ ", event_id FROM messages"
	    " WHERE chat_id = ?1 ORDER BY seq DESC LIMIT ?3) WHERE event_id > ?2"
	    " ORDER BY event_id",
	[SQL_BOT_LIST] = "SELECT " BOT_COLS " FROM bots ORDER BY rowid",
	[SQL_BOT_GET] = "SELECT " BOT_COLS " FROM bots WHERE id = ?1 OR name = ?1"
	    " ORDER BY id = ?1 DESC LIMIT 1",
	[SQL_BOT_INSERT] = "INSERT INTO bots (" BOT_COLS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[SQL_BOT_UPDATE] = "UPDATE bots SET name = ?2, persona = ?3, backend = ?4, model = ?5,"
	    " base_url = ?6, api_key_env = ?7, temperature = ?8, max_tokens = ?9,"
	    " talkativeness = ?10, greeting = ?11 WHERE id = ?1 AND name IS ?12"
	    " AND persona IS ?13 AND backend IS ?14 AND model IS ?15 AND base_url IS ?16"
	    " AND api_key_env IS ?17 AND temperature IS ?18 AND max_tokens IS ?19"
	    " AND talkativeness IS ?20 AND greeting IS ?21",	/* still as read */
	[SQL_BOT_DELETE] = "DELETE FROM bots WHERE id = ?1",
	[SQL_BOT_CHATS] = "SELECT chat_id FROM chat_bots WHERE bot_id = ?1",
	[SQL_USER_LIST] = "SELECT " USER_COLS " FROM users ORDER BY rowid",
	[SQL_USER_COUNT] = "SELECT count(*) FROM users",
	[SQL_USER_GET] = "SELECT " USER_COLS ", password FROM users WHERE id = ?1 OR name = ?1"
	    " ORDER BY id = ?1 DESC LIMIT 1",
	[SQL_USER_NAMED] = "SELECT " USER_COLS ", password FROM users WHERE name = ?1",
	[SQL_USER_INSERT] = "INSERT INTO users (" USER_COLS ", password)"
	    " SELECT ?1, ?2, coalesce(?3, ?2), CASE ?4 WHEN 2 THEN NOT EXISTS"
	    " (SELECT 1 FROM users) WHEN 3 THEN 1 ELSE ?4 END, ?5, ?6"
	    " WHERE ?4 <> 3 OR NOT EXISTS (SELECT 1 FROM users)",	/* enum user_admin */
	[SQL_USER_UPDATE] = "UPDATE users SET display_name = coalesce(?2, display_name),"
	    " password = coalesce(?3, password), admin = coalesce(?4, admin) WHERE id = ?1",
	[SQL_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
	[SQL_SESSION_INSERT] = "INSERT INTO sessions (hash, user_id, created_at, last_seen)"
	    " VALUES (?1, ?2, ?3, ?3)",
	[SQL_SESSION_GET] = "SELECT user_id, last_seen FROM sessions WHERE hash = ?1",
	[SQL_SESSION_TOUCH] = "UPDATE sessions SET last_seen = ?2 WHERE hash = ?1",
	[SQL_SESSION_DELETE] = "DELETE FROM sessions WHERE hash = ?1",
	[SQL_SESSIONS_OF_USER] = "SELECT hash FROM sessions WHERE user_id = ?1",
	[SQL_SESSIONS_DELETE_USER] = "DELETE FROM sessions WHERE user_id = ?1 AND hash IS NOT ?2",
	[SQL_SESSIONS_EXPIRE] = "DELETE FROM sessions WHERE last_seen < ?1",
	[SQL_TOKEN_INSERT] = "INSERT INTO tokens (id, user_id, name, hash, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_TOKEN_LIST] = "SELECT id, name, created_at FROM tokens WHERE user_id = ?1"
	    " ORDER BY rowid",
	[SQL_TOKEN_FIND] = "SELECT user_id, id FROM tokens WHERE hash = ?1",
	[SQL_TOKEN_DELETE] = "DELETE FROM tokens WHERE id = ?1 AND user_id = ?2 RETURNING hash",
	[SQL_MEMBER_LIST] = "SELECT " USER_COLS ", added_at FROM members JOIN users"
	    " ON users.id = members.user_id WHERE chat_id = ?1 ORDER BY added_at, users.rowid",
	[SQL_MEMBER_IDS] = "SELECT user_id FROM members WHERE chat_id = ?1",
	[SQL_MEMBER_ADD] = "INSERT OR IGNORE INTO members (chat_id, user_id, added_at)"
	    " VALUES (?1, ?2, ?3)",
	[SQL_MEMBER_REMOVE] = "DELETE FROM members WHERE chat_id = ?1 AND user_id = ?2",
	[SQL_INVITE_INSERT] = "INSERT INTO invites (hash, chat_id, user_id, expires_at)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[SQL_INVITE_GET] = "SELECT chat_id FROM invites WHERE hash = ?1 AND expires_at > ?2",
	[SQL_INVITES_EXPIRE] = "DELETE FROM invites WHERE expires_at <= ?1",
	[SQL_INVITES_DROP] = "DELETE FROM invites WHERE chat_id = ?1",
};

void
sqlite_log_error(struct sqlite_store *st, const char *what)
{
	log_error("database: %s: %s", what, sqlite3_errmsg(st->db));
}

void
sqlite_cached_chat_event(struct sqlite_store *st, const char *chat_id, uint64_t event_id)
{
	json_t *cached = json_object_get(st->chats, chat_id);
	if (cached != NULL)
		json_object_set_new(cached, "last_event_id", json_integer((json_int_t)event_id));
}

/* Checks that the file is still the one opened (removed or replaced: refuse to write). */
static bool
file_lost(struct sqlite_store *st)
{
	struct stat now;
	if (st->path == NULL || st->lost)
		return st->lost;
	if (stat(st->path, &now) != 0 || now.st_dev != st->file.st_dev ||
	    now.st_ino != st->file.st_ino) {
		st->lost = true;
		log_error("DATABASE FILE %s WAS REMOVED OR REPLACED while the server runs: "
		    "writes are refused until it is restarted (nothing more is stored)", st->path);
	}
	return st->lost;
}

bool
sqlite_available(struct sqlite_store *st)
{
	return !file_lost(st);
}

bool
sqlite_unreachable(struct sqlite_store *st)
{
	return st->lost;
}

sqlite3_stmt *
sqlite_stmt(struct sqlite_store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmts[id];
	if (s == NULL) {
		if (sqlite3_prepare_v3(st->db, sqlite_sql_text[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
			sqlite_log_error(st, sqlite_sql_text[id]);
			return NULL;
		}
		st->stmts[id] = s;
	}
	/* whatever it wrote would be lost (a transaction checked as it began) */
	if ((id == SQL_BEGIN || (!sqlite3_stmt_readonly(s) && sqlite3_get_autocommit(st->db))) &&
	    file_lost(st))
		return NULL;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

int
sqlite_exec(struct sqlite_store *st, sqlite3_stmt *s)
{
	if (s == NULL)
		return -1;
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		if (rc != SQLITE_CONSTRAINT)
			sqlite_log_error(st, sqlite3_sql(s));
		return -1;
	}
	return 0;
}

enum store_status
sqlite_delete(struct sqlite_store *st, enum stmt_id stmt, const char *id)
{
	sqlite3_stmt *s = sqlite_stmt(st, stmt);
	if (s == NULL)
		return STORE_ERROR;
	sqlite_bind_text(s, 1, id);
	if (sqlite_exec(st, s) != 0)
		return STORE_ERROR;
	return sqlite3_changes(st->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

int
sqlite_begin(struct sqlite_store *st)
{
	return sqlite_exec(st, sqlite_stmt(st, SQL_BEGIN));
}

int
sqlite_commit(struct sqlite_store *st)
{
	return sqlite_exec(st, sqlite_stmt(st, SQL_COMMIT));
}

enum store_status
sqlite_fail(struct sqlite_store *st, enum store_status status)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite_exec(st, sqlite_stmt(st, SQL_ROLLBACK));
	json_object_clear(st->chats);	/* they may hold what was rolled back */
	json_object_clear(st->counters);
	json_object_clear(st->members);
	return status;
}

void
sqlite_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

json_t *
sqlite_column_json(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return json_null();
	return json_string((const char *)sqlite3_column_text(s, i));
}

enum store_status
sqlite_step_status(struct sqlite_store *st, sqlite3_stmt *s, int rc)
{
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return STORE_NOT_FOUND;
	sqlite_log_error(st, sqlite3_sql(s));
	return STORE_ERROR;
}

enum store_status
sqlite_one(struct sqlite_store *st, sqlite3_stmt *s, json_t *(*conv)(struct sqlite_store *, sqlite3_stmt *),
    json_t **out)
{
	*out = NULL;
	if (s == NULL)
		return STORE_ERROR;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = conv(st, s);
	sqlite3_reset(s);
	return sqlite_step_status(st, s, rc);
}

json_t *
sqlite_collect(struct sqlite_store *st, sqlite3_stmt *s, json_t *(*conv)(struct sqlite_store *, sqlite3_stmt *))
{
	if (s == NULL)
		return NULL;
	json_t *rows = json_array();
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(rows, conv(st, s));
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		sqlite_log_error(st, sqlite3_sql(s));
		json_decref(rows);
		return NULL;
	}
	return rows;
}

static int
open_failed(struct sqlite_store *st, char **err)
{
	if (asprintf(err, "%s", st->db ? sqlite3_errmsg(st->db) : "out of memory") < 0)
		*err = NULL;
	return -1;
}

/*
 * Brings the schema up to the latest migration; a database a newer Parley
 * wrote (a migration this binary does not know) is refused, in *err.
 */
static int
migrate(struct sqlite_store *st, char **err)
{
	sqlite3_stmt *s;
	int version = 0;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return open_failed(st, err);
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);

	int latest = (int)(sizeof migrations / sizeof migrations[0]);
	if (version > latest) {
		if (asprintf(err, "its schema is version %d, newer than this Parley knows (%d):"
		    " run a newer Parley on it", version, latest) < 0)
			*err = NULL;
		return -1;
	}
	for (int v = version; v < latest; v++) {
		char pragma[48];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(st->db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			open_failed(st, err);
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

/*
 * Refuses a second server on the same file, and remembers which file it is;
 * -1 and *err when it is in use.
 */
static int
hold_file(struct sqlite_store *st, const char *path, char **err)
{
	st->lock_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (st->lock_fd >= 0 && flock(st->lock_fd, LOCK_EX | LOCK_NB) == 0 &&
	    fstat(st->lock_fd, &st->file) == 0) {
		st->path = xstrdup(path);
		return 0;
	}
	if (asprintf(err, errno == EWOULDBLOCK ? "%s is in use by another server" :
	    "%s: %s", path, strerror(errno)) < 0)
		*err = NULL;
	return -1;
}


/* A database the server cannot write to is no use to it: say so at start. */
static int
check_writable(struct sqlite_store *st, char **err)
{
	if (sqlite3_db_readonly(st->db, "main") != 1 &&
	    sqlite3_exec(st->db, "BEGIN IMMEDIATE; ROLLBACK", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	if (asprintf(err, "it cannot be written (%s)", sqlite3_db_readonly(st->db, "main") == 1 ?
	    "the file or its directory is read-only" : sqlite3_errmsg(st->db)) < 0)
		*err = NULL;
	return -1;
}

/* Where the chats' activity clock stands (see migration 5). */
static int
read_activity_clock(struct sqlite_store *st)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_ACTIVITY_CLOCK);
	if (s == NULL || sqlite3_step(s) != SQLITE_ROW)
		return -1;
	st->activity_clock = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
}

static int
open_database(struct sqlite_store *st, const char *path, bool sync_full, char **err)
{
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return open_failed(st, err);
	const char *file = sqlite3_db_filename(st->db, "main");
	bool on_disk = file != NULL && file[0] != '\0';
	if (on_disk && hold_file(st, file, err) != 0)
		return -1;
	if (sqlite3_exec(st->db, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"
	    "PRAGMA busy_timeout = 5000;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, SQLITE_SYNC_PRAGMA(sync_full), NULL, NULL, NULL) != SQLITE_OK)
		return open_failed(st, err);
	if (check_writable(st, err) != 0)
		return -1;
	if (migrate(st, err) != 0)
		return -1;
	if (read_activity_clock(st) != 0)
		return open_failed(st, err);
	if (on_disk) {
		st->checkpointer = checkpointer_start(st->db, file, sync_full, err);
		if (st->checkpointer == NULL)
			return -1;
	}
	return 0;
}

void
sqlite_set_accounts(struct sqlite_store *st, bool accounts)
{
	st->accounts = accounts;
}

struct sqlite_store *
sqlite_open(const char *path, bool sync_full, char **err)
{
	struct sqlite_store *st = xcalloc(1, sizeof *st);
	st->lock_fd = -1;
	st->chats = json_object();
	st->members = json_object();
	st->counters = json_object();
	*err = NULL;
	if (open_database(st, path, sync_full, err) != 0) {
		sqlite_close(st);
		return NULL;
	}
	return st;
}

void
sqlite_close(struct sqlite_store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	json_decref(st->chats);
	json_decref(st->members);
	json_decref(st->counters);
	checkpointer_stop(st->checkpointer, st->db);
	sqlite3_close(st->db);
	if (st->lock_fd >= 0)
		close(st->lock_fd);	/* after SQLite's own descriptors: POSIX locks */
	free(st->path);
	free(st);
}
