/*
 * test_store.c - the SQLite store (src/store/sqlite*.c; its accounts are in
 * test_store_accounts.c) on ":memory:": chats, messages, the event log
 * (final messages' events from their rows) and its pruning, several messages
 * in one transaction; and on a file: one server per file, the log copied
 * back into the file while the store is open, ids going on after a reopen,
 * rows from before schema 3, and a batch of messages durable once stored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "limits.h"
#include "store/sqlite.h"
#include "util/ids.h"
#include "util/log.h"

static int
setup(void **state)
{
	char *err = NULL;
	struct store *st = store_open(":memory:", false, &err);
	if (st == NULL) {
		fprintf(stderr, "store_open: %s\n", err ? err : "?");
		free(err);
		return -1;
	}
	assert_null(err);
	*state = st;
	return 0;
}

static int
teardown(void **state)
{
	store_close(*state);
	return 0;
}

static const char *
str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t
integer(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* "YYYY-MM-DDTHH:MM:SSZ" */
static void
assert_rfc3339(const char *s)
{
	assert_int_equal(strlen(s), 20);
	assert_int_equal(s[4], '-');
	assert_int_equal(s[10], 'T');
	assert_int_equal(s[19], 'Z');
}

/* One message appended alone: the status of the transaction, else of the message. */
static enum store_status
message_add(struct store *st, const char *chat_id, const struct message_in *in, json_t **m,
    uint64_t *event_id)
{
	struct message_in one = *in;
	struct message_added out;
	one.chat_id = chat_id;
	enum store_status rc = store_messages_add(st, &one, 1, &out);
	*m = out.message;
	*event_id = out.event_id;
	return rc != STORE_OK ? rc : out.status;
}

static json_t *
new_chat(struct store *st, const char *title, const char *policy)
{
	json_t *chat = NULL;
	assert_int_equal(store_chat_create(st, title, policy, NULL, NULL, &chat), STORE_OK);
	assert_non_null(chat);
	return chat;
}

static json_t *
add(struct store *st, const char *chat_id, const char *author, const char *body,
    uint64_t *event_id)
{
	struct message_in in = { .kind = "person", .author = author, .bot_id = NULL,
	    .body = body, .state = "complete" };
	json_t *m = NULL;
	assert_int_equal(message_add(st, chat_id, &in, &m, event_id), STORE_OK);
	assert_non_null(m);
	return m;
}

static void
test_open_unwritable(void **state)
{
	(void)state;
	char *err = (char *)"untouched";
	struct store *st = store_open("/nonexistent-dir/x.db", true, &err);
	assert_null(st);
	assert_non_null(err);
	assert_true(strlen(err) > 0);
	assert_null(strchr(err, '\n'));
	free(err);
}

static void
test_chat_create_get(void **state)
{
	struct store *st = *state;
	json_t *chat = new_chat(st, "Tea <&> time", "round-robin");

	assert_int_equal(json_object_size(chat), 8);	/* with "muted" and "auto_rounds" */
	const char *id = str(chat, "id");
	assert_true(id_valid(id));
	assert_string_equal(str(chat, "title"), "Tea <&> time");
	assert_string_equal(str(chat, "policy"), "round-robin");
	assert_true(json_is_array(json_object_get(chat, "bots")));
	assert_int_equal(json_array_size(json_object_get(chat, "bots")), 0);
	assert_rfc3339(str(chat, "created_at"));
	assert_int_equal(integer(chat, "last_event_id"), 0);

	json_t *got = NULL;
	assert_int_equal(store_chat_get(st, id, &got), STORE_OK);
	assert_true(json_equal(got, chat));
	json_decref(got);

	got = (json_t *)1;
	assert_int_equal(store_chat_get(st, "zzzzzzzzzzzz", &got), STORE_NOT_FOUND);
	assert_null(got);
	json_decref(chat);
}

static void
test_chat_list_newest_first(void **state)
{
	struct store *st = *state;
	json_t *list = store_chat_list(st, NULL, 1000, NULL);
	assert_non_null(list);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);

	json_t *a = new_chat(st, "A", "p"), *b = new_chat(st, "B", "p"),
	    *c = new_chat(st, "C", "p");
	list = store_chat_list(st, NULL, 1000, NULL);
	assert_int_equal(json_array_size(list), 3);
	assert_true(json_equal(json_array_get(list, 0), c));
	assert_true(json_equal(json_array_get(list, 1), b));
	assert_true(json_equal(json_array_get(list, 2), a));
	json_decref(list);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void
test_chat_update(void **state)
{
	struct store *st = *state;
	json_t *chat = new_chat(st, "Old", "round-robin");
	const char *id = str(chat, "id");
	uint64_t eid = 0;
	json_t *m = add(st, id, "ann", "hi", &eid);
	assert_int_equal(eid, 1);
	json_decref(m);

	json_t *up = NULL;
	uint64_t ueid = 0;
	assert_int_equal(store_chat_update(st, id,
	    &(struct chat_change){ .title = "New", .auto_rounds = -1 }, &up, &ueid), STORE_OK);
	assert_int_equal(ueid, 2);
	assert_non_null(up);
	assert_string_equal(str(up, "id"), id);
	assert_string_equal(str(up, "title"), "New");
	assert_string_equal(str(up, "policy"), "round-robin");	/* NULL keeps it */
	assert_string_equal(str(up, "created_at"), str(chat, "created_at"));
	assert_int_equal(integer(up, "last_event_id"), 2);

	/* the stored chat agrees */
	json_t *got = NULL;
	assert_int_equal(store_chat_get(st, id, &got), STORE_OK);
	assert_true(json_equal(got, up));
	json_decref(got);

	/* and a "chat" event carrying the updated chat was logged */
	json_t *events = NULL;
	assert_int_equal(store_events_after(st, id, 1, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 1);
	json_t *e = json_array_get(events, 0);
	assert_int_equal(integer(e, "id"), 2);
	assert_string_equal(str(e, "name"), "chat");
	assert_true(json_equal(json_object_get(e, "data"), up));
	json_decref(events);
	json_decref(up);

	/* policy only */
	assert_int_equal(store_chat_update(st, id,
	    &(struct chat_change){ .policy = "mention", .auto_rounds = -1 }, &up, &ueid), STORE_OK);
	assert_int_equal(ueid, 3);
	assert_string_equal(str(up, "title"), "New");
	assert_string_equal(str(up, "policy"), "mention");
	assert_int_equal(integer(up, "last_event_id"), 3);
	json_decref(up);

	/* the next message continues the event ids, and the seqs */
	m = add(st, id, "ann", "again", &eid);
	assert_int_equal(eid, 4);
	assert_int_equal(integer(m, "seq"), 2);
	json_decref(m);

	up = (json_t *)1;
	assert_int_equal(store_chat_update(st, "zzzzzzzzzzzz",
	    &(struct chat_change){ .title = "x", .auto_rounds = -1 }, &up, &ueid),
	    STORE_NOT_FOUND);
	/* a failed update leaves the store usable (its transaction rolled back) */
	m = add(st, id, "ann", "after", &eid);
	assert_int_equal(eid, 5);
	json_decref(m);
	json_decref(chat);
}

static void
test_chat_delete_cascades(void **state)
{
	struct store *st = *state;
	json_t *chat = new_chat(st, "Doomed", "p"), *other = new_chat(st, "Kept", "p");
	const char *id = str(chat, "id"), *oid = str(other, "id");
	uint64_t eid;
	for (int i = 0; i < 3; i++) {
		json_decref(add(st, id, "a", "x", &eid));
		json_decref(add(st, oid, "b", "y", &eid));
	}

	assert_int_equal(store_chat_delete(st, id), STORE_OK);

	json_t *got = (json_t *)1;
	assert_int_equal(store_chat_get(st, id, &got), STORE_NOT_FOUND);
	assert_null(got);
	json_t *msgs = NULL;
	assert_int_equal(store_messages_after(st, id, 0, 100, &msgs), STORE_OK);
	assert_int_equal(json_array_size(msgs), 0);
	json_decref(msgs);
	assert_int_equal(store_messages_last(st, id, 100, &msgs), STORE_OK);
	assert_int_equal(json_array_size(msgs), 0);
	json_decref(msgs);
	json_t *events = NULL;
	assert_int_equal(store_events_after(st, id, 0, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 0);
	json_decref(events);

	struct message_in in = { .kind = "person", .author = "a", .body = "late", .state = "complete" };
	json_t *m = (json_t *)1;
	assert_int_equal(message_add(st, id, &in, &m, &eid), STORE_NOT_FOUND);
	assert_int_equal(store_chat_delete(st, id), STORE_NOT_FOUND);

	/* the other chat is untouched */
	assert_int_equal(store_messages_after(st, oid, 0, 100, &msgs), STORE_OK);
	assert_int_equal(json_array_size(msgs), 3);
	json_decref(msgs);
	assert_int_equal(store_events_after(st, oid, 0, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 3);
	json_decref(events);
	json_t *list = store_chat_list(st, NULL, 1000, NULL);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(str(json_array_get(list, 0), "id"), oid);
	json_decref(list);

	json_decref(chat);
	json_decref(other);
}

static void
test_message_add_shape(void **state)
{
	struct store *st = *state;
	json_t *chat = new_chat(st, "Msgs", "p");
	const char *id = str(chat, "id");

	uint64_t eid = 0;
	json_t *m1 = add(st, id, "ann", "first", &eid);
	assert_int_equal(eid, 1);
	struct message_in bot = { .kind = "bot", .author = NULL, .bot_id = "dice",
	    .body = "rolling \xf0\x9f\x8e\xb2 <b>", .state = "streaming" };
	json_t *m2 = NULL;
	assert_int_equal(message_add(st, id, &bot, &m2, &eid), STORE_OK);
	assert_int_equal(eid, 2);
	json_t *m3 = add(st, id, "bob", "third", &eid);
	assert_int_equal(eid, 3);

	assert_int_equal(integer(m1, "seq"), 1);
	assert_int_equal(integer(m2, "seq"), 2);
	assert_int_equal(integer(m3, "seq"), 3);

	/* the 12 fields of a Message (without accounts: no "user_id") */
	assert_int_equal(json_object_size(m2), 12);
	assert_string_equal(str(m2, "chat_id"), id);
	assert_string_equal(str(m2, "kind"), "bot");
	assert_true(json_is_null(json_object_get(m2, "author")));
	assert_null(json_object_get(m2, "user_id"));
	assert_string_equal(str(m2, "bot_id"), "dice");
	assert_string_equal(str(m2, "body"), "rolling \xf0\x9f\x8e\xb2 <b>");
	assert_string_equal(str(m2, "state"), "streaming");
	assert_true(json_is_null(json_object_get(m2, "error")));
	assert_rfc3339(str(m2, "created_at"));

	assert_int_equal(json_object_size(m1), 12);
	assert_string_equal(str(m1, "author"), "ann");
	assert_true(json_is_null(json_object_get(m1, "bot_id")));
	assert_string_equal(str(m1, "kind"), "person");
	assert_string_equal(str(m1, "state"), "complete");

	/* what was stored reads back identically */
	json_t *msgs = NULL;
	assert_int_equal(store_messages_after(st, id, 0, 100, &msgs), STORE_OK);
	assert_int_equal(json_array_size(msgs), 3);
	assert_true(json_equal(json_array_get(msgs, 0), m1));
	assert_true(json_equal(json_array_get(msgs, 1), m2));
	assert_true(json_equal(json_array_get(msgs, 2), m3));
	json_decref(msgs);

	/* each add logged a "message" event carrying the Message */
	json_t *events = NULL;
	assert_int_equal(store_events_after(st, id, 0, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 3);
	json_t *ms[] = { m1, m2, m3 };
	for (size_t i = 0; i < 3; i++) {
		json_t *e = json_array_get(events, i);
		assert_int_equal(json_object_size(e), 3);
		assert_int_equal(integer(e, "id"), (json_int_t)i + 1);
		assert_string_equal(str(e, "name"), "message");
		assert_true(json_equal(json_object_get(e, "data"), ms[i]));
	}
	json_decref(events);

	/* the chat's last_event_id follows */
	json_t *got = NULL;
	assert_int_equal(store_chat_get(st, id, &got), STORE_OK);
	assert_int_equal(integer(got, "last_event_id"), 3);
	json_decref(got);

	/* another chat numbers from 1 */
	json_t *chat2 = new_chat(st, "Other", "p");
	json_t *o = add(st, str(chat2, "id"), "x", "y", &eid);
	assert_int_equal(integer(o, "seq"), 1);
	assert_int_equal(eid, 1);
	json_decref(o);
	json_decref(chat2);

	json_decref(m1);
	json_decref(m2);
	json_decref(m3);
	json_decref(chat);
}

static void
assert_seqs(json_t *msgs, const int *seqs, size_t n)
{
	assert_non_null(msgs);
	assert_int_equal(json_array_size(msgs), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(integer(json_array_get(msgs, i), "seq"), seqs[i]);
}

static void
test_messages_after_and_last(void **state)
{
	struct store *st = *state;
	json_t *chat = new_chat(st, "Paging", "p");
	const char *id = str(chat, "id");
	uint64_t eid;
	for (int i = 1; i <= 5; i++) {
		char body[16];
		snprintf(body, sizeof body, "m%d", i);
		json_decref(add(st, id, "a", body, &eid));
	}

	json_t *msgs;
	assert_int_equal(store_messages_after(st, id, 0, 100, &msgs), STORE_OK);
	assert_seqs(msgs, (int[]){ 1, 2, 3, 4, 5 }, 5);
	assert_string_equal(str(json_array_get(msgs, 2), "body"), "m3");
	json_decref(msgs);
	assert_int_equal(store_messages_after(st, id, 2, 100, &msgs), STORE_OK);
	assert_seqs(msgs, (int[]){ 3, 4, 5 }, 3);
	json_decref(msgs);
	assert_int_equal(store_messages_after(st, id, 1, 2, &msgs), STORE_OK);
	assert_seqs(msgs, (int[]){ 2, 3 }, 2);
	json_decref(msgs);
	assert_int_equal(store_messages_after(st, id, 5, 100, &msgs), STORE_OK);
	assert_seqs(msgs, NULL, 0);
	json_decref(msgs);
	assert_int_equal(store_messages_after(st, id, 0, 0, &msgs), STORE_OK);
	assert_seqs(msgs, NULL, 0);
	json_decref(msgs);

	assert_int_equal(store_messages_last(st, id, 2, &msgs), STORE_OK);
	assert_seqs(msgs, (int[]){ 4, 5 }, 2);
	json_decref(msgs);
	assert_int_equal(store_messages_last(st, id, 1, &msgs), STORE_OK);
	assert_seqs(msgs, (int[]){ 5 }, 1);
	assert_string_equal(str(json_array_get(msgs, 0), "body"), "m5");
	json_decref(msgs);
	assert_int_equal(store_messages_last(st, id, 50, &msgs), STORE_OK);
	assert_seqs(msgs, (int[]){ 1, 2, 3, 4, 5 }, 5);
	json_decref(msgs);
	assert_int_equal(store_messages_last(st, id, 0, &msgs), STORE_OK);
	assert_seqs(msgs, NULL, 0);
	json_decref(msgs);
	json_decref(chat);
}

static void
test_events_after(void **state)
{
	struct store *st = *state;
	json_t *chat = new_chat(st, "Events", "p");
	const char *id = str(chat, "id");
	uint64_t eid;
	json_t *events;

	assert_int_equal(store_events_after(st, id, 0, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 0);
	json_decref(events);

	for (int i = 0; i < 4; i++)
		json_decref(add(st, id, "a", "x", &eid));
	assert_int_equal(store_events_after(st, id, 2, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 2);
	assert_int_equal(integer(json_array_get(events, 0), "id"), 3);
	assert_int_equal(integer(json_array_get(events, 1), "id"), 4);
	json_decref(events);
	assert_int_equal(store_events_after(st, id, 4, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 0);
	json_decref(events);
	json_decref(chat);
}

static void
test_events_gone(void **state)
{
	struct store *st = *state;
	json_t *chat = new_chat(st, "Busy", "p");
	const char *id = str(chat, "id");
	const unsigned total = LIMIT_EVENTS_KEPT + 100;
	uint64_t eid = 0;

	log_set_level(LOG_ERROR);
	for (unsigned i = 1; i <= total; i++) {
		struct message_in in = { .kind = "person", .author = "a", .body = "x", .state = "complete" };
		json_t *m = NULL;
		if (message_add(st, id, &in, &m, &eid) != STORE_OK || eid != i)
			fail_msg("add %u: event id %llu", i, (unsigned long long)eid);
		json_decref(m);
	}
	/* pruned at id total: ids 1..100 are gone, 101..total kept */
	json_t *events = (json_t *)1;
	assert_int_equal(store_events_after(st, id, 0, &events), STORE_GONE);
	assert_int_equal(store_events_after(st, id, 99, &events), STORE_GONE);

	events = NULL;
	assert_int_equal(store_events_after(st, id, 100, &events), STORE_OK);
	assert_int_equal(json_array_size(events), LIMIT_EVENTS_KEPT);
	assert_int_equal(integer(json_array_get(events, 0), "id"), 101);
	assert_int_equal(integer(json_array_get(events, LIMIT_EVENTS_KEPT - 1), "id"), total);
	json_decref(events);

	assert_int_equal(store_events_after(st, id, total - 1, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 1);
	json_decref(events);

	/* messages are never pruned */
	json_t *msgs;
	assert_int_equal(store_messages_after(st, id, 0, 5, &msgs), STORE_OK);
	assert_int_equal(integer(json_array_get(msgs, 0), "seq"), 1);
	json_decref(msgs);
	json_decref(chat);
}

static void
test_event_append(void **state)
{
	struct store *st = *state;
	json_t *chat = new_chat(st, "Log", "p");
	const char *id = str(chat, "id");
	uint64_t eid = 0;

	json_t *turn = json_pack("{s:s, s:s, s:[s]}", "state", "speaking", "speaker", "Ada",
	    "queue", "Bob");
	assert_int_equal(store_event_append(st, id, "turn", turn, &eid), STORE_OK);
	assert_int_equal(eid, 1);
	json_decref(add(st, id, "a", "x", &eid));
	assert_int_equal(eid, 2);

	json_t *events = NULL;
	assert_int_equal(store_events_after(st, id, 0, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 2);
	json_t *e = json_array_get(events, 0);
	assert_int_equal(integer(e, "id"), 1);
	assert_string_equal(str(e, "name"), "turn");
	assert_true(json_equal(json_object_get(e, "data"), turn));
	assert_string_equal(str(json_array_get(events, 1), "name"), "message");
	json_decref(events);

	json_t *got = NULL;
	assert_int_equal(store_chat_get(st, id, &got), STORE_OK);
	assert_int_equal(integer(got, "last_event_id"), 2);
	json_decref(got);

	assert_int_equal(store_event_append(st, "zzzzzzzzzzzz", "turn", turn, &eid),
	    STORE_NOT_FOUND);
	json_decref(turn);
	json_decref(chat);
}

static void
test_message_finish_and_streaming(void **state)
{
	struct store *st = *state;
	json_t *chat = new_chat(st, "Bots", "p");
	const char *id = str(chat, "id");
	uint64_t eid = 0;

	json_t *none = store_messages_streaming(st);
	assert_non_null(none);
	assert_int_equal(json_array_size(none), 0);
	json_decref(none);

	struct message_in in = { .kind = "bot", .bot_id = "eliza", .body = "", .state = "streaming" };
	json_t *m = NULL;
	assert_int_equal(message_add(st, id, &in, &m, &eid), STORE_OK);
	assert_int_equal(eid, 1);
	json_decref(m);
	json_decref(add(st, id, "ann", "hello", &eid));
	assert_int_equal(message_add(st, id, &in, &m, &eid), STORE_OK);
	json_decref(m);

	json_t *live = store_messages_streaming(st);
	assert_int_equal(json_array_size(live), 2);
	json_t *first = json_array_get(live, 0);
	assert_int_equal(json_object_size(first), 12);		/* a whole Message */
	assert_string_equal(str(first, "kind"), "bot");
	assert_string_equal(str(first, "chat_id"), id);
	assert_int_equal(integer(first, "seq"), 1);
	assert_string_equal(str(first, "body"), "");
	assert_int_equal(integer(json_array_get(live, 1), "seq"), 3);
	json_decref(live);

	json_t *done = NULL;
	assert_int_equal(store_message_finish(st, id, 1, "How do you feel?", "complete", NULL,
	    &done, &eid), STORE_OK);
	assert_int_equal(eid, 4);
	assert_int_equal(json_object_size(done), 12);
	assert_int_equal(integer(done, "seq"), 1);
	assert_string_equal(str(done, "kind"), "bot");
	assert_string_equal(str(done, "bot_id"), "eliza");
	assert_string_equal(str(done, "body"), "How do you feel?");
	assert_string_equal(str(done, "state"), "complete");
	assert_true(json_is_null(json_object_get(done, "error")));

	json_t *failed = NULL;
	assert_int_equal(store_message_finish(st, id, 3, "partial", "failed", "timed out",
	    &failed, &eid), STORE_OK);
	assert_int_equal(eid, 5);
	assert_string_equal(str(failed, "error"), "timed out");
	assert_string_equal(str(failed, "state"), "failed");

	json_t *events = NULL;
	assert_int_equal(store_events_after(st, id, 3, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 2);
	assert_string_equal(str(json_array_get(events, 0), "name"), "message-update");
	assert_true(json_equal(json_object_get(json_array_get(events, 0), "data"), done));
	assert_true(json_equal(json_object_get(json_array_get(events, 1), "data"), failed));
	json_decref(events);

	json_t *msgs = NULL;
	assert_int_equal(store_messages_after(st, id, 0, 10, &msgs), STORE_OK);
	assert_true(json_equal(json_array_get(msgs, 0), done));
	assert_true(json_equal(json_array_get(msgs, 2), failed));
	json_decref(msgs);

	live = store_messages_streaming(st);
	assert_int_equal(json_array_size(live), 0);
	json_decref(live);

	json_t *x = (json_t *)1;
	assert_int_equal(store_message_finish(st, id, 99, "b", "complete", NULL, &x, &eid),
	    STORE_NOT_FOUND);
	assert_int_equal(store_message_finish(st, "zzzzzzzzzzzz", 1, "b", "complete", NULL,
	    &x, &eid), STORE_NOT_FOUND);
	/* still usable after the failures rolled back */
	json_decref(add(st, id, "ann", "more", &eid));
	assert_int_equal(eid, 6);

	json_decref(done);
	json_decref(failed);
	json_decref(chat);
}

/* A final message's event comes from its row, in id order with the log's. */
static void
test_final_message_events(void **state)
{
	struct store *st = *state;
	json_t *chat = new_chat(st, "Final", "p");
	const char *id = str(chat, "id");
	uint64_t eid = 0;
	json_t *first = add(st, id, "ann", "hello", &eid);
	struct message_in in = { .kind = "bot", .bot_id = "eliza", .body = "", .state = "streaming" };
	json_t *bot = NULL;
	assert_int_equal(message_add(st, id, &in, &bot, &eid), STORE_OK);
	json_t *second = add(st, id, "bob", "hi", &eid);
	json_t *done = NULL;
	assert_int_equal(store_message_finish(st, id, 2, "Hello.", "complete", NULL, &done, &eid),
	    STORE_OK);
	assert_int_equal(eid, 4);

	json_t *events = NULL;
	assert_int_equal(store_events_after(st, id, 0, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 4);
	const char *names[] = { "message", "message", "message", "message-update" };
	json_t *data[] = { first, bot, second, done };
	for (size_t i = 0; i < 4; i++) {
		json_t *e = json_array_get(events, i);
		assert_int_equal(integer(e, "id"), i + 1);
		assert_string_equal(str(e, "name"), names[i]);
		assert_true(json_equal(json_object_get(e, "data"), data[i]));
	}
	json_decref(events);
	assert_int_equal(store_events_after(st, id, 2, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 2);
	assert_int_equal(integer(json_array_get(events, 0), "id"), 3);
	json_decref(events);

	/* a final message is its event: nothing changes it */
	json_t *x = (json_t *)1;
	assert_int_equal(store_message_finish(st, id, 1, "edited", "complete", NULL, &x, &eid),
	    STORE_NOT_FOUND);
	json_t *msgs = NULL;
	assert_int_equal(store_messages_after(st, id, 0, 1, &msgs), STORE_OK);
	assert_true(json_equal(json_array_get(msgs, 0), first));
	json_decref(msgs);

	json_decref(first);
	json_decref(bot);
	json_decref(second);
	json_decref(done);
	json_decref(chat);
}

/* Chats are cached: every read still shows the latest write. */
static void
test_chat_reads_follow_writes(void **state)
{
	struct store *st = *state;
	json_t *fields = json_pack("{s:s, s:s, s:s, s:n, s:n, s:n, s:f, s:i, s:f}",
	    "name", "Echo", "persona", "", "backend", "echo", "model", "base_url",
	    "api_key_env", "temperature", 0.7, "max_tokens", 512, "talkativeness", 0.5);
	json_t *bot = NULL;
	assert_int_equal(store_bot_create(st, fields, &bot), STORE_OK);
	json_t *ids = json_pack("[s]", str(bot, "id"));
	json_t *chat = NULL;
	assert_int_equal(store_chat_create(st, "Cached", "round-robin", ids, NULL, &chat),
	    STORE_OK);
	const char *id = str(chat, "id");

	json_t *a = NULL, *b = NULL;
	assert_int_equal(store_chat_get(st, id, &a), STORE_OK);
	json_object_set_new(a, "messages", json_array());	/* callers add keys */
	uint64_t event_id;
	json_decref(add(st, id, "ann", "hello", &event_id));
	assert_int_equal(store_chat_get(st, id, &b), STORE_OK);
	assert_null(json_object_get(b, "messages"));
	assert_int_equal(integer(b, "last_event_id"), (json_int_t)event_id);
	json_decref(a);
	json_decref(b);

	json_t *updated = NULL;
	assert_int_equal(store_chat_update(st, id,
	    &(struct chat_change){ .title = "Renamed", .auto_rounds = -1 }, &updated, &event_id),
	    STORE_OK);
	assert_int_equal(store_chat_get(st, id, &b), STORE_OK);
	assert_string_equal(str(b, "title"), "Renamed");
	assert_int_equal(integer(b, "last_event_id"), (json_int_t)event_id);
	json_decref(b);

	json_object_set_new(fields, "name", json_string("Echo Two"));
	json_t *renamed = NULL, *stale = json_deep_copy(bot);
	json_object_set_new(stale, "persona", json_string("as it was before someone's change"));
	assert_int_equal(store_bot_update(st, str(bot, "id"), stale, fields, &renamed),
	    STORE_CHANGED);
	json_decref(stale);
	assert_null(renamed);
	assert_int_equal(store_bot_update(st, str(bot, "id"), bot, fields, &renamed), STORE_OK);
	assert_int_equal(store_chat_get(st, id, &b), STORE_OK);
	assert_string_equal(str(json_array_get(json_object_get(b, "bots"), 0), "name"), "Echo Two");
	json_decref(b);

	assert_int_equal(store_bot_delete(st, str(bot, "id")), STORE_OK);
	assert_int_equal(store_chat_get(st, id, &b), STORE_OK);
	assert_int_equal(json_array_size(json_object_get(b, "bots")), 0);
	json_decref(b);

	assert_int_equal(store_chat_delete(st, id), STORE_OK);
	assert_int_equal(store_chat_get(st, id, &b), STORE_NOT_FOUND);
	json_decref(renamed);
	json_decref(updated);
	json_decref(chat);
	json_decref(ids);
	json_decref(bot);
	json_decref(fields);
}

/* ---------- several messages in one transaction ---------- */

/* what every batch test posts */
static const struct message_in hello = { .kind = "person", .author = "ann", .body = "hi",
    .state = "complete" };

/* n copies of hello, to the chats given in turn. */
static void
batch_of(struct message_in *in, size_t n, const char *const *chats, size_t nchats)
{
	for (size_t i = 0; i < n; i++) {
		in[i] = hello;
		in[i].chat_id = chats[i % nchats];
	}
}

static void
release(struct message_added *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(out[i].message);
}

/* A batch takes ids and seqs in order; a cached chat shows the last id once committed. */
static void
test_batch_in_order(void **state)
{
	struct store *st = *state;
	json_t *a = new_chat(st, "A", "manual"), *b = new_chat(st, "B", "manual"), *got = NULL;
	const char *chats[] = { str(a, "id"), str(b, "id") };
	struct message_in in[3];
	struct message_added out[3];
	batch_of(in, 3, chats, 2);
	assert_int_equal(store_chat_get(st, str(a, "id"), &got), STORE_OK);	/* cached */
	assert_int_equal(integer(got, "last_event_id"), 0);
	json_decref(got);
	assert_int_equal(store_messages_add(st, in, 3, out), STORE_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(out[i].status, STORE_OK);
	assert_int_equal(integer(out[0].message, "seq"), 1);
	assert_int_equal(integer(out[1].message, "seq"), 1);
	assert_int_equal(integer(out[2].message, "seq"), 2);
	assert_int_equal(out[2].event_id, out[0].event_id + 1);
	assert_int_equal(store_chat_get(st, str(a, "id"), &got), STORE_OK);
	assert_int_equal(integer(got, "last_event_id"), (json_int_t)out[2].event_id);
	json_decref(got);
	release(out, 3);
	json_decref(a);
	json_decref(b);
}

/* A message to a chat that is not there fails alone; the others commit. */
static void
test_batch_missing_chat(void **state)
{
	struct store *st = *state;
	json_t *a = new_chat(st, "A", "manual"), *last = NULL;
	const char *chats[] = { str(a, "id"), "nosuchchat00" };
	struct message_in in[4];
	struct message_added out[4];
	batch_of(in, 4, chats, 2);
	assert_int_equal(store_messages_add(st, in, 4, out), STORE_OK);
	assert_int_equal(out[0].status, STORE_OK);
	assert_int_equal(out[1].status, STORE_NOT_FOUND);
	assert_null(out[1].message);
	assert_int_equal(out[2].status, STORE_OK);
	assert_int_equal(out[3].status, STORE_NOT_FOUND);
	assert_int_equal(store_messages_last(st, str(a, "id"), 5, &last), STORE_OK);
	assert_int_equal(json_array_size(last), 2);
	assert_int_equal(integer(json_array_get(last, 1), "seq"), 2);
	json_decref(last);
	release(out, 4);
	json_decref(a);
}

/*
 * A batch whose transaction cannot start stores nothing, and every message
 * says so (on the SQLite store itself, to hold its connection in a transaction).
 */
static void
test_batch_failed(void **state)
{
	(void)state;
	char *err = NULL;
	struct sqlite_store *st = sqlite_open(":memory:", false, &err);
	json_t *a = NULL, *last = NULL;
	assert_int_equal(sqlite_chat_create(st, "A", "manual", NULL, NULL, &a), STORE_OK);
	const char *chats[] = { str(a, "id") };
	struct message_in in[2];
	struct message_added out[2];
	batch_of(in, 2, chats, 1);
	assert_int_equal(sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite_messages_add(st, in, 2, out), STORE_ERROR);
	assert_int_equal(out[0].status, STORE_ERROR);
	assert_int_equal(out[1].status, STORE_ERROR);
	assert_null(out[0].message);
	assert_int_equal(sqlite_messages_before(st, str(a, "id"), UINT64_MAX, 5, &last), STORE_OK);
	assert_int_equal(json_array_size(last), 0);
	json_decref(last);
	struct message_added one;
	in[0].author = "bob";
	assert_int_equal(sqlite_messages_add(st, in, 1, &one), STORE_OK);
	assert_int_equal(integer(one.message, "seq"), 1);	/* the failed batch took nothing */
	json_decref(one.message);
	json_decref(a);
	sqlite_close(st);
}

/* ---------- on a file ---------- */

struct tmpdb {
	char	dir[32];
	char	path[64];
	char	wal[72];
};

static void
tmpdb_make(struct tmpdb *t)
{
	strcpy(t->dir, "/tmp/parley-store-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/p.db", t->dir);
	snprintf(t->wal, sizeof t->wal, "%s-wal", t->path);
}

static void
tmpdb_remove(struct tmpdb *t)
{
	const char *suffixes[] = { "", "-wal", "-shm" };
	char name[80];
	for (size_t i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "%s%s", t->path, suffixes[i]);
		unlink(name);
	}
	rmdir(t->dir);
}

/* The store on t's file; the test fails when it cannot be opened. */
static struct store *
open_file(const struct tmpdb *t)
{
	char *err = NULL;
	struct store *st = store_open(t->path, false, &err);
	if (st == NULL)
		fail_msg("store_open: %s", err ? err : "?");
	return st;
}

static off_t
file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : 0;
}

static void
test_file_one_server(void **state)
{
	(void)state;
	struct tmpdb t;
	tmpdb_make(&t);
	char *err = NULL;
	struct store *first = store_open(t.path, false, &err);
	assert_non_null(first);
	struct store *second = store_open(t.path, false, &err);
	assert_null(second);
	assert_non_null(err);
	assert_non_null(strstr(err, "in use"));
	free(err);
	store_close(first);
	struct store *again = store_open(t.path, false, &err);
	assert_non_null(again);
	store_close(again);
	tmpdb_remove(&t);
}

/*
 * Commits never checkpoint; the checkpoint thread (and, when the log is
 * long, the catch-up on commit) copies the log into the file while the
 * store is open, so the log stays bounded and the file fills.
 */
static void
test_file_log_copied_back(void **state)
{
	(void)state;
	struct tmpdb t;
	tmpdb_make(&t);
	struct store *st = open_file(&t);
	json_t *chat = new_chat(st, "Log", "round_robin");
	char body[1024];
	memset(body, 'x', sizeof body - 1);
	body[sizeof body - 1] = '\0';
	/* ~4.4 log pages per post: without checkpoints the log reaches 218 MB */
	off_t wal_max = 0;
	for (int i = 0; i < 12000; i++) {
		uint64_t event_id;
		json_decref(add(st, str(chat, "id"), "ann", body, &event_id));
		if (file_size(t.wal) > wal_max)
			wal_max = file_size(t.wal);
	}
	assert_true(wal_max < (off_t)20000 * (4096 + 24));
	assert_true(file_size(t.path) > 10 * 1024 * 1024);
	json_t *last = NULL;
	assert_int_equal(store_messages_last(st, str(chat, "id"), 1, &last), STORE_OK);
	assert_int_equal(integer(json_array_get(last, 0), "seq"), 12000);
	json_decref(last);
	json_decref(chat);
	store_close(st);
	tmpdb_remove(&t);
}

/* A database a newer Parley wrote (a migration unknown here) is refused, and left as it is. */
static void
test_file_newer_schema_refused(void **state)
{
	(void)state;
	struct tmpdb t;
	tmpdb_make(&t);
	store_close(open_file(&t));
	sqlite3 *db;
	assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	char *err = NULL;
	assert_null(store_open(t.path, false, &err));
	assert_non_null(err);
	assert_non_null(strstr(err, "schema is version 99, newer than this Parley knows"));
	free(err);
	tmpdb_remove(&t);
}

/* Counters live in memory while open; reopened, they go on from the rows. */
static void
test_file_ids_go_on_after_reopen(void **state)
{
	(void)state;
	struct tmpdb t;
	tmpdb_make(&t);
	struct store *st = open_file(&t);
	json_t *chat = new_chat(st, "Ids", "round-robin");
	char id[32];
	snprintf(id, sizeof id, "%s", str(chat, "id"));
	uint64_t event_id = 0;
	for (int i = 0; i < 3; i++)
		json_decref(add(st, id, "ann", "hi", &event_id));
	json_t *up = NULL;
	assert_int_equal(store_chat_update(st, id, &(struct chat_change){ .title = "Ids 2",
	    .auto_rounds = -1 }, &up, &event_id), STORE_OK);
	assert_int_equal(event_id, 4);
	json_decref(up);
	store_close(st);

	st = open_file(&t);
	json_t *m = add(st, id, "ann", "again", &event_id);
	assert_int_equal(integer(m, "seq"), 4);
	assert_int_equal(event_id, 5);
	json_t *got = NULL;
	assert_int_equal(store_chat_get(st, id, &got), STORE_OK);
	assert_int_equal(integer(got, "last_event_id"), 5);
	json_decref(got);
	json_decref(m);
	store_close(st);

	/* the newest event is a final message's, kept in its row */
	st = open_file(&t);
	assert_int_equal(store_chat_get(st, id, &got), STORE_OK);
	assert_int_equal(integer(got, "last_event_id"), 5);
	json_decref(got);
	json_decref(add(st, id, "ann", "and again", &event_id));
	assert_int_equal(event_id, 6);
	json_decref(chat);
	store_close(st);
	tmpdb_remove(&t);
}

/*
 * Servers before schema 3 logged every message's event: those rows still
 * replay, once each, in order with the final messages stored since.
 */
static void
test_file_messages_logged_before(void **state)
{
	(void)state;
	struct tmpdb t;
	tmpdb_make(&t);
	struct store *st = open_file(&t);
	json_t *chat = new_chat(st, "Old", "round-robin");
	char id[32], sql[512];
	snprintf(id, sizeof id, "%s", str(chat, "id"));
	json_decref(chat);
	store_close(st);

	sqlite3 *db;
	assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql, "INSERT INTO messages (chat_id, seq, kind, author, body, state,"
	    " created_at) VALUES ('%s', 1, 'person', 'ann', 'old', 'complete',"
	    " '2026-01-01T00:00:00Z'); INSERT INTO events VALUES ('%s', 1, 'message', '{\"seq\":1}');",
	    id, id);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	st = open_file(&t);
	uint64_t event_id = 0;
	json_t *m = add(st, id, "bob", "new", &event_id);
	assert_int_equal(event_id, 2);
	assert_int_equal(integer(m, "seq"), 2);
	json_t *events = NULL;
	assert_int_equal(store_events_after(st, id, 0, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 2);
	assert_int_equal(integer(json_object_get(json_array_get(events, 0), "data"), "seq"), 1);
	assert_true(json_equal(json_object_get(json_array_get(events, 1), "data"), m));
	json_decref(events);
	json_decref(m);
	store_close(st);
	tmpdb_remove(&t);
}

/* A batch is in the file once store_messages_add returns. */
static void
test_file_batch_durable(void **state)
{
	(void)state;
	struct tmpdb t;
	tmpdb_make(&t);
	struct store *st = open_file(&t);
	json_t *chat = new_chat(st, "Group", "manual");
	char id[32];
	snprintf(id, sizeof id, "%s", str(chat, "id"));
	const char *chats[] = { id };
	struct message_in in[3];
	struct message_added out[3];
	batch_of(in, 3, chats, 1);
	assert_int_equal(store_messages_add(st, in, 3, out), STORE_OK);
	release(out, 3);
	store_close(st);

	st = open_file(&t);
	json_t *last = NULL;
	assert_int_equal(store_messages_last(st, id, 5, &last), STORE_OK);
	assert_int_equal(json_array_size(last), 3);
	json_decref(last);
	json_decref(chat);
	store_close(st);
	tmpdb_remove(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_unwritable),
		cmocka_unit_test(test_file_one_server),
		cmocka_unit_test(test_file_log_copied_back),
		cmocka_unit_test(test_file_ids_go_on_after_reopen),
		cmocka_unit_test(test_file_newer_schema_refused),
		cmocka_unit_test(test_file_messages_logged_before),
		cmocka_unit_test(test_file_batch_durable),
		cmocka_unit_test_setup_teardown(test_chat_create_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_list_newest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_delete_cascades, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_add_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_messages_after_and_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_finish_and_streaming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_final_message_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_reads_follow_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_missing_chat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_failed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
