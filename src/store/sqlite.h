/*
 * sqlite.h - what the SQLite store's files share (not part of the store
 * interface): the connection, the cached statements, and small helpers for
 * binding, stepping and turning rows into JSON.
 */
#ifndef PARLEY_STORE_SQLITE_H
#define PARLEY_STORE_SQLITE_H
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "store/store.h"
#include "util/ids.h"

enum stmt_id {
	SQL_BEGIN, SQL_COMMIT, SQL_ROLLBACK,
	SQL_CHAT_LIST, SQL_CHAT_LIST_MEMBER, SQL_CHAT_GET, SQL_CHAT_INSERT, SQL_CHAT_UPDATE,
	SQL_CHAT_DELETE, SQL_CHAT_COUNTERS, SQL_CHAT_BOTS, SQL_CHAT_BOTS_KEEP,
	SQL_CHAT_BOT_ADD, SQL_CHAT_MUTE, SQL_CHAT_FLOORS,
	SQL_MSG_AFTER, SQL_MSG_LAST, SQL_MSG_INSERT, SQL_MSG_GET, SQL_MSG_FINISH,
	SQL_MSG_STREAMING, SQL_MSG_SAVE_TEXT,
	SQL_MSG_EDIT, SQL_MSG_REGENERATE, SQL_MSG_CONTINUE, SQL_MSG_PICK, SQL_MSG_DELETE,
	SQL_ALT_KEEP, SQL_ALT_FIRST, SQL_EVENT_PURGE_MSG, SQL_EVENT_PURGE_UPDATES,
	SQL_EVENT_INSERT, SQL_EVENT_PRUNE, SQL_EVENT_AFTER, SQL_EVENT_FINAL_AFTER,
	SQL_BOT_LIST, SQL_BOT_GET, SQL_BOT_INSERT, SQL_BOT_UPDATE, SQL_BOT_DELETE,
	SQL_BOT_CHATS,
	SQL_USER_LIST, SQL_USER_COUNT, SQL_USER_GET, SQL_USER_INSERT, SQL_USER_UPDATE,
	SQL_USER_DELETE,
	SQL_SESSION_INSERT, SQL_SESSION_GET, SQL_SESSION_TOUCH, SQL_SESSION_DELETE,
	SQL_SESSIONS_OF_USER, SQL_SESSIONS_DELETE_USER, SQL_SESSIONS_EXPIRE,
	SQL_TOKEN_INSERT, SQL_TOKEN_LIST, SQL_TOKEN_FIND, SQL_TOKEN_DELETE,
	SQL_MEMBER_LIST, SQL_MEMBER_IDS, SQL_MEMBER_ADD, SQL_MEMBER_REMOVE, SQL_MEMBER_READ,
	SQL_CHAT_ACTIVITY, SQL_CHAT_ITEM, SQL_CHAT_ACTIVE, SQL_ACTIVITY_CLOCK,
	SQL_INVITE_INSERT, SQL_INVITE_GET, SQL_INVITES_EXPIRE,
	SQL_COUNT
};

struct checkpointer;

struct store {
	sqlite3		*db;
	struct checkpointer *checkpointer;	/* NULL for an in-memory database */
	int		 lock_fd;		/* flock()ed: one server per file */
	char		*path;			/* the file, NULL in memory */
	struct stat	 file;			/* its identity when opened */
	bool		 lost;			/* it was removed or replaced: no more writes */
	bool		 accounts;		/* messages carry "user_id" */
	json_t		*chats;			/* chat id -> Chat, see store_chat_get */
	json_t		*counters;		/* chat id -> [last seq, last event id] */
	json_t		*members;		/* chat id -> {user id: true}, see store_member_is */
	uint64_t	 activity_clock;	/* the chats' last active_at */
	sqlite3_stmt	*stmts[SQL_COUNT];
};

extern const char *const sqlite_sql_text[SQL_COUNT];


void		 sqlite_log_error(struct store *st, const char *what);
/* A committed event of the chat: its cached Chat (if any) shows it as the last. */
void		 sqlite_cached_chat_event(struct store *st, const char *chat_id,
		    uint64_t event_id);
/* The cached statement, reset and with bindings cleared; NULL on error. */
sqlite3_stmt	*sqlite_stmt(struct store *st, enum stmt_id id);
/* Steps a statement that returns no rows; 0 or -1. */
int		 sqlite_exec(struct store *st, sqlite3_stmt *s);
/* Runs a DELETE ... WHERE id = ?1: STORE_NOT_FOUND when it removed nothing. */
enum store_status sqlite_delete(struct store *st, enum stmt_id stmt, const char *id);
int		 sqlite_begin(struct store *st);
int		 sqlite_commit(struct store *st);
/* Rolls back and returns status, for `return sqlite_fail(st, X);`. */
enum store_status sqlite_fail(struct store *st, enum store_status status);
void		 sqlite_bind_text(sqlite3_stmt *s, int i, const char *v);
json_t		*sqlite_column_json(sqlite3_stmt *s, int i);
/* What a step's result code rc (s already reset) means: a row, none, or a failure (logged). */
enum store_status sqlite_step_status(struct store *st, sqlite3_stmt *s, int rc);
/* Steps s once: the row converted by conv in *out, or STORE_NOT_FOUND / STORE_ERROR. */
enum store_status sqlite_one(struct store *st, sqlite3_stmt *s,
		    json_t *(*conv)(struct store *, sqlite3_stmt *), json_t **out);
/* Steps s to the end, collecting rows converted by conv; NULL on error. */
json_t		*sqlite_collect(struct store *st, sqlite3_stmt *s,
		    json_t *(*conv)(struct store *, sqlite3_stmt *));
/* A row of MSG_READ as a Message. */
json_t		*sqlite_row_message(struct store *st, sqlite3_stmt *s);
/* The chat's message seq, or STORE_NOT_FOUND / STORE_ERROR. */
enum store_status sqlite_message_get(struct store *st, const char *chat_id, uint64_t seq,
		    json_t **message);
/*
 * Ends the caller's transaction that changed message seq: its shown
 * alternative kept as it now is, the Message read, its "message-update"
 * logged, committed (rolled back on failure).
 */
enum store_status sqlite_message_changed(struct store *st, const char *chat_id, uint64_t seq,
		    json_t **message, uint64_t *event_id);
/*
 * Appends a durable event inside the caller's transaction (pruning the
 * chat's old ones); its id, or 0 on failure.
 */
uint64_t	 sqlite_event_append(struct store *st, const char *chat_id, const char *name,
		    json_t *data);
/*
 * Makes the user a member of the chat inside the caller's transaction (already
 * one: STORE_OK); STORE_NOT_FOUND when there is no such chat or user.
 */
enum store_status sqlite_member_insert(struct store *st, const char *chat_id,
		    const char *user_id);

#endif
