/*
 * postgres_control.c - conversation control on PostgreSQL (store.h, SPEC 8):
 * edits, deletions and a bot message's alternatives. A message with one
 * text has no alternatives rows; from its second, every alternative has a
 * row and the message row mirrors the one shown (kept in step on each
 * change of it, postgres_message_changed). Each change is one transaction
 * with its event. All of them, deletions too, lock the message's row before
 * the chat's (taking the event id), so two of them cannot deadlock.
 */
#include "store/postgres.h"
#include "util/ids.h"

#include <stdint.h>
#include <string.h>

/* The message's key as $1, $2. */
static void
message_params(struct pg_params *p, const char *chat_id, uint64_t seq)
{
	pg_text(p, chat_id);
	pg_position(p, seq);
}

/* Runs a statement on the message ($1, $2) in the caller's transaction: rows changed, or -1. */
static long
exec_on(struct postgres_store *st, enum pg_stmt id, const char *chat_id, uint64_t seq)
{
	struct pg_params p = {0};
	message_params(&p, chat_id, seq);
	return postgres_exec(st, id, &p);
}

enum store_status
postgres_message_get(struct postgres_store *st, const char *chat_id, uint64_t seq,
    json_t **message)
{
	return postgres_message_read(st, chat_id, seq, message);
}

/*
 * What a change that touched no row means: no such message (of the kind
 * asked), or one that cannot change now.
 */
static enum store_status
untouched(struct postgres_store *st, const char *chat_id, uint64_t seq, const char *kind)
{
	json_t *msg;
	enum store_status rc = postgres_message_read(st, chat_id, seq, &msg);
	if (rc == STORE_OK) {
		const char *k = json_string_value(json_object_get(msg, "kind"));
		rc = kind != NULL && strcmp(k, kind) != 0 ? STORE_NOT_FOUND : STORE_CONFLICT;
		json_decref(msg);
	}
	return postgres_fail(st, rc);
}

enum store_status
postgres_message_changed(struct postgres_store *st, const char *chat_id, uint64_t seq,
    json_t **message, uint64_t *event_id)
{
	/* the alternative shown, when there are several, is kept as it now is */
	if (exec_on(st, PG_ALT_KEEP, chat_id, seq) < 0)
		return postgres_fail(st, STORE_ERROR);
	enum store_status rc = postgres_message_read(st, chat_id, seq, message);
	if (rc != STORE_OK)
		return postgres_fail(st, rc);
	*event_id = postgres_log_event(st, chat_id, "message-update", *message);
	if (*event_id == 0 || postgres_commit(st) != 0) {
		json_decref(*message);
		*message = NULL;
		return postgres_fail(st, STORE_ERROR);
	}
	return STORE_OK;
}

enum store_status
postgres_message_edit(struct postgres_store *st, const char *chat_id, uint64_t seq,
    const char *body, json_t **message, uint64_t *event_id)
{
	char now[21];
	time_now_rfc3339(now);
	if (postgres_begin(st) != 0)
		return STORE_ERROR;
	struct pg_params p = {0};
	message_params(&p, chat_id, seq);
	pg_text(&p, body);
	pg_text(&p, now);
	long changed = postgres_exec(st, PG_MSG_EDIT, &p);
	if (changed < 0)
		return postgres_fail(st, STORE_ERROR);
	if (changed == 0)
		return untouched(st, chat_id, seq, NULL);
	/* its earlier updates carry the text it no longer has: the new one says it all */
	if (exec_on(st, PG_EVENT_PURGE_UPDATES, chat_id, seq) < 0)
		return postgres_fail(st, STORE_ERROR);
	return postgres_message_changed(st, chat_id, seq, message, event_id);
}

enum store_status
postgres_message_reopen(struct postgres_store *st, const char *chat_id, uint64_t seq,
    bool fresh, json_t **message, uint64_t *event_id)
{
	if (postgres_begin(st) != 0)
		return STORE_ERROR;
	if (fresh && exec_on(st, PG_ALT_FIRST, chat_id, seq) < 0)
		return postgres_fail(st, STORE_ERROR);
	long changed = exec_on(st, fresh ? PG_MSG_REGENERATE : PG_MSG_CONTINUE, chat_id, seq);
	if (changed < 0)
		return postgres_fail(st, STORE_ERROR);
	if (changed == 0)
		return untouched(st, chat_id, seq, "bot");
	return postgres_message_changed(st, chat_id, seq, message, event_id);
}

/*
 * A pick that changed no row: of a message of one text, alternative 0 is the
 * one it shows (no change, no event); else as untouched.
 */
static enum store_status
picked_none(struct postgres_store *st, const char *chat_id, uint64_t seq, unsigned index,
    json_t **message, uint64_t *event_id)
{
	json_t *msg;
	enum store_status rc = postgres_message_read(st, chat_id, seq, &msg);
	if (rc != STORE_OK)
		return postgres_fail(st, rc);
	if (index == 0 && json_integer_value(json_object_get(msg, "alternatives")) == 1 &&
	    strcmp(json_string_value(json_object_get(msg, "state")), "streaming") != 0) {
		postgres_fail(st, STORE_OK);
		*message = msg;
		*event_id = 0;
		return STORE_OK;
	}
	json_decref(msg);
	return untouched(st, chat_id, seq, "bot");
}

enum store_status
postgres_message_pick(struct postgres_store *st, const char *chat_id, uint64_t seq,
    unsigned index, json_t **message, uint64_t *event_id)
{
	if (postgres_begin(st) != 0)
		return STORE_ERROR;
	struct pg_params p = {0};
	message_params(&p, chat_id, seq);
	pg_int(&p, index);
	long changed = postgres_exec(st, PG_MSG_PICK, &p);
	if (changed < 0)
		return postgres_fail(st, STORE_ERROR);
	if (changed == 0)
		return picked_none(st, chat_id, seq, index, message, event_id);
	return postgres_message_changed(st, chat_id, seq, message, event_id);
}

/*
 * The row goes first (its alternatives with it): none is no such message,
 * also when another deletion came first. Then "message-deleted" takes the
 * chat's next event id, and the logged "message" and "message-update"
 * events that carry the text go (the purge spares "message-deleted").
 */
enum store_status
postgres_message_delete(struct postgres_store *st, const char *chat_id, uint64_t seq,
    uint64_t *event_id)
{
	if (postgres_begin(st) != 0)
		return STORE_ERROR;
	long changed = exec_on(st, PG_MSG_DELETE, chat_id, seq);
	if (changed <= 0)
		return postgres_fail(st, changed < 0 ? STORE_ERROR : STORE_NOT_FOUND);
	json_t *data = json_pack("{s:I}", "seq", (json_int_t)seq);
	*event_id = postgres_log_event(st, chat_id, "message-deleted", data);
	json_decref(data);
	if (*event_id == 0 || exec_on(st, PG_EVENT_PURGE_MSG, chat_id, seq) < 0 ||
	    postgres_commit(st) != 0)
		return postgres_fail(st, STORE_ERROR);
	return STORE_OK;
}
