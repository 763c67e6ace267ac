/*
 * sqlite_chats.c - chats, messages and the event log on SQLite (store.h).
 * Each write is one transaction. A chat's message seq and event id counters
 * are read once from its newest rows and then kept in memory (a rolled-back
 * transaction drops them), so a post writes no chat row; ids are never
 * reused, across restarts too. The log keeps the last LIMIT_EVENTS_KEPT
 * events of each chat (the newest always stays). A message stored complete
 * is final (nothing updates it), so its "message" event is not copied into
 * the log: the row keeps the event's id and is the event's data (an edit
 * changes that data: a replay shows the message as it is now).
 */
#include "store/event_log.h"
#include "store/shapes.h"
#include "store/sqlite.h"
#include "limits.h"
#include "util/ids.h"
#include "util/json_wire.h"

#include <stdlib.h>
#include <string.h>

/* The chat's counters, read from its newest rows when not in memory. */
static enum store_status
counters(struct sqlite_store *st, const char *chat_id, json_t **out)
{
	*out = json_object_get(st->counters, chat_id);
	if (*out != NULL)
		return STORE_OK;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_CHAT_COUNTERS);
	if (s == NULL)
		return STORE_ERROR;
	sqlite_bind_text(s, 1, chat_id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = json_pack("[I, I]", (json_int_t)sqlite3_column_int64(s, 0),
		    (json_int_t)sqlite3_column_int64(s, 1));
		if (json_object_size(st->counters) >= LIMIT_CHATS_CACHED)
			json_object_clear(st->counters);
		json_object_set_new(st->counters, chat_id, *out);
	}
	sqlite3_reset(s);
	return sqlite_step_status(st, s, rc);
}

static uint64_t
bump(json_t *counters, size_t i)
{
	json_t *v = json_array_get(counters, i);
	json_integer_set(v, json_integer_value(v) + 1);
	return (uint64_t)json_integer_value(v);
}

/*
 * Takes the chat's next event id (and, with seq, its next message seq) inside
 * the caller's transaction: STORE_NOT_FOUND when there is no such chat. A
 * cached Chat follows its last_event_id (a rollback empties the cache).
 */
static enum store_status
next_ids(struct sqlite_store *st, const char *chat_id, uint64_t *seq, uint64_t *event_id)
{
	json_t *c;
	enum store_status rc = counters(st, chat_id, &c);
	if (rc != STORE_OK)
		return rc;
	if (seq != NULL)
		*seq = bump(c, 0);
	*event_id = bump(c, 1);
	sqlite_cached_chat_event(st, chat_id, *event_id);
	return STORE_OK;
}

/* SQLite integers are signed: larger positions mean "after everything". */
static sqlite3_int64
position(uint64_t after)
{
	return after > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)after;
}

/* ---------- rows to JSON ---------- */

/* A bot of a chat, with whether it is muted there (taken out by chat_bots()). */
static json_t *
row_bot_ref(struct sqlite_store *st, sqlite3_stmt *s)
{
	(void)st;
	return json_pack("{s:o, s:o, s:b}", "id", sqlite_column_json(s, 0),
	    "name", sqlite_column_json(s, 1), "muted", sqlite3_column_int(s, 2));
}

/* The chat's "bots" (in order) and "muted" (their ids). */
static void
chat_bots(struct sqlite_store *st, json_t *chat)
{
	sqlite3_stmt *b = sqlite_stmt(st, SQL_CHAT_BOTS);
	if (b != NULL)
		sqlite_bind_text(b, 1, json_string_value(json_object_get(chat, "id")));
	json_t *bots = sqlite_collect(st, b, row_bot_ref);
	json_t *muted = json_array();
	size_t i;
	json_t *bot;
	json_array_foreach(bots, i, bot) {
		if (json_is_true(json_object_get(bot, "muted")))
			json_array_append(muted, json_object_get(bot, "id"));
		json_object_del(bot, "muted");
	}
	json_object_set_new(chat, "bots", bots ? bots : json_array());
	json_object_set_new(chat, "muted", muted);
}

static json_t *
row_chat(struct sqlite_store *st, sqlite3_stmt *s)
{
	json_t *chat = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I}",
	    "id", sqlite_column_json(s, 0), "title", sqlite_column_json(s, 1),
	    "policy", sqlite_column_json(s, 2), "created_at", sqlite_column_json(s, 3),
	    "last_event_id", (json_int_t)sqlite3_column_int64(s, 4),
	    "auto_rounds", (json_int_t)sqlite3_column_int64(s, 5));
	chat_bots(st, chat);
	return chat;
}

static const char *
column_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

json_t *
sqlite_row_message(struct sqlite_store *st, sqlite3_stmt *s)
{
	struct message_in m = { .kind = column_text(s, 2), .author = column_text(s, 3),
	    .bot_id = column_text(s, 4), .body = column_text(s, 5), .state = column_text(s, 6),
	    .user_id = column_text(s, 9) };
	struct message_more more = { .error = column_text(s, 7), .created_at = column_text(s, 8),
	    .edited_at = column_text(s, 10), .alternative = sqlite3_column_int64(s, 11),
	    .alternatives = sqlite3_column_int64(s, 12) };
	return shape_message(st->accounts, column_text(s, 0), (uint64_t)sqlite3_column_int64(s, 1),
	    &m, &more);
}

static json_t *
row_event(struct sqlite_store *st, sqlite3_stmt *s)
{
	(void)st;
	json_t *data = json_loads((const char *)sqlite3_column_text(s, 2), 0, NULL);
	return json_pack("{s:I, s:s, s:o}", "id", (json_int_t)sqlite3_column_int64(s, 0),
	    "name", (const char *)sqlite3_column_text(s, 1), "data", data ? data : json_null());
}

/* A final message as its "message" event (MSG_READ, then event_id). */
static json_t *
row_final_event(struct sqlite_store *st, sqlite3_stmt *s)
{
	return json_pack("{s:I, s:s, s:o}", "id", (json_int_t)sqlite3_column_int64(s, 13),
	    "name", "message", "data", sqlite_row_message(st, s));
}

/* ---------- the event log ---------- */

/* Event id of the chat was taken: each hundredth drops the log's old events. */
static int
log_prune(struct sqlite_store *st, const char *chat_id, uint64_t id)
{
	uint64_t through = event_log_prune_at(id);
	if (through == 0)
		return 0;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_EVENT_PRUNE);
	if (s == NULL)
		return -1;
	sqlite_bind_text(s, 1, chat_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)through);
	return sqlite_exec(st, s);
}

/* Inserts event id of the chat inside the caller's transaction; prunes old ones. */
static int
event_insert(struct sqlite_store *st, const char *chat_id, uint64_t id, const char *name, json_t *data)
{
	char *text = json_dumps(data, JSON_WIRE);
	sqlite3_stmt *s = sqlite_stmt(st, SQL_EVENT_INSERT);
	int rc = -1;
	if (s != NULL) {
		sqlite_bind_text(s, 1, chat_id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)id);
		sqlite_bind_text(s, 3, name);
		sqlite_bind_text(s, 4, text);
		rc = sqlite_exec(st, s);
	}
	free(text);
	return rc == 0 ? log_prune(st, chat_id, id) : rc;
}

uint64_t
sqlite_log_event(struct sqlite_store *st, const char *chat_id, const char *name, json_t *data)
{
	uint64_t id;
	if (next_ids(st, chat_id, NULL, &id) != STORE_OK ||
	    event_insert(st, chat_id, id, name, data) != 0)
		return 0;
	return id;
}

enum store_status
sqlite_event_append(struct sqlite_store *st, const char *chat_id, const char *name, json_t *data,
    uint64_t *event_id)
{
	if (sqlite_begin(st) != 0)
		return STORE_ERROR;
	enum store_status rc = next_ids(st, chat_id, NULL, event_id);
	if (rc != STORE_OK)
		return sqlite_fail(st, rc);
	if (event_insert(st, chat_id, *event_id, name, data) != 0)
		return sqlite_fail(st, STORE_ERROR);
	return sqlite_commit(st) == 0 ? STORE_OK : sqlite_fail(st, STORE_ERROR);
}

/* The log's events after `after`, and those of final messages, in id order. */
enum store_status
sqlite_events_after(struct sqlite_store *st, const char *chat_id, uint64_t after, json_t **events)
{
	json_t *c;
	enum store_status rc = counters(st, chat_id, &c);
	if (rc == STORE_ERROR)
		return rc;
	uint64_t newest = rc == STORE_OK ? (uint64_t)json_integer_value(json_array_get(c, 1)) : 0;
	if (after < event_log_pruned_through(newest))
		return STORE_GONE;
	if (after >= newest) {
		*events = json_array();
		return STORE_OK;
	}
	sqlite3_stmt *s = sqlite_stmt(st, SQL_EVENT_AFTER);
	if (s == NULL)
		return STORE_ERROR;
	sqlite_bind_text(s, 1, chat_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)after);
	json_t *logged = sqlite_collect(st, s, row_event);
	/* each message newer than `after` took one of the newest - after ids */
	if ((s = sqlite_stmt(st, SQL_EVENT_FINAL_AFTER)) != NULL) {
		sqlite_bind_text(s, 1, chat_id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)after);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)(newest - after));
	}
	json_t *final = sqlite_collect(st, s, row_final_event);
	if (logged == NULL || final == NULL) {
		json_decref(logged);
		json_decref(final);
		return STORE_ERROR;
	}
	*events = event_log_merge(logged, final);
	return STORE_OK;
}

/* ---------- chats ---------- */

json_t *
sqlite_chat_list(struct sqlite_store *st, const char *before, unsigned limit, const char *member)
{
	sqlite3_stmt *s = sqlite_stmt(st, member ? SQL_CHAT_LIST_MEMBER : SQL_CHAT_LIST);
	if (s != NULL) {
		sqlite_bind_text(s, 1, before);
		sqlite3_bind_int(s, 2, (int)limit);
		if (member != NULL)
			sqlite_bind_text(s, 3, member);
	}
	return sqlite_collect(st, s, row_chat);
}

static json_t *
row_activity(struct sqlite_store *st, sqlite3_stmt *s)
{
	(void)st;
	struct preview_row last = { .seq = sqlite3_column_int64(s, 2), .kind = column_text(s, 3),
	    .author = column_text(s, 4), .body = column_text(s, 5),
	    .created_at = column_text(s, 6), .user_id = column_text(s, 7) };
	return shape_list_item(column_text(s, 0), column_text(s, 1),
	    sqlite3_column_type(s, 2) != SQLITE_NULL ? &last : NULL,
	    sqlite3_column_int64(s, 8), sqlite3_column_int64(s, 9));
}

json_t *
sqlite_chat_activity(struct sqlite_store *st, const char *member, const char *reader, unsigned offset,
    unsigned limit)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_CHAT_ACTIVITY);
	if (s != NULL) {
		sqlite3_bind_int(s, 1, (int)offset);
		sqlite3_bind_int(s, 2, (int)limit);
		sqlite_bind_text(s, 3, member);
		sqlite_bind_text(s, 4, member ? member : reader);
	}
	return sqlite_collect(st, s, row_activity);
}

json_t *
sqlite_chat_item(struct sqlite_store *st, const char *chat_id)
{
	json_t *item = NULL, *members;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_CHAT_ITEM);
	if (s != NULL)
		sqlite_bind_text(s, 1, chat_id);
	if (sqlite_one(st, s, row_activity, &item) != STORE_OK)
		return NULL;
	if ((members = sqlite_member_ids(st, chat_id)) == NULL) {
		json_decref(item);
		return NULL;
	}
	json_object_set_new(item, "members", members);
	return item;
}

/*
 * Chats are read on every post and page view, so the last ones read are kept
 * (their last_event_id follows what is committed); changing a chat or a bot, and
 * any rolled-back transaction, drops what may be stale. Callers get a copy
 * of the top level (they add keys to it), whose values they do not change.
 */
enum store_status
sqlite_chat_get(struct sqlite_store *st, const char *id, json_t **chat)
{
	json_t *cached = json_object_get(st->chats, id);
	if (cached != NULL) {
		*chat = json_copy(cached);
		return STORE_OK;
	}
	sqlite3_stmt *s = sqlite_stmt(st, SQL_CHAT_GET);
	if (s != NULL)
		sqlite_bind_text(s, 1, id);
	enum store_status rc = sqlite_one(st, s, row_chat, chat);
	if (rc == STORE_OK) {
		if (json_object_size(st->chats) >= LIMIT_CHATS_CACHED)
			json_object_clear(st->chats);
		json_object_set_new(st->chats, id, json_copy(*chat));
	}
	return rc;
}

/* Binds ?n to an array of ids, as JSON (for json_each). */
static char *
bind_ids(sqlite3_stmt *s, int n, json_t *ids)
{
	char *text = json_dumps(ids, JSON_WIRE);
	sqlite_bind_text(s, n, text);
	return text;
}

/*
 * The chat's bots become bot_ids, in order, inside the caller's transaction:
 * those it keeps stay muted or not.
 */
static int
set_bots(struct sqlite_store *st, const char *chat_id, json_t *bot_ids)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_CHAT_BOTS_KEEP);
	if (s == NULL)
		return -1;
	sqlite_bind_text(s, 1, chat_id);
	char *ids = bind_ids(s, 2, bot_ids);
	int rc = sqlite_exec(st, s);
	free(ids);
	if (rc != 0)
		return -1;
	size_t i;
	json_t *id;
	json_array_foreach(bot_ids, i, id) {
		if ((s = sqlite_stmt(st, SQL_CHAT_BOT_ADD)) == NULL)
			return -1;
		sqlite_bind_text(s, 1, chat_id);
		sqlite_bind_text(s, 2, json_string_value(id));
		sqlite3_bind_int64(s, 3, (sqlite3_int64)i);
		if (sqlite_exec(st, s) != 0)
			return -1;
	}
	return 0;
}

/* A creator that is not a user: STORE_NOT_FOUND, and no chat. */
enum store_status
sqlite_chat_create(struct sqlite_store *st, const char *title, const char *policy, json_t *bot_ids,
    const char *creator, json_t **chat)
{
	char id[ID_LEN + 1], now[21];
	id_generate(id);
	time_now_rfc3339(now);

	if (sqlite_begin(st) != 0)
		return STORE_ERROR;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_CHAT_INSERT);
	if (s == NULL)
		return sqlite_fail(st, STORE_ERROR);
	sqlite_bind_text(s, 1, id);
	sqlite_bind_text(s, 2, title);
	sqlite_bind_text(s, 3, policy);
	sqlite_bind_text(s, 4, now);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)++st->activity_clock);
	if (sqlite_exec(st, s) != 0 || (bot_ids && set_bots(st, id, bot_ids) != 0))
		return sqlite_fail(st, STORE_ERROR);
	enum store_status rc = creator ? sqlite_member_insert(st, id, creator) : STORE_OK;
	if (rc != STORE_OK || sqlite_commit(st) != 0)
		return sqlite_fail(st, rc != STORE_OK ? rc : STORE_ERROR);
	return sqlite_chat_get(st, id, chat);
}

/* Which of the chat's bots are muted, inside the caller's transaction. */
static int
set_muted(struct sqlite_store *st, const char *chat_id, json_t *muted)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_CHAT_MUTE);
	if (s == NULL)
		return -1;
	sqlite_bind_text(s, 1, chat_id);
	char *ids = bind_ids(s, 2, muted);
	int rc = sqlite_exec(st, s);
	free(ids);
	return rc;
}

enum store_status
sqlite_chat_update(struct sqlite_store *st, const char *id, const struct chat_change *change,
    json_t **chat, uint64_t *event_id)
{
	json_object_del(st->chats, id);
	if (sqlite_begin(st) != 0)
		return STORE_ERROR;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_CHAT_UPDATE);
	if (s == NULL)
		return sqlite_fail(st, STORE_ERROR);
	sqlite_bind_text(s, 1, id);
	sqlite_bind_text(s, 2, change->title);
	sqlite_bind_text(s, 3, change->policy);
	if (change->auto_rounds >= 0)
		sqlite3_bind_int(s, 4, change->auto_rounds);
	if (sqlite_exec(st, s) != 0)
		return sqlite_fail(st, STORE_ERROR);
	if (sqlite3_changes(st->db) == 0)
		return sqlite_fail(st, STORE_NOT_FOUND);
	if ((change->bot_ids != NULL && set_bots(st, id, change->bot_ids) != 0) ||
	    (change->muted != NULL && set_muted(st, id, change->muted) != 0))
		return sqlite_fail(st, STORE_ERROR);

	/* the event's Chat carries the id it is published under */
	if (sqlite_chat_get(st, id, chat) != STORE_OK ||
	    next_ids(st, id, NULL, event_id) != STORE_OK) {
		json_decref(*chat);
		*chat = NULL;
		return sqlite_fail(st, STORE_ERROR);
	}
	json_object_set_new(*chat, "last_event_id", json_integer((json_int_t)*event_id));
	if (event_insert(st, id, *event_id, "chat", *chat) != 0 || sqlite_commit(st) != 0) {
		json_decref(*chat);
		*chat = NULL;
		return sqlite_fail(st, STORE_ERROR);
	}
	return STORE_OK;
}

enum store_status
sqlite_chat_delete(struct sqlite_store *st, const char *id)
{
	json_object_del(st->members, id);
	json_object_del(st->chats, id);
	json_object_del(st->counters, id);
	return sqlite_delete(st, SQL_CHAT_DELETE, id);
}

/* ---------- messages ---------- */

enum store_status
sqlite_messages_after(struct sqlite_store *st, const char *chat_id, uint64_t after,
    unsigned limit, json_t **messages)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MSG_AFTER);
	if (s == NULL)
		return STORE_ERROR;
	sqlite_bind_text(s, 1, chat_id);
	sqlite3_bind_int64(s, 2, position(after));
	sqlite3_bind_int(s, 3, (int)limit);
	*messages = sqlite_collect(st, s, sqlite_row_message);
	return *messages ? STORE_OK : STORE_ERROR;
}

enum store_status
sqlite_messages_before(struct sqlite_store *st, const char *chat_id, uint64_t before, unsigned n,
    json_t **messages)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MSG_LAST);
	if (s == NULL)
		return STORE_ERROR;
	sqlite_bind_text(s, 1, chat_id);
	sqlite3_bind_int(s, 2, (int)n);
	sqlite3_bind_int64(s, 3, position(before));
	*messages = sqlite_collect(st, s, sqlite_row_message);
	return *messages ? STORE_OK : STORE_ERROR;
}

enum store_status
sqlite_message_save_text(struct sqlite_store *st, const char *chat_id, uint64_t seq, const char *body)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MSG_SAVE_TEXT);
	if (s == NULL)
		return STORE_ERROR;
	sqlite_bind_text(s, 1, chat_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
	sqlite_bind_text(s, 3, body);
	return sqlite_exec(st, s) == 0 ? STORE_OK : STORE_ERROR;
}

json_t *
sqlite_messages_streaming(struct sqlite_store *st)
{
	return sqlite_collect(st, sqlite_stmt(st, SQL_MSG_STREAMING), sqlite_row_message);
}

/* The whole transaction of store_messages_add failed: none was stored. */
static enum store_status
messages_failed(struct sqlite_store *st, struct message_added *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(out[i].message);
		out[i] = (struct message_added){ .status = STORE_ERROR };
	}
	return sqlite_fail(st, STORE_ERROR);
}

/* A message moves its chat to the top of the chat lists. */
static int
chat_active(struct sqlite_store *st, const char *chat_id)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_CHAT_ACTIVE);
	if (s == NULL)
		return -1;
	sqlite_bind_text(s, 1, chat_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)++st->activity_clock);
	return sqlite_exec(st, s);
}

/* One's own message is read: the poster's read mark moves up to it. */
static enum store_status
poster_read(struct sqlite_store *st, const char *chat_id, const char *user_id, uint64_t seq)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MEMBER_READ_OWN);
	if (s == NULL)
		return STORE_ERROR;
	sqlite_bind_text(s, 1, chat_id);
	sqlite_bind_text(s, 2, user_id);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)seq);
	return sqlite_exec(st, s) == 0 ? STORE_OK : STORE_ERROR;
}

/*
 * Inserts a message and its event inside the caller's transaction: a final
 * one keeps its event id in its row, any other has its event logged.
 */
static enum store_status
message_insert(struct sqlite_store *st, const struct message_in *in, json_t **message,
    uint64_t *event_id)
{
	const char *chat_id = in->chat_id;
	char now[21];
	time_now_rfc3339(now);
	uint64_t seq;
	enum store_status rc = next_ids(st, chat_id, &seq, event_id);
	if (rc != STORE_OK)
		return rc;
	bool final = strcmp(in->state, "complete") == 0;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MSG_INSERT);
	if (s == NULL)
		return STORE_ERROR;
	sqlite_bind_text(s, 1, chat_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
	sqlite_bind_text(s, 3, in->kind);
	sqlite_bind_text(s, 4, in->author);
	sqlite_bind_text(s, 5, in->bot_id);
	sqlite_bind_text(s, 6, in->body);
	sqlite_bind_text(s, 7, in->state);
	sqlite_bind_text(s, 8, now);
	sqlite_bind_text(s, 9, in->user_id);
	if (final)
		sqlite3_bind_int64(s, 10, (sqlite3_int64)*event_id);
	else
		sqlite3_bind_null(s, 10);
	if (sqlite_exec(st, s) != 0)
		return STORE_ERROR;

	*message = shape_message(st->accounts, chat_id, seq, in,
	    &(struct message_more){ .created_at = now, .alternatives = 1 });
	if ((final ? log_prune(st, chat_id, *event_id) :
	    event_insert(st, chat_id, *event_id, "message", *message)) != 0) {
		json_decref(*message);
		*message = NULL;
		return STORE_ERROR;
	}
	if (chat_active(st, chat_id) != 0)
		return STORE_ERROR;
	return in->user_id != NULL ? poster_read(st, chat_id, in->user_id, seq) : STORE_OK;
}

enum store_status
sqlite_messages_add(struct sqlite_store *st, const struct message_in *in, size_t n,
    struct message_added *out)
{
	memset(out, 0, n * sizeof *out);
	if (sqlite_begin(st) != 0)
		return messages_failed(st, out, n);
	for (size_t i = 0; i < n; i++) {
		out[i].status = message_insert(st, &in[i], &out[i].message, &out[i].event_id);
		if (out[i].status == STORE_ERROR)
			return messages_failed(st, out, n);
		if (out[i].status == STORE_NOT_FOUND)
			json_object_del(st->chats, in[i].chat_id);
	}
	if (sqlite_commit(st) != 0)
		return messages_failed(st, out, n);
	return STORE_OK;
}

enum store_status
sqlite_message_read(struct sqlite_store *st, const char *chat_id, uint64_t seq, json_t **message)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MSG_GET);
	if (s != NULL) {
		sqlite_bind_text(s, 1, chat_id);
		sqlite3_bind_int64(s, 2, position(seq));
	}
	return sqlite_one(st, s, sqlite_row_message, message);
}

enum store_status
sqlite_message_finish(struct sqlite_store *st, const char *chat_id, uint64_t seq, const char *body,
    const char *state, const char *error, json_t **message, uint64_t *event_id)
{
	if (sqlite_begin(st) != 0)
		return STORE_ERROR;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MSG_FINISH);
	if (s == NULL)
		return sqlite_fail(st, STORE_ERROR);
	sqlite_bind_text(s, 1, chat_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
	sqlite_bind_text(s, 3, body);
	sqlite_bind_text(s, 4, state);
	sqlite_bind_text(s, 5, error);
	if (sqlite_exec(st, s) != 0)
		return sqlite_fail(st, STORE_ERROR);
	if (sqlite3_changes(st->db) == 0)
		return sqlite_fail(st, STORE_NOT_FOUND);
	return sqlite_message_changed(st, chat_id, seq, message, event_id);
}
