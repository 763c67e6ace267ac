/*
 * sqlite.h - what the SQLite store's files share (not part of the store
 * interface): the connection, the cached statements, and small helpers for
 * binding, stepping and turning rows into JSON. store.c calls the sqlite_*
 * operations at the end, one for each store_* of store.h.
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
	SQL_USER_LIST, SQL_USER_COUNT, SQL_USER_GET, SQL_USER_NAMED, SQL_USER_INSERT,
	SQL_USER_UPDATE,
	SQL_USER_DELETE,
	SQL_SESSION_INSERT, SQL_SESSION_GET, SQL_SESSION_TOUCH, SQL_SESSION_DELETE,
	SQL_SESSIONS_OF_USER, SQL_SESSIONS_DELETE_USER, SQL_SESSIONS_EXPIRE,
	SQL_TOKEN_INSERT, SQL_TOKEN_LIST, SQL_TOKEN_FIND, SQL_TOKEN_DELETE,
	SQL_MEMBER_LIST, SQL_MEMBER_IDS, SQL_MEMBER_ADD, SQL_MEMBER_REMOVE, SQL_MEMBER_READ,
	SQL_MEMBER_READ_OWN,
	SQL_CHAT_ACTIVITY, SQL_CHAT_ITEM, SQL_CHAT_ACTIVE, SQL_ACTIVITY_CLOCK,
	SQL_INVITE_INSERT, SQL_INVITE_GET, SQL_INVITES_EXPIRE, SQL_INVITES_DROP,
	SQL_COUNT
};

struct checkpointer;

struct sqlite_store {
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


void		 sqlite_log_error(struct sqlite_store *st, const char *what);
/* A committed event of the chat: its cached Chat (if any) shows it as the last. */
void		 sqlite_cached_chat_event(struct sqlite_store *st, const char *chat_id,
		    uint64_t event_id);
/* The cached statement, reset and with bindings cleared; NULL on error. */
sqlite3_stmt	*sqlite_stmt(struct sqlite_store *st, enum stmt_id id);
/* Steps a statement that returns no rows; 0 or -1. */
int		 sqlite_exec(struct sqlite_store *st, sqlite3_stmt *s);
/* Runs a DELETE ... WHERE id = ?1: STORE_NOT_FOUND when it removed nothing. */
enum store_status sqlite_delete(struct sqlite_store *st, enum stmt_id stmt, const char *id);
int		 sqlite_begin(struct sqlite_store *st);
int		 sqlite_commit(struct sqlite_store *st);
/* Rolls back and returns status, for `return sqlite_fail(st, X);`. */
enum store_status sqlite_fail(struct sqlite_store *st, enum store_status status);
void		 sqlite_bind_text(sqlite3_stmt *s, int i, const char *v);
json_t		*sqlite_column_json(sqlite3_stmt *s, int i);
/* What a step's result code rc (s already reset) means: a row, none, or a failure (logged). */
enum store_status sqlite_step_status(struct sqlite_store *st, sqlite3_stmt *s, int rc);
/* Steps s once: the row converted by conv in *out, or STORE_NOT_FOUND / STORE_ERROR. */
enum store_status sqlite_one(struct sqlite_store *st, sqlite3_stmt *s,
		    json_t *(*conv)(struct sqlite_store *, sqlite3_stmt *), json_t **out);
/* Steps s to the end, collecting rows converted by conv; NULL on error. */
json_t		*sqlite_collect(struct sqlite_store *st, sqlite3_stmt *s,
		    json_t *(*conv)(struct sqlite_store *, sqlite3_stmt *));
/* A row of MSG_READ as a Message. */
json_t		*sqlite_row_message(struct sqlite_store *st, sqlite3_stmt *s);
/* The chat's message seq, or STORE_NOT_FOUND / STORE_ERROR. */
enum store_status sqlite_message_read(struct sqlite_store *st, const char *chat_id, uint64_t seq,
		    json_t **message);
/*
 * Ends the caller's transaction that changed message seq: its shown
 * alternative kept as it now is, the Message read, its "message-update"
 * logged, committed (rolled back on failure).
 */
enum store_status sqlite_message_changed(struct sqlite_store *st, const char *chat_id, uint64_t seq,
		    json_t **message, uint64_t *event_id);
/*
 * Appends a durable event inside the caller's transaction (pruning the
 * chat's old ones); its id, or 0 on failure.
 */
uint64_t	 sqlite_log_event(struct sqlite_store *st, const char *chat_id, const char *name,
		    json_t *data);
/*
 * Makes the user a member of the chat inside the caller's transaction (already
 * one: STORE_OK); STORE_NOT_FOUND when there is no such chat or user.
 */
enum store_status sqlite_member_insert(struct sqlite_store *st, const char *chat_id,
		    const char *user_id);
/* The chat's member ids (an array), or NULL on error. */
json_t		*sqlite_member_ids(struct sqlite_store *st, const char *chat_id);


/* ---- the store operations (store.h) ---- */

struct sqlite_store *sqlite_open(const char *path, bool sync_full, char **err);
void		 sqlite_close(struct sqlite_store *st);
void		 sqlite_set_accounts(struct sqlite_store *st, bool accounts);
bool		sqlite_available(struct sqlite_store *st);
bool		sqlite_unreachable(struct sqlite_store *st);
json_t		*sqlite_chat_list(struct sqlite_store *st, const char *before, unsigned limit,
		    const char *member);
enum store_status sqlite_chat_get(struct sqlite_store *st, const char *id, json_t **chat);
json_t		*sqlite_chat_activity(struct sqlite_store *st, const char *member,
		    const char *reader, unsigned offset, unsigned limit);
json_t		*sqlite_chat_item(struct sqlite_store *st, const char *chat_id);
enum store_status sqlite_chat_create(struct sqlite_store *st, const char *title,
		    const char *policy, json_t *bot_ids, const char *creator, json_t **chat);
enum store_status sqlite_chat_update(struct sqlite_store *st, const char *id,
		    const struct chat_change *change, json_t **chat, uint64_t *event_id);
enum store_status sqlite_chat_delete(struct sqlite_store *st, const char *id);
enum store_status sqlite_messages_after(struct sqlite_store *st, const char *chat_id,
		    uint64_t after, unsigned limit, json_t **messages);
enum store_status sqlite_messages_before(struct sqlite_store *st, const char *chat_id,
		    uint64_t before, unsigned n, json_t **messages);
enum store_status sqlite_message_get(struct sqlite_store *st, const char *chat_id,
		    uint64_t seq, json_t **message);
enum store_status sqlite_messages_add(struct sqlite_store *st, const struct message_in *in,
		    size_t n, struct message_added *out);
enum store_status sqlite_message_finish(struct sqlite_store *st, const char *chat_id,
		    uint64_t seq, const char *body, const char *state, const char *error,
		    json_t **message, uint64_t *event_id);
enum store_status sqlite_message_edit(struct sqlite_store *st, const char *chat_id,
		    uint64_t seq, const char *body, json_t **message, uint64_t *event_id);
enum store_status sqlite_message_delete(struct sqlite_store *st, const char *chat_id,
		    uint64_t seq, uint64_t *event_id);
enum store_status sqlite_message_reopen(struct sqlite_store *st, const char *chat_id,
		    uint64_t seq, bool fresh, json_t **message, uint64_t *event_id);
enum store_status sqlite_message_pick(struct sqlite_store *st, const char *chat_id,
		    uint64_t seq, unsigned index, json_t **message, uint64_t *event_id);
enum store_status sqlite_message_save_text(struct sqlite_store *st, const char *chat_id,
		    uint64_t seq, const char *body);
json_t		*sqlite_messages_streaming(struct sqlite_store *st);
enum store_status sqlite_event_append(struct sqlite_store *st, const char *chat_id,
		    const char *name, json_t *data, uint64_t *event_id);
enum store_status sqlite_events_after(struct sqlite_store *st, const char *chat_id,
		    uint64_t after, json_t **events);
json_t		*sqlite_bot_list(struct sqlite_store *st);
enum store_status sqlite_bot_get(struct sqlite_store *st, const char *id_or_name,
		    json_t **bot);
enum store_status sqlite_bot_create(struct sqlite_store *st, json_t *fields, json_t **bot);
enum store_status sqlite_bot_update(struct sqlite_store *st, const char *id, json_t *old,
		    json_t *fields, json_t **bot);
json_t		*sqlite_bot_chats(struct sqlite_store *st, const char *id);
enum store_status sqlite_bot_delete(struct sqlite_store *st, const char *id);
json_t		*sqlite_user_list(struct sqlite_store *st);
long		sqlite_user_count(struct sqlite_store *st);
enum store_status sqlite_user_named(struct sqlite_store *st, const char *name, json_t **user,
		    char **password);
enum store_status sqlite_user_get(struct sqlite_store *st, const char *id_or_name,
		    json_t **user, char **password);
enum store_status sqlite_user_create(struct sqlite_store *st, const char *name,
		    const char *display_name, const char *password, enum user_admin admin,
		    json_t **user);
enum store_status sqlite_user_update(struct sqlite_store *st, const char *id,
		    const char *display_name, const char *password, int admin, json_t **user);
enum store_status sqlite_user_delete(struct sqlite_store *st, const char *id);
enum store_status sqlite_session_create(struct sqlite_store *st, const char *hash,
		    const char *user_id, int64_t now);
enum store_status sqlite_session_get(struct sqlite_store *st, const char *hash,
		    char user_id[ID_LEN + 1], int64_t *last_seen);
enum store_status sqlite_session_touch(struct sqlite_store *st, const char *hash, int64_t now);
enum store_status sqlite_session_delete(struct sqlite_store *st, const char *hash);
json_t		*sqlite_user_sessions(struct sqlite_store *st, const char *user_id);
enum store_status sqlite_sessions_delete_user(struct sqlite_store *st, const char *user_id,
		    const char *keep);
enum store_status sqlite_sessions_expire(struct sqlite_store *st, int64_t before);
enum store_status sqlite_token_create(struct sqlite_store *st, const char *user_id,
		    const char *name, const char *hash, json_t **token);
json_t		*sqlite_token_list(struct sqlite_store *st, const char *user_id);
enum store_status sqlite_token_find(struct sqlite_store *st, const char *hash,
		    char user_id[ID_LEN + 1], char token_id[ID_LEN + 1]);
enum store_status sqlite_token_delete(struct sqlite_store *st, const char *user_id,
		    const char *token_id, char **hash);
json_t		*sqlite_member_list(struct sqlite_store *st, const char *chat_id);
enum store_status sqlite_member_is(struct sqlite_store *st, const char *chat_id,
		    const char *user_id);
enum store_status sqlite_member_read(struct sqlite_store *st, const char *chat_id,
		    const char *user_id, uint64_t seq, uint64_t *mark);
enum store_status sqlite_member_add(struct sqlite_store *st, const char *chat_id,
		    const char *user_id);
enum store_status sqlite_member_remove(struct sqlite_store *st, const char *chat_id,
		    const char *user_id);
enum store_status sqlite_invite_create(struct sqlite_store *st, const char *hash,
		    const char *chat_id, const char *user_id, int64_t expires_at);
enum store_status sqlite_invite_get(struct sqlite_store *st, const char *hash, int64_t now,
		    char chat_id[ID_LEN + 1]);
enum store_status sqlite_invites_expire(struct sqlite_store *st, int64_t now);
enum store_status sqlite_invites_drop(struct sqlite_store *st, const char *chat_id);


#endif
