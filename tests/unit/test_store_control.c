/*
 * test_store_control.c - conversation control in the store (SPEC 8): edits,
 * deletions that leave no trace in replays and never free a seq, a bot
 * message's alternatives, and muted bots that stay muted while the chat's
 * bots change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static int
setup(void **state)
{
	char *err = NULL;
	*state = store_open(":memory:", false, &err);
	free(err);
	return *state ? 0 : -1;
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
	return json_string_value(json_object_get(o, key));
}

static json_int_t
integer(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* True when some event of the array carries text in its data. */
static bool
events_carry(json_t *events, const char *text)
{
	size_t i;
	json_t *ev;
	bool found = false;
	json_array_foreach(events, i, ev) {
		char *data = json_dumps(json_object_get(ev, "data"), 0);
		found = found || strstr(data, text) != NULL;
		free(data);
	}
	return found;
}

static char chat_id[16];

/* A chat with a person's message (seq 1) and a bot's finished reply (seq 2). */
static void
conversation(struct store *st)
{
	json_t *chat, *m;
	uint64_t eid;
	assert_int_equal(store_chat_create(st, "Talk", "round-robin", NULL, NULL, &chat), STORE_OK);
	snprintf(chat_id, sizeof chat_id, "%s", str(chat, "id"));
	json_decref(chat);
	struct message_in in[2] = {
		{ .chat_id = chat_id, .kind = "person", .author = "Ada", .body = "hello",
		  .state = "complete" },
		{ .chat_id = chat_id, .kind = "bot", .author = "Eliza", .bot_id = "b1",
		  .body = "", .state = "streaming" },
	};
	struct message_added out[2];
	assert_int_equal(store_messages_add(st, in, 2, out), STORE_OK);
	json_decref(out[0].message);
	json_decref(out[1].message);
	assert_int_equal(store_message_finish(st, chat_id, 2, "first answer", "complete", NULL,
	    &m, &eid), STORE_OK);
	json_decref(m);
}

static void
test_edit(void **state)
{
	struct store *st = *state;
	json_t *m, *events;
	uint64_t eid;
	conversation(st);
	assert_int_equal(store_message_edit(st, chat_id, 1, "hello again", &m, &eid), STORE_OK);
	assert_string_equal(str(m, "body"), "hello again");
	assert_non_null(str(m, "edited_at"));
	json_decref(m);
	/* a replay shows the message as it now is, then its update */
	assert_int_equal(store_events_after(st, chat_id, 0, &events), STORE_OK);
	assert_string_equal(str(json_object_get(json_array_get(events, 0), "data"), "body"),
	    "hello again");
	json_t *last = json_array_get(events, json_array_size(events) - 1);
	assert_int_equal(integer(last, "id"), (json_int_t)eid);
	assert_string_equal(str(last, "name"), "message-update");
	json_decref(events);
	assert_int_equal(store_message_edit(st, chat_id, 9, "x", &m, &eid), STORE_NOT_FOUND);

	/* a bot's message: the update with its first text leaves the log */
	assert_int_equal(store_message_edit(st, chat_id, 2, "second thoughts", &m, &eid), STORE_OK);
	json_decref(m);
	assert_int_equal(store_events_after(st, chat_id, 0, &events), STORE_OK);
	assert_true(events_carry(events, "second thoughts"));
	assert_false(events_carry(events, "first answer"));
	json_decref(events);
}

static void
test_delete_leaves_no_trace(void **state)
{
	struct store *st = *state;
	json_t *events, *msgs, *chat;
	uint64_t eid;
	conversation(st);
	assert_int_equal(store_chat_get(st, chat_id, &chat), STORE_OK);
	json_int_t before = integer(chat, "last_event_id");
	json_decref(chat);
	/* a refused change empties the store's caches: the counters come from the rows */
	assert_int_equal(store_message_edit(st, chat_id, 9, "x", &msgs, &eid), STORE_NOT_FOUND);
	assert_int_equal(store_message_delete(st, chat_id, 2, &eid), STORE_OK);
	assert_int_equal((json_int_t)eid, before + 1);	/* never an id given before */
	assert_int_equal(store_events_after(st, chat_id, 0, &events), STORE_OK);
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		json_t *data = json_object_get(ev, "data");
		if (strcmp(str(ev, "name"), "message-deleted") == 0)
			assert_int_equal(integer(ev, "id"), (json_int_t)eid);
		else if (json_object_get(data, "seq") != NULL)
			assert_int_equal(integer(data, "seq"), 1);	/* none of 2's text */
	}
	json_decref(events);
	assert_int_equal(store_messages_last(st, chat_id, 10, &msgs), STORE_OK);
	assert_int_equal(json_array_size(msgs), 1);
	json_decref(msgs);
	assert_int_equal(store_message_delete(st, chat_id, 2, &eid), STORE_NOT_FOUND);
	/* the newest seq is gone, and is never given again */
	assert_int_equal(store_chat_get(st, chat_id, &chat), STORE_OK);
	assert_int_equal(integer(chat, "last_event_id"), (json_int_t)eid);
	json_decref(chat);
}

static void
test_alternatives(void **state)
{
	struct store *st = *state;
	json_t *m;
	uint64_t eid;
	conversation(st);
	assert_int_equal(store_message_reopen(st, chat_id, 1, true, &m, &eid), STORE_NOT_FOUND);
	assert_int_equal(store_message_reopen(st, chat_id, 2, true, &m, &eid), STORE_OK);
	assert_int_equal(integer(m, "alternative"), 1);
	assert_int_equal(integer(m, "alternatives"), 2);
	assert_string_equal(str(m, "state"), "streaming");
	assert_string_equal(str(m, "body"), "");
	json_decref(m);
	/* being written: no second reopening, no edit, no flip */
	assert_int_equal(store_message_reopen(st, chat_id, 2, false, &m, &eid), STORE_CONFLICT);
	assert_int_equal(store_message_edit(st, chat_id, 2, "x", &m, &eid), STORE_CONFLICT);
	assert_int_equal(store_message_pick(st, chat_id, 2, 0, &m, &eid), STORE_CONFLICT);
	assert_int_equal(store_message_finish(st, chat_id, 2, "second answer", "complete", NULL,
	    &m, &eid), STORE_OK);
	json_decref(m);
	assert_int_equal(store_message_pick(st, chat_id, 2, 0, &m, &eid), STORE_OK);
	assert_string_equal(str(m, "body"), "first answer");
	assert_int_equal(integer(m, "alternative"), 0);
	json_decref(m);
	/* continued: the shown alternative goes on, and keeps what it had */
	assert_int_equal(store_message_reopen(st, chat_id, 2, false, &m, &eid), STORE_OK);
	assert_string_equal(str(m, "body"), "first answer");
	json_decref(m);
	assert_int_equal(store_message_finish(st, chat_id, 2, "first answer, longer", "stopped",
	    NULL, &m, &eid), STORE_OK);
	json_decref(m);
	assert_int_equal(store_message_pick(st, chat_id, 2, 1, &m, &eid), STORE_OK);
	assert_string_equal(str(m, "body"), "second answer");
	json_decref(m);
	assert_int_equal(store_message_pick(st, chat_id, 2, 0, &m, &eid), STORE_OK);
	assert_string_equal(str(m, "body"), "first answer, longer");
	assert_string_equal(str(m, "state"), "stopped");
	json_decref(m);
	assert_int_equal(store_message_pick(st, chat_id, 2, 2, &m, &eid), STORE_CONFLICT);
}

static void
test_muted_bots_stay_muted(void **state)
{
	struct store *st = *state;
	json_t *a, *b, *chat;
	uint64_t eid;
	json_t *fa = json_pack("{s:s, s:s, s:s, s:f, s:i, s:f}", "name", "A", "persona", "",
	    "backend", "echo", "temperature", 0.7, "max_tokens", 100, "talkativeness", 0.5);
	json_t *fb = json_deep_copy(fa);
	json_object_set_new(fb, "name", json_string("B"));
	assert_int_equal(store_bot_create(st, fa, &a), STORE_OK);
	assert_int_equal(store_bot_create(st, fb, &b), STORE_OK);
	json_t *both = json_pack("[O, O]", json_object_get(a, "id"), json_object_get(b, "id"));
	json_t *muted = json_pack("[O]", json_object_get(b, "id"));
	assert_int_equal(store_chat_create(st, "Bots", "natural", both, NULL, &chat), STORE_OK);
	snprintf(chat_id, sizeof chat_id, "%s", str(chat, "id"));
	json_decref(chat);
	assert_int_equal(store_chat_update(st, chat_id, &(struct chat_change){ .muted = muted,
	    .auto_rounds = 3 }, &chat, &eid), STORE_OK);
	assert_true(json_equal(json_object_get(chat, "muted"), muted));
	assert_int_equal(integer(chat, "auto_rounds"), 3);
	json_decref(chat);
	/* the bots change order: B stays muted */
	json_array_insert(both, 0, json_array_get(both, 1));
	json_array_remove(both, 2);
	assert_int_equal(store_chat_update(st, chat_id, &(struct chat_change){ .bot_ids = both,
	    .auto_rounds = -1 }, &chat, &eid), STORE_OK);
	assert_true(json_equal(json_object_get(chat, "muted"), muted));
	assert_string_equal(str(json_array_get(json_object_get(chat, "bots"), 0), "name"), "B");
	assert_int_equal(integer(chat, "auto_rounds"), 3);
	json_decref(chat);
	json_decref(fa);
	json_decref(fb);
	json_decref(a);
	json_decref(b);
	json_decref(both);
	json_decref(muted);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_edit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_leaves_no_trace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alternatives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_muted_bots_stay_muted, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
