/*
 * sqlite_control.c - conversation control on SQLite (store.h, SPEC 8):
 * edits, deletions and a bot message's alternatives. A message with one
 * text has no alternatives rows; from its second, every alternative has a
 * row and the message row mirrors the one shown (kept in step on each
 * change of it, sqlite_message_changed). Each change is one transaction
 * with its event.
 */
#include "store/sqlite.h"
#include "util/ids.h"

#include <stdint.h>
#include <string.h>

/* Binds the message's key as ?1, ?2. */
static void
bind_message(sqlite3_stmt *s, const char *chat_id, uint64_t seq)
{
	sqlite_bind_text(s, 1, chat_id);
	sqlite3_bind_int64(s, 2, seq > INT64_MAX ? INT64_MAX : (sqlite3_int64)seq);
}

/* Runs a statement on the message (?1, ?2) in the caller's transaction. */
static int
exec_on(struct sqlite_store *st, enum stmt_id id, const char *chat_id, uint64_t seq)
{
	sqlite3_stmt *s = sqlite_stmt(st, id);
	if (s == NULL)
		return -1;
	bind_message(s, chat_id, seq);
	return sqlite_exec(st, s);
}

enum store_status
sqlite_message_get(struct sqlite_store *st, const char *chat_id, uint64_t seq, json_t **message)
{
	return sqlite_message_read(st, chat_id, seq, message);
}

/*
 * What a change that touched no row means: no such message (of the kind
 * asked), or one that cannot change now.
 */
static enum store_status
untouched(struct sqlite_store *st, const char *chat_id, uint64_t seq, const char *kind)
{
	json_t *msg;
	enum store_status rc = sqlite_message_read(st, chat_id, seq, &msg);
	if (rc == STORE_OK) {
		const char *k = json_string_value(json_object_get(msg, "kind"));
		rc = kind != NULL && strcmp(k, kind) != 0 ? STORE_NOT_FOUND : STORE_CONFLICT;
		json_decref(msg);
	}
	return sqlite_fail(st, rc);
}

enum store_status
sqlite_message_changed(struct sqlite_store *st, const char *chat_id, uint64_t seq, json_t **message,
    uint64_t *event_id)
{
	/* the alternative shown, when there are several, is kept as it now is */
	if (exec_on(st, SQL_ALT_KEEP, chat_id, seq) != 0)
		return sqlite_fail(st, STORE_ERROR);
	enum store_status rc = sqlite_message_read(st, chat_id, seq, message);
	if (rc != STORE_OK)
		return sqlite_fail(st, rc);
	*event_id = sqlite_log_event(st, chat_id, "message-update", *message);
	if (*event_id == 0 || sqlite_commit(st) != 0) {
		json_decref(*message);
		*message = NULL;
		return sqlite_fail(st, STORE_ERROR);
	}
	return STORE_OK;
}

enum store_status
sqlite_message_edit(struct sqlite_store *st, const char *chat_id, uint64_t seq, const char *body,
    json_t **message, uint64_t *event_id)
{
	char now[21];
	time_now_rfc3339(now);
	if (sqlite_begin(st) != 0)
		return STORE_ERROR;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MSG_EDIT);
	if (s == NULL)
		return sqlite_fail(st, STORE_ERROR);
	bind_message(s, chat_id, seq);
	sqlite_bind_text(s, 3, body);
	sqlite_bind_text(s, 4, now);
	if (sqlite_exec(st, s) != 0)
		return sqlite_fail(st, STORE_ERROR);
	if (sqlite3_changes(st->db) == 0)
		return untouched(st, chat_id, seq, NULL);
	/* its earlier updates carry the text it no longer has: the new one says it all */
	if (exec_on(st, SQL_EVENT_PURGE_UPDATES, chat_id, seq) != 0)
		return sqlite_fail(st, STORE_ERROR);
	return sqlite_message_changed(st, chat_id, seq, message, event_id);
}

enum store_status
sqlite_message_reopen(struct sqlite_store *st, const char *chat_id, uint64_t seq, bool fresh,
    json_t **message, uint64_t *event_id)
{
	if (sqlite_begin(st) != 0)
		return STORE_ERROR;
	if (fresh && exec_on(st, SQL_ALT_FIRST, chat_id, seq) != 0)
		return sqlite_fail(st, STORE_ERROR);
	if (exec_on(st, fresh ? SQL_MSG_REGENERATE : SQL_MSG_CONTINUE, chat_id, seq) != 0)
		return sqlite_fail(st, STORE_ERROR);
	if (sqlite3_changes(st->db) == 0)
		return untouched(st, chat_id, seq, "bot");
	return sqlite_message_changed(st, chat_id, seq, message, event_id);
}

enum store_status
sqlite_message_pick(struct sqlite_store *st, const char *chat_id, uint64_t seq, unsigned index,
    json_t **message, uint64_t *event_id)
{
	if (sqlite_begin(st) != 0)
		return STORE_ERROR;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MSG_PICK);
	if (s == NULL)
		return sqlite_fail(st, STORE_ERROR);
	bind_message(s, chat_id, seq);
	sqlite3_bind_int64(s, 3, index);
	if (sqlite_exec(st, s) != 0)
		return sqlite_fail(st, STORE_ERROR);
	if (sqlite3_changes(st->db) == 0) {
		json_t *msg;
		enum store_status rc = sqlite_message_read(st, chat_id, seq, &msg);
		/* a message of one text has only alternative 0, which it shows */
		if (rc == STORE_OK && index == 0 &&
		    json_integer_value(json_object_get(msg, "alternatives")) == 1 &&
		    strcmp(json_string_value(json_object_get(msg, "state")), "streaming") != 0) {
			sqlite_fail(st, STORE_OK);
			*message = msg;
			*event_id = 0;
			return STORE_OK;
		}
		json_decref(msg);
		return rc == STORE_OK ? untouched(st, chat_id, seq, "bot") : sqlite_fail(st, rc);
	}
	return sqlite_message_changed(st, chat_id, seq, message, event_id);
}

enum store_status
sqlite_message_delete(struct sqlite_store *st, const char *chat_id, uint64_t seq, uint64_t *event_id)
{
	json_t *msg;
	if (sqlite_begin(st) != 0)
		return STORE_ERROR;
	enum store_status rc = sqlite_message_read(st, chat_id, seq, &msg);
	if (rc != STORE_OK)
		return sqlite_fail(st, rc);
	json_decref(msg);
	/*
	 * The deletion's id first: the chat's counters may be read from its
	 * newest rows, and the rows going may be those.
	 */
	json_t *data = json_pack("{s:I}", "seq", (json_int_t)seq);
	*event_id = sqlite_log_event(st, chat_id, "message-deleted", data);
	json_decref(data);
	if (*event_id == 0 || exec_on(st, SQL_MSG_DELETE, chat_id, seq) != 0 ||
	    exec_on(st, SQL_EVENT_PURGE_MSG, chat_id, seq) != 0)
		return sqlite_fail(st, STORE_ERROR);
	/* and the counters stay where they are once those rows are gone */
	sqlite3_stmt *s = sqlite_stmt(st, SQL_CHAT_FLOORS);
	if (s == NULL)
		return sqlite_fail(st, STORE_ERROR);
	bind_message(s, chat_id, seq);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)*event_id);
	if (sqlite_exec(st, s) != 0 || sqlite_commit(st) != 0)
		return sqlite_fail(st, STORE_ERROR);
	return STORE_OK;
}
