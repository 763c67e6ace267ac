/*
 * test_events.c - the events module (src/chat/events.c) on an in-memory
 * store with a bus that records what it is given: people's posts of one
 * loop iteration are stored in one transaction when it ends, published in
 * order and only then answered; a post to a chat that went away is answered
 * 404-like and never published; every other change is published after it
 * is stored, with the id it was stored under; a deleted chat's streams get
 * "deleted" and then end; tokens go out at once without an id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/events.h"
#include "metrics.h"
#include "store/store.h"
#include "util/log.h"

/*
 * What the bus was given, in order: "publish NAME ID" or "end CHAT"; and
 * apart, the changes to the chat lists: "NAME TITLE-OR-ID AUDIENCE-SIZE".
 */
struct record {
	char	 lines[32][96];
	int	 n;
	int	 answered_after;	/* lines published before the first answer */
	char	 lists[32][96];
	int	 nlists;
	int	 chat_changes;	/* told to other nodes (bus_ops.changed) */
};

static void
rec_publish(void *impl, const char *chat_id, uint64_t id, const char *name, json_t *data)
{
	struct record *r = impl;
	(void)chat_id;
	(void)data;
	snprintf(r->lines[r->n++], sizeof r->lines[0], "publish %s %llu", name,
	    (unsigned long long)id);
}

static void
rec_end(void *impl, const char *chat_id)
{
	struct record *r = impl;
	snprintf(r->lines[r->n++], sizeof r->lines[0], "end %s", chat_id);
}

static void
rec_end_streams(void *impl, const struct bus_match *m)
{
	struct record *r = impl;
	snprintf(r->lines[r->n++], sizeof r->lines[0], "end-streams %s %s %s",
	    m->chat_id ? m->chat_id : "*", m->user_id ? m->user_id : "*", m->reason);
}

static void
rec_publish_list(void *impl, json_t *audience, bool personal, const char *name, json_t *data)
{
	struct record *r = impl;
	const char *title = json_string_value(json_object_get(data, "title"));
	const char *last = json_string_value(json_object_get(json_object_get(data, "last"), "body"));
	snprintf(r->lists[r->nlists++], sizeof r->lists[0], "%s %s %s %d%s", name,
	    title ? title : json_string_value(json_object_get(data, "id")), last ? last : "-",
	    audience ? (int)json_array_size(audience) : -1, personal ? " personal" : "");
}

static void
rec_forget(void *impl, const char *chat_id)
{
	struct record *r = impl;
	(void)chat_id;
	snprintf(r->lines[r->n++], sizeof r->lines[0], "forget");
}

static bool
rec_lists_heard(void *impl)
{
	(void)impl;
	return true;
}

static void
rec_changed(void *impl, enum bus_change what)
{
	struct record *r = impl;
	r->chat_changes += what == BUS_CHANGED_CHATS;
}

/* What the events module does not use: a bus of one process. */
static json_t *
rec_reply_elsewhere(void *impl, const char *chat_id)
{
	(void)impl;
	(void)chat_id;
	return NULL;
}

static void
rec_deliver_here(void *impl, const char *chat_id, uint64_t id, const char *name, json_t *data)
{
	rec_publish(impl, chat_id, id, name, data);
}

static void
rec_publish_here(void *impl, const char *chat_id, const char *name, json_t *data)
{
	rec_publish(impl, chat_id, 0, name, data);
}

static void
rec_share_presence(void *impl, const char *chat_id, json_t *people)
{
	(void)impl;
	(void)chat_id;
	(void)people;
}

static void
rec_ask_turn(void *impl, const char *to, const char *chat_id)
{
	(void)impl;
	(void)to;
	(void)chat_id;
}

static void
rec_sign_in(void *impl, const char *name, const char *address, bool failed)
{
	(void)impl;
	(void)name;
	(void)address;
	(void)failed;
}

static void
rec_renamed(void *impl, const char *user_id, const char *name)
{
	(void)impl;
	(void)user_id;
	(void)name;
}

static const struct bus_ops rec_ops = { rec_publish, rec_end, rec_end_streams,
    rec_publish_list, rec_forget, rec_lists_heard, rec_changed, rec_reply_elsewhere,
    rec_deliver_here, rec_publish_here, rec_share_presence, rec_ask_turn, rec_sign_in,
    rec_renamed };

struct fixture {
	struct event_base	*base;
	struct store		*store;
	struct events		*events;
	struct record		 rec;
	char			 chat[16];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char *err = NULL;
	log_set_level(LOG_ERROR);
	f->base = event_base_new();
	f->store = store_open(":memory:", false, &err);
	assert_non_null(f->store);
	f->events = events_new(f->base, f->store, (struct bus){ &rec_ops, &f->rec });
	json_t *chat;
	assert_int_equal(store_chat_create(f->store, "T", "manual", NULL, NULL, &chat), STORE_OK);
	snprintf(f->chat, sizeof f->chat, "%s", json_string_value(json_object_get(chat, "id")));
	json_decref(chat);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	events_free(f->events);
	store_close(f->store);
	event_base_free(f->base);
	free(f);
	return 0;
}

struct answer {
	struct record	*rec;
	int		 published_before;	/* what the bus had when this was answered */
	enum store_status status;
	json_int_t	 seq;
	bool		 called;
};

static void
posted(void *arg, json_t *message, enum store_status status)
{
	struct answer *a = arg;
	a->called = true;
	a->status = status;
	a->published_before = a->rec->n;
	a->seq = message ? json_integer_value(json_object_get(message, "seq")) : -1;
}

static struct message_in
person(const char *chat_id, const char *body)
{
	return (struct message_in){ .chat_id = chat_id, .kind = "person", .author = "ann",
	    .body = body, .state = "complete" };
}

static void
test_posts_grouped_then_answered(void **state)
{
	struct fixture *f = *state;
	struct answer a[3] = { { .rec = &f->rec }, { .rec = &f->rec }, { .rec = &f->rec } };
	const char *bodies[3] = { "one", "two", "three" };
	for (int i = 0; i < 3; i++) {
		struct message_in in = person(f->chat, bodies[i]);
		events_post(f->events, &in, posted, &a[i]);
	}
	assert_false(a[0].called);			/* nothing before the iteration ends */
	assert_int_equal(f->rec.n, 0);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(f->rec.n, 3);
	for (int i = 0; i < 3; i++) {
		char want[64];
		snprintf(want, sizeof want, "publish message %d", i + 1);
		assert_string_equal(f->rec.lines[i], want);
		assert_true(a[i].called);
		assert_int_equal(a[i].status, STORE_OK);
		assert_int_equal(a[i].seq, i + 1);
		assert_int_equal(a[i].published_before, 3);	/* all published, then answered */
	}
	/* the chat lists heard once, of the newest (nobody is a member: only who sees all) */
	assert_int_equal(f->rec.nlists, 1);
	assert_string_equal(f->rec.lists[0], "list-chat T three 0");
}

static void
test_post_to_a_chat_gone(void **state)
{
	struct fixture *f = *state;
	struct answer kept = { .rec = &f->rec }, lost = { .rec = &f->rec };
	struct message_in in = person(f->chat, "kept"), gone = person("nosuchchat00", "lost");
	events_post(f->events, &in, posted, &kept);
	events_post(f->events, &gone, posted, &lost);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(kept.status, STORE_OK);
	assert_int_equal(lost.status, STORE_NOT_FOUND);
	assert_int_equal(lost.seq, -1);
	assert_int_equal(f->rec.n, 1);		/* only what was stored was published */
}

/* An edit or a deletion: the bus forgets what it kept for replays, then publishes it. */
static void
test_edit_and_delete_forget_first(void **state)
{
	struct fixture *f = *state;
	json_t *msg;
	struct message_in in = person(f->chat, "oops");
	assert_int_equal(events_message_add(f->events, &in, &msg), STORE_OK);
	json_decref(msg);
	assert_int_equal(events_message_edit(f->events, f->chat, 1, "fixed", &msg), STORE_OK);
	json_decref(msg);
	assert_int_equal(events_message_edit(f->events, f->chat, 7, "none", &msg),
	    STORE_NOT_FOUND);
	assert_int_equal(events_message_delete(f->events, f->chat, 1), STORE_OK);
	const char *want[] = { "publish message 1", "forget", "publish message-update 2",
	    "forget", "publish message-deleted 3" };
	assert_int_equal(f->rec.n, 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(f->rec.lines[i], want[i]);
}

static void
test_changes_published_with_their_ids(void **state)
{
	struct fixture *f = *state;
	json_t *msg, *chat, *turn = json_pack("{s:s}", "state", "idle");
	struct message_in bot = { .chat_id = f->chat, .kind = "bot", .author = "Eve",
	    .body = "", .state = "streaming" };
	assert_int_equal(events_message_add(f->events, &bot, &msg), STORE_OK);
	json_decref(msg);
	events_token(f->events, f->chat, 1, "hel", 3);
	assert_int_equal(events_message_finish(f->events, f->chat, 1, "hello", "complete", NULL,
	    &msg), STORE_OK);
	json_decref(msg);
	assert_int_equal(events_turn(f->events, f->chat, turn), STORE_OK);
	assert_int_equal(events_chat_update(f->events, f->chat,
	    &(struct chat_change){ .title = "New", .auto_rounds = -1 }, &chat),
	    STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(chat, "last_event_id")), 4);
	json_decref(chat);
	assert_int_equal(events_chat_delete(f->events, f->chat), STORE_OK);
	const char *want[] = { "publish message 1", "publish token 0", "publish message-update 2",
	    "publish turn 3", "publish chat 4", "publish deleted 0" };
	assert_int_equal(f->rec.n, 7);
	assert_int_equal(f->rec.chat_changes, 2);	/* the update and the deletion, for other nodes */
	for (int i = 0; i < 6; i++)
		assert_string_equal(f->rec.lines[i], want[i]);
	char end[64];
	snprintf(end, sizeof end, "end %s", f->chat);
	assert_string_equal(f->rec.lines[6], end);
	/* the lists: the finished reply, the new title (with the newest message), the chat gone */
	char gone[64];
	snprintf(gone, sizeof gone, "list-gone %s - 0", f->chat);	/* to its members (none here) */
	assert_int_equal(f->rec.nlists, 3);
	assert_string_equal(f->rec.lists[0], "list-chat T hello 0");
	assert_string_equal(f->rec.lists[1], "list-chat New hello 0");
	assert_string_equal(f->rec.lists[2], gone);
	/* a failed change publishes nothing */
	assert_int_equal(events_turn(f->events, f->chat, turn), STORE_NOT_FOUND);
	assert_int_equal(f->rec.n, 7);
	json_decref(turn);
}

/* Posts waiting when the module is flushed (shutdown) are stored and answered. */
static void
test_flush_answers_waiting_posts(void **state)
{
	struct fixture *f = *state;
	struct answer a = { .rec = &f->rec };
	struct message_in in = person(f->chat, "last words");
	events_post(f->events, &in, posted, &a);
	events_flush(f->events);
	assert_true(a.called);
	assert_int_equal(a.status, STORE_OK);
	assert_int_equal(f->rec.n, 1);
}

/* Access taken away reaches the bus as it was asked: nothing is stored for it. */
static void
test_end_streams_passes_to_the_bus(void **state)
{
	struct fixture *f = *state;
	events_end_streams(f->events, &(struct bus_match){ .user_id = "u1", .reason = "removed",
	    .chat_id = f->chat });
	char want[64];
	snprintf(want, sizeof want, "end-streams %s u1 removed", f->chat);
	assert_int_equal(f->rec.n, 1);
	assert_string_equal(f->rec.lines[0], want);
	events_end_streams(f->events, &(struct bus_match){ .credential = "ab",
	    .reason = "signed-out" });
	assert_string_equal(f->rec.lines[1], "end-streams * * signed-out");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_posts_grouped_then_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_to_a_chat_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_and_delete_forget_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_published_with_their_ids, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flush_answers_waiting_posts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_streams_passes_to_the_bus, setup,
		    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
