/*
 * postgres_chats.c - chats, messages and the event log on PostgreSQL
 * (store.h). Each write is one transaction, and takes its ids from the
 * chat's own row inside it (UPDATE chats ... RETURNING): gap-free and in
 * order per chat, with no lock wider than that row, and a rollback gives
 * them back. Nothing is kept in memory between calls (several servers may
 * share the database). The event log is SQLite's (sqlite_chats.c): the last
 * LIMIT_EVENTS_KEPT events of each chat, and a message stored complete is
 * its own "message" event (its row keeps the event's id).
 */
#include "store/postgres.h"
#include "store/event_log.h"
#include "store/shapes.h"
#include "util/ids.h"
#include "util/json_wire.h"
#include "util/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* Statement id on the one chat: $1 the chat's id. */
static struct pg_params
on_chat(const char *chat_id)
{
	struct pg_params p = { .n = 0 };
	pg_text(&p, chat_id);
	return p;
}

/*
 * Takes the chat's next event id inside the caller's transaction:
 * STORE_NOT_FOUND when there is no such chat.
 */
static enum store_status
next_event_id(struct postgres_store *st, const char *chat_id, uint64_t *event_id)
{
	struct pg_params p = on_chat(chat_id);
	PGresult *r = postgres_run(st, PG_CHAT_NEXT_EVENT, &p);
	if (r == NULL)
		return STORE_ERROR;
	enum store_status rc = PQntuples(r) == 1 ? STORE_OK : STORE_NOT_FOUND;
	if (rc == STORE_OK)
		*event_id = (uint64_t)pg_col_int(r, 0, 0);
	PQclear(r);
	return rc;
}

/* ---------- rows to JSON ---------- */

json_t *
postgres_row_message(struct postgres_store *st, PGresult *r, int i)
{
	struct message_in m = { .kind = pg_col_text(r, i, 2), .author = pg_col_text(r, i, 3),
	    .bot_id = pg_col_text(r, i, 4), .body = pg_col_text(r, i, 5),
	    .state = pg_col_text(r, i, 6), .user_id = pg_col_text(r, i, 9) };
	struct message_more more = { .error = pg_col_text(r, i, 7),
	    .created_at = pg_col_text(r, i, 8), .edited_at = pg_col_text(r, i, 10),
	    .alternative = pg_col_int(r, i, 11), .alternatives = pg_col_int(r, i, 12) };
	return shape_message(st->accounts, pg_col_text(r, i, 0), (uint64_t)pg_col_int(r, i, 1),
	    &m, &more);
}

/* The chat's "bots" (in order) and "muted" (their ids), from [[id, name, muted], ...]. */
static void
chat_bots(json_t *chat, const char *text)
{
	json_t *rows = json_loads(text, 0, NULL), *bots = json_array(), *muted = json_array();
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		json_array_append_new(bots, json_pack("{s:O, s:O}", "id", json_array_get(row, 0),
		    "name", json_array_get(row, 1)));
		if (json_integer_value(json_array_get(row, 2)) != 0)
			json_array_append(muted, json_array_get(row, 0));
	}
	json_decref(rows);
	json_object_set_new(chat, "bots", bots);
	json_object_set_new(chat, "muted", muted);
}

static json_t *
row_chat(struct postgres_store *st, PGresult *r, int i)
{
	(void)st;
	json_t *chat = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I}",
	    "id", pg_col_json(r, i, 0), "title", pg_col_json(r, i, 1),
	    "policy", pg_col_json(r, i, 2), "created_at", pg_col_json(r, i, 3),
	    "last_event_id", (json_int_t)pg_col_int(r, i, 4),
	    "auto_rounds", (json_int_t)pg_col_int(r, i, 5));
	chat_bots(chat, pg_col_text(r, i, 6));
	return chat;
}

static json_t *
row_event(struct postgres_store *st, PGresult *r, int i)
{
	(void)st;
	json_t *data = json_loads(pg_col_text(r, i, 2), 0, NULL);
	return json_pack("{s:I, s:s, s:o}", "id", (json_int_t)pg_col_int(r, i, 0),
	    "name", pg_col_text(r, i, 1), "data", data ? data : json_null());
}

/* A final message as its "message" event (MSG_READ, then event_id). */
static json_t *
row_final_event(struct postgres_store *st, PGresult *r, int i)
{
	return json_pack("{s:I, s:s, s:o}", "id", (json_int_t)pg_col_int(r, i, 13),
	    "name", "message", "data", postgres_row_message(st, r, i));
}

static json_t *
row_activity(struct postgres_store *st, PGresult *r, int i)
{
	(void)st;
	struct preview_row last = { .seq = pg_col_int(r, i, 2), .kind = pg_col_text(r, i, 3),
	    .author = pg_col_text(r, i, 4), .body = pg_col_text(r, i, 5),
	    .created_at = pg_col_text(r, i, 6), .user_id = pg_col_text(r, i, 7) };
	return shape_list_item(pg_col_text(r, i, 0), pg_col_text(r, i, 1),
	    pg_col_text(r, i, 2) != NULL ? &last : NULL, pg_col_int(r, i, 8), pg_col_int(r, i, 9));
}

/* A chat list's item with its "members" (PG_CHAT_ITEM). */
static json_t *
row_item(struct postgres_store *st, PGresult *r, int i)
{
	json_t *item = row_activity(st, r, i);
	json_t *members = json_loads(pg_col_text(r, i, 10), 0, NULL);
	json_object_set_new(item, "members", members ? members : json_array());
	return item;
}

/* ---------- the event log ---------- */

/* Event id of the chat was taken: each hundredth drops the log's old events. */
static int
log_prune(struct postgres_store *st, const char *chat_id, uint64_t id)
{
	uint64_t through = event_log_prune_at(id);
	if (through == 0)
		return 0;
	struct pg_params p = on_chat(chat_id);
	pg_position(&p, through);
	return postgres_exec(st, PG_EVENT_PRUNE, &p) < 0 ? -1 : 0;
}

/* Inserts event id of the chat inside the caller's transaction; prunes old ones. */
static int
event_insert(struct postgres_store *st, const char *chat_id, uint64_t id, const char *name,
    json_t *data)
{
	char *text = json_dumps(data, JSON_WIRE);
	struct pg_params p = on_chat(chat_id);
	pg_position(&p, id);
	pg_text(&p, name);
	pg_text(&p, text);
	long rc = postgres_exec(st, PG_EVENT_INSERT, &p);
	free(text);
	return rc < 0 ? -1 : log_prune(st, chat_id, id);
}

uint64_t
postgres_log_event(struct postgres_store *st, const char *chat_id, const char *name,
    json_t *data)
{
	uint64_t id;
	if (next_event_id(st, chat_id, &id) != STORE_OK ||
	    event_insert(st, chat_id, id, name, data) != 0)
		return 0;
	return id;
}

enum store_status
postgres_event_append(struct postgres_store *st, const char *chat_id, const char *name,
    json_t *data, uint64_t *event_id)
{
	if (postgres_begin(st) != 0)
		return STORE_ERROR;
	enum store_status rc = next_event_id(st, chat_id, event_id);
	if (rc != STORE_OK)
		return postgres_fail(st, rc);
	if (event_insert(st, chat_id, *event_id, name, data) != 0)
		return postgres_fail(st, STORE_ERROR);
	return postgres_commit(st) == 0 ? STORE_OK : postgres_fail(st, STORE_ERROR);
}

/* The chat's newest event id (0: no such chat), or -1 on failure. */
static int64_t
newest_event(struct postgres_store *st, const char *chat_id)
{
	struct pg_params p = on_chat(chat_id);
	PGresult *r = postgres_run(st, PG_CHAT_COUNTERS, &p);
	if (r == NULL)
		return -1;
	int64_t newest = PQntuples(r) == 1 ? pg_col_int(r, 0, 1) : 0;
	PQclear(r);
	return newest;
}

/* The log's events after `after`, and those of final messages, in id order. */
enum store_status
postgres_events_after(struct postgres_store *st, const char *chat_id, uint64_t after,
    json_t **events)
{
	int64_t read = newest_event(st, chat_id);
	if (read < 0)
		return STORE_ERROR;
	uint64_t newest = (uint64_t)read;
	if (after < event_log_pruned_through(newest))
		return STORE_GONE;
	if (after >= newest) {
		*events = json_array();
		return STORE_OK;
	}
	struct pg_params p = on_chat(chat_id);
	pg_position(&p, after);
	json_t *logged = postgres_collect(st, PG_EVENT_AFTER, &p, row_event);
	/* each message newer than `after` took one of the newest - after ids */
	pg_position(&p, newest - after);
	json_t *final = postgres_collect(st, PG_EVENT_FINAL_AFTER, &p, row_final_event);
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
postgres_chat_list(struct postgres_store *st, const char *before, unsigned limit,
    const char *member)
{
	struct pg_params p = { .n = 0 };
	pg_text(&p, before);
	pg_int(&p, limit);
	if (member != NULL)
		pg_text(&p, member);
	return postgres_collect(st, member ? PG_CHAT_LIST_MEMBER : PG_CHAT_LIST, &p, row_chat);
}

json_t *
postgres_chat_activity(struct postgres_store *st, const char *member, const char *reader,
    unsigned offset, unsigned limit)
{
	struct pg_params p = { .n = 0 };
	pg_int(&p, offset);
	pg_int(&p, limit);
	pg_text(&p, member);
	pg_text(&p, member ? member : reader);
	return postgres_collect(st, PG_CHAT_ACTIVITY, &p, row_activity);
}

json_t *
postgres_chat_item(struct postgres_store *st, const char *chat_id)
{
	json_t *item = NULL;
	struct pg_params p = on_chat(chat_id);
	return postgres_one(st, PG_CHAT_ITEM, &p, row_item, &item) == STORE_OK ? item : NULL;
}

enum store_status
postgres_chat_get(struct postgres_store *st, const char *id, json_t **chat)
{
	struct pg_params p = on_chat(id);
	return postgres_one(st, PG_CHAT_GET, &p, row_chat, chat);
}

/*
 * The chat's bots become bot_ids, in order, inside the caller's transaction:
 * those it keeps stay muted or not.
 */
static int
set_bots(struct postgres_store *st, const char *chat_id, json_t *bot_ids)
{
	char *ids = json_dumps(bot_ids, JSON_WIRE);
	struct pg_params p = on_chat(chat_id);
	pg_text(&p, ids);
	long rc = postgres_exec(st, PG_CHAT_BOTS_KEEP, &p);
	free(ids);
	size_t i;
	json_t *id;
	json_array_foreach(bot_ids, i, id) {
		if (rc < 0)
			break;
		p = on_chat(chat_id);
		pg_text(&p, json_string_value(id));
		pg_int(&p, (int64_t)i);
		rc = postgres_exec(st, PG_CHAT_BOT_ADD, &p);
	}
	return rc < 0 ? -1 : 0;
}

/* Which of the chat's bots are muted, inside the caller's transaction. */
static int
set_muted(struct postgres_store *st, const char *chat_id, json_t *muted)
{
	char *ids = json_dumps(muted, JSON_WIRE);
	struct pg_params p = on_chat(chat_id);
	pg_text(&p, ids);
	long rc = postgres_exec(st, PG_CHAT_MUTE, &p);
	free(ids);
	return rc < 0 ? -1 : 0;
}

/* A creator that is not a user: STORE_NOT_FOUND, and no chat. */
enum store_status
postgres_chat_create(struct postgres_store *st, const char *title, const char *policy,
    json_t *bot_ids, const char *creator, json_t **chat)
{
	char id[ID_LEN + 1], now[21];
	id_generate(id);
	time_now_rfc3339(now);

	if (postgres_begin(st) != 0)
		return STORE_ERROR;
	struct pg_params p = on_chat(id);
	pg_text(&p, title);
	pg_text(&p, policy);
	pg_text(&p, now);
	if (postgres_exec(st, PG_CHAT_INSERT, &p) < 0 ||
	    (bot_ids && set_bots(st, id, bot_ids) != 0))
		return postgres_fail(st, postgres_failure(st));
	enum store_status rc = creator ? postgres_member_insert(st, id, creator) : STORE_OK;
	if (rc != STORE_OK || postgres_commit(st) != 0)
		return postgres_fail(st, rc != STORE_OK ? rc : STORE_ERROR);
	return postgres_chat_get(st, id, chat);
}

/* The chat's row changes; STORE_NOT_FOUND when there is none. */
static enum store_status
chat_row_update(struct postgres_store *st, const char *id, const struct chat_change *change)
{
	struct pg_params p = on_chat(id);
	pg_text(&p, change->title);
	pg_text(&p, change->policy);
	if (change->auto_rounds >= 0)
		pg_int(&p, change->auto_rounds);
	else
		pg_text(&p, NULL);
	long changed = postgres_exec(st, PG_CHAT_UPDATE, &p);
	if (changed < 0)
		return STORE_ERROR;
	if (changed == 0)
		return STORE_NOT_FOUND;
	if ((change->bot_ids != NULL && set_bots(st, id, change->bot_ids) != 0) ||
	    (change->muted != NULL && set_muted(st, id, change->muted) != 0))
		return STORE_ERROR;
	return STORE_OK;
}

enum store_status
postgres_chat_update(struct postgres_store *st, const char *id,
    const struct chat_change *change, json_t **chat, uint64_t *event_id)
{
	*chat = NULL;
	if (postgres_begin(st) != 0)
		return STORE_ERROR;
	enum store_status rc = chat_row_update(st, id, change);
	/* the event's Chat carries the id it is published under */
	if (rc == STORE_OK && (next_event_id(st, id, event_id) != STORE_OK ||
	    postgres_chat_get(st, id, chat) != STORE_OK))
		rc = STORE_ERROR;
	if (rc == STORE_OK) {
		json_object_set_new(*chat, "last_event_id", json_integer((json_int_t)*event_id));
		if (event_insert(st, id, *event_id, "chat", *chat) != 0 ||
		    postgres_commit(st) != 0)
			rc = STORE_ERROR;
	}
	if (rc != STORE_OK) {
		json_decref(*chat);
		*chat = NULL;
		return postgres_fail(st, rc);
	}
	return STORE_OK;
}

/*
 * The chat's rows are locked in the order every other writer takes them:
 * its lease (a turn's fenced write checks it first), its messages (a
 * message's change takes the chat's next event id after; deleted here, each
 * row written once), then the chat row, whose deletion takes the rest with
 * it. Deleting the chat row first would lock them the other way round: a
 * deletion and a reply being written on another node would wait for each
 * other until PostgreSQL failed one.
 */
enum store_status
postgres_chat_delete(struct postgres_store *st, const char *id)
{
	struct pg_params p = on_chat(id);
	struct pg_batch b = { .n = 3,
	    .id = { PG_CHAT_LOCK_LEASE, PG_CHAT_DELETE_MESSAGES, PG_CHAT_DELETE },
	    .params = { &p, &p, &p } };
	if (postgres_run_batch(st, &b) != 0)
		return STORE_ERROR;
	long changed = strtol(PQcmdTuples(b.result[2]), NULL, 10);
	for (size_t i = 0; i < b.n; i++)
		PQclear(b.result[i]);
	return changed == 0 ? STORE_NOT_FOUND : STORE_OK;
}

/* ---------- messages ---------- */

enum store_status
postgres_messages_after(struct postgres_store *st, const char *chat_id, uint64_t after,
    unsigned limit, json_t **messages)
{
	struct pg_params p = on_chat(chat_id);
	pg_position(&p, after);
	pg_int(&p, limit);
	*messages = postgres_collect(st, PG_MSG_AFTER, &p, postgres_row_message);
	return *messages ? STORE_OK : STORE_ERROR;
}

enum store_status
postgres_messages_before(struct postgres_store *st, const char *chat_id, uint64_t before,
    unsigned n, json_t **messages)
{
	struct pg_params p = on_chat(chat_id);
	pg_int(&p, n);
	pg_position(&p, before);
	*messages = postgres_collect(st, PG_MSG_LAST, &p, postgres_row_message);
	return *messages ? STORE_OK : STORE_ERROR;
}

enum store_status
postgres_message_save_text(struct postgres_store *st, const char *chat_id, uint64_t seq,
    const char *body)
{
	struct pg_params p = on_chat(chat_id);
	pg_position(&p, seq);
	pg_text(&p, body);
	if (!st->fencing)
		return postgres_exec(st, PG_MSG_SAVE_TEXT, &p) < 0 ? STORE_ERROR : STORE_OK;
	if (postgres_begin(st) != 0)		/* checks the lease */
		return STORE_ERROR;
	if (postgres_exec(st, PG_MSG_SAVE_TEXT, &p) < 0)
		return postgres_fail(st, STORE_ERROR);
	return postgres_commit(st) == 0 ? STORE_OK : postgres_fail(st, STORE_ERROR);
}

json_t *
postgres_messages_streaming(struct postgres_store *st)
{
	return postgres_collect(st, PG_MSG_STREAMING, NULL, postgres_row_message);
}

json_t *
postgres_messages_unleased(struct postgres_store *st)
{
	return postgres_collect(st, PG_MSG_UNLEASED, NULL, postgres_row_message);
}

/*
 * The whole transaction of postgres_messages_add failed: none was stored,
 * or (STORE_UNKNOWN) the connection broke after its commit went out.
 */
static enum store_status
messages_failed_as(struct postgres_store *st, struct message_added *out, size_t n,
    enum store_status status)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(out[i].message);
		out[i] = (struct message_added){ .status = status };
	}
	return postgres_fail(st, status);
}

static enum store_status
messages_failed(struct postgres_store *st, struct message_added *out, size_t n)
{
	return messages_failed_as(st, out, n, STORE_ERROR);
}

/* One's own message is read: the poster's read mark moves up to it. */
static enum store_status
poster_read(struct postgres_store *st, const char *chat_id, const char *user_id, uint64_t seq)
{
	struct pg_params p = on_chat(chat_id);
	pg_text(&p, user_id);
	pg_position(&p, seq);
	return postgres_exec(st, PG_MEMBER_READ, &p) < 0 ? STORE_ERROR : STORE_OK;
}

/*
 * The message's row, with the chat's next seq and event id (a final one
 * keeps its event id): STORE_NOT_FOUND when there is no such chat.
 */
static enum store_status
message_append(struct postgres_store *st, const struct message_in *in, const char *now,
    uint64_t *seq, uint64_t *event_id)
{
	struct pg_params p = on_chat(in->chat_id);
	pg_text(&p, in->kind);
	pg_text(&p, in->author);
	pg_text(&p, in->bot_id);
	pg_text(&p, in->body);
	pg_text(&p, in->state);
	pg_text(&p, now);
	pg_text(&p, in->user_id);
	PGresult *r = postgres_run(st, PG_MSG_APPEND, &p);
	if (r == NULL)
		return STORE_ERROR;
	enum store_status rc = PQntuples(r) == 1 ? STORE_OK : STORE_NOT_FOUND;
	if (rc == STORE_OK) {
		*seq = (uint64_t)pg_col_int(r, 0, 0);
		*event_id = (uint64_t)pg_col_int(r, 0, 1);
	}
	PQclear(r);
	return rc;
}

/*
 * Inserts a message and its event inside the caller's transaction: a final
 * one keeps its event id in its row, any other has its event logged.
 */
static enum store_status
message_insert(struct postgres_store *st, const struct message_in *in, json_t **message,
    uint64_t *event_id)
{
	char now[21];
	time_now_rfc3339(now);
	uint64_t seq;
	enum store_status rc = message_append(st, in, now, &seq, event_id);
	if (rc != STORE_OK)
		return rc;
	bool final = strcmp(in->state, "complete") == 0;
	*message = shape_message(st->accounts, in->chat_id, seq, in,
	    &(struct message_more){ .created_at = now, .alternatives = 1 });
	if ((final ? log_prune(st, in->chat_id, *event_id) :
	    event_insert(st, in->chat_id, *event_id, "message", *message)) != 0) {
		json_decref(*message);
		*message = NULL;
		return STORE_ERROR;
	}
	return in->user_id != NULL ? poster_read(st, in->chat_id, in->user_id, seq) : STORE_OK;
}

/*
 * The posts' order by chat (each chat's own kept): every group of posts
 * takes its chats' rows in the same order, so two nodes' groups never wait
 * for each other in a cycle (PostgreSQL would fail one after deadlock_timeout).
 */
static void
order_by_chat(const struct message_in *in, size_t n, size_t *order)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = i;
		for (; k > 0 && strcmp(in[order[k - 1]].chat_id, in[i].chat_id) > 0; k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
}

/* One statement after another: a message not final logs its event with its seq. */
static enum store_status
messages_add_each(struct postgres_store *st, const struct message_in *in, size_t n,
    struct message_added *out)
{
	if (postgres_begin(st) != 0)
		return messages_failed(st, out, n);
	size_t *order = xcalloc(n, sizeof *order);
	order_by_chat(in, n, order);
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		out[i].status = message_insert(st, &in[i], &out[i].message, &out[i].event_id);
		if (out[i].status == STORE_ERROR) {
			free(order);
			return messages_failed(st, out, n);
		}
	}
	free(order);
	if (postgres_commit(st) != 0)
		return messages_failed(st, out, n);
	return STORE_OK;
}

static bool
all_final(const struct message_in *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(in[i].state, "complete") != 0)
			return false;
	return true;
}

/* A message's row appended, its event id taken, and the poster's read mark moved up to it. */
static void
batch_append(struct pg_batch *b, const struct message_in *in, const char *now,
    struct pg_params *append, struct pg_params *read)
{
	*append = on_chat(in->chat_id);
	pg_text(append, in->kind);
	pg_text(append, in->author);
	pg_text(append, in->bot_id);
	pg_text(append, in->body);
	pg_text(append, in->state);
	pg_text(append, now);
	pg_text(append, in->user_id);
	b->id[b->n] = PG_MSG_APPEND;
	b->params[b->n++] = append;
	if (in->user_id == NULL)
		return;
	*read = on_chat(in->chat_id);
	pg_text(read, in->user_id);
	b->id[b->n] = PG_MEMBER_READ_LAST;
	b->params[b->n++] = read;
}

/*
 * People's posts (final messages: their rows are their events) go in one
 * transaction, in one round trip (each append pipelined, committed by the
 * pipeline's sync: no BEGIN and COMMIT statements);
 * the event log's pruning follows in the same turn on the connection, so
 * that no other write (with a later event id) commits before the caller
 * has published these.
 */
enum store_status
postgres_messages_add(struct postgres_store *st, const struct message_in *in, size_t n,
    struct message_added *out)
{
	memset(out, 0, n * sizeof *out);
	if (n > LIMIT_POSTS_PER_COMMIT || !all_final(in, n))
		return messages_add_each(st, in, n, out);
	struct pg_params append[LIMIT_POSTS_PER_COMMIT], read[LIMIT_POSTS_PER_COMMIT];
	size_t at[LIMIT_POSTS_PER_COMMIT], order[LIMIT_POSTS_PER_COMMIT];
	struct pg_batch b = { .n = 0 };
	char now[21];
	time_now_rfc3339(now);
	order_by_chat(in, n, order);
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		at[i] = b.n;
		batch_append(&b, &in[i], now, &append[i], &read[i]);
	}
	postgres_hold(st);
	if (postgres_run_batch(st, &b) != 0) {
		postgres_let_go(st);
		return messages_failed_as(st, out, n, b.maybe_committed ? STORE_UNKNOWN : STORE_ERROR);
	}
	for (size_t i = 0; i < n; i++) {
		PGresult *r = b.result[at[i]];
		out[i].status = PQntuples(r) == 1 ? STORE_OK : STORE_NOT_FOUND;
		if (out[i].status != STORE_OK)
			continue;
		uint64_t seq = (uint64_t)pg_col_int(r, 0, 0);
		out[i].event_id = (uint64_t)pg_col_int(r, 0, 1);
		out[i].message = shape_message(st->accounts, in[i].chat_id, seq, &in[i],
		    &(struct message_more){ .created_at = now, .alternatives = 1 });
	}
	for (size_t i = 0; i < b.n; i++)
		PQclear(b.result[i]);
	for (size_t i = 0; i < n; i++)
		if (out[i].status == STORE_OK)
			log_prune(st, in[i].chat_id, out[i].event_id);
	postgres_let_go(st);
	return STORE_OK;
}

enum store_status
postgres_message_read(struct postgres_store *st, const char *chat_id, uint64_t seq,
    json_t **message)
{
	struct pg_params p = on_chat(chat_id);
	pg_position(&p, seq);
	return postgres_one(st, PG_MSG_GET, &p, postgres_row_message, message);
}

enum store_status
postgres_message_finish(struct postgres_store *st, const char *chat_id, uint64_t seq,
    const char *body, const char *state, const char *error, json_t **message,
    uint64_t *event_id)
{
	if (postgres_begin(st) != 0)
		return STORE_ERROR;
	struct pg_params p = on_chat(chat_id);
	pg_position(&p, seq);
	pg_text(&p, body);
	pg_text(&p, state);
	pg_text(&p, error);
	long changed = postgres_exec(st, PG_MSG_FINISH, &p);
	if (changed <= 0)
		return postgres_fail(st, changed < 0 ? STORE_ERROR : STORE_NOT_FOUND);
	return postgres_message_changed(st, chat_id, seq, message, event_id);
}
