/*
 * turn_ends.c - the ends of replies (turns_impl.h): stored and published;
 * one that cannot be (the disk full, the database gone) is shown to the
 * tabs at once and stored again every second until it is, or another node
 * has taken the chat's turns over, or the message is gone; and the replies
 * a stop of the server left being written, ended at start (turns_recover).
 * Called by turns.c (a reply's end, a chat's state, the life cycle).
 */
#include "chat/turns.h"
#include "chat/turns_impl.h"
#include "chat/events.h"
#include "limits.h"
#include "store/store.h"
#include "util/fiber.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

/* A reply whose end is not stored yet: its final Message, stored again each second. */
struct unfinished {
	LIST_ENTRY(unfinished)	 entry;
	json_t			*message;
	struct lease		 lease;		/* several nodes: its flow's, which the retries check */
	bool			 fenced;
};

static const char *
str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

enum store_status
turn_end_store(struct turns *t, json_t *final)
{
	json_t *msg;
	const char *error = json_string_value(json_object_get(final, "error"));
	enum store_status rc = events_message_finish(t->events, str(final, "chat_id"),
	    (uint64_t)json_integer_value(json_object_get(final, "seq")), str(final, "body"),
	    str(final, "state"), error, &msg);
	if (rc == STORE_OK)
		json_decref(msg);
	return rc;
}

static void
retry_later(struct turns *t)
{
	struct timeval tv = { LIMIT_FINISH_RETRY_SECONDS, 0 };
	evtimer_add(t->retry, &tv);
}

void
turn_end_keep(struct turns *t, json_t *final, const struct flow *f)
{
	log_error("chat %s: the end of reply %lld could not be stored; trying again",
	    str(final, "chat_id"), (long long)json_integer_value(json_object_get(final, "seq")));
	events_message_pending(t->events, final);
	struct unfinished *u = xcalloc(1, sizeof *u);
	u->message = json_incref(final);
	u->fenced = t->node != NULL;
	u->lease = f->lease;
	LIST_INSERT_HEAD(&t->unfinished, u, entry);
	if (!evtimer_pending(t->retry, NULL))
		retry_later(t);
}

static void
unfinished_free(struct unfinished *u)
{
	LIST_REMOVE(u, entry);
	json_decref(u->message);
	free(u);
}

static void
retry_now(void *arg)
{
	struct turns *t = arg;
	struct unfinished *u, *next;
	for (u = LIST_FIRST(&t->unfinished); u != NULL; u = next) {
		next = LIST_NEXT(u, entry);
		if (u->fenced)
			store_fence(t->store, &u->lease);
		enum store_status rc = turn_end_store(t, u->message);
		store_fence(t->store, NULL);
		/*
		 * stored; or another node took the chat's turns over (it ends the
		 * reply); or the message was deleted meanwhile
		 */
		if (rc == STORE_OK || rc == STORE_FENCED || rc == STORE_NOT_FOUND)
			unfinished_free(u);
	}
	if (!LIST_EMPTY(&t->unfinished))
		retry_later(t);
}

static void
retry_unfinished(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fiber_run_serial(retry_now, arg);
}

json_t *
turn_end_waiting(struct turns *t, const char *chat_id)
{
	struct unfinished *u;
	LIST_FOREACH(u, &t->unfinished, entry)
		if (strcmp(str(u->message, "chat_id"), chat_id) == 0)
			return u->message;
	return NULL;
}

void
turn_ends_init(struct turns *t, struct event_base *base)
{
	LIST_INIT(&t->unfinished);
	t->retry = evtimer_new(base, retry_unfinished, t);
}

void
turn_ends_free(struct turns *t)
{
	retry_now(t);	/* a last try; what is left is recovered at start */
	while (!LIST_EMPTY(&t->unfinished))
		unfinished_free(LIST_FIRST(&t->unfinished));
	event_free(t->retry);
}

void
turns_recover(struct turns *t)
{
	/* several nodes: a live node's reply is under its lease; a dead one's lease lapses */
	json_t *left = t->node != NULL ? store_messages_unleased(t->store) :
	    store_messages_streaming(t->store);
	size_t i;
	json_t *m;
	json_array_foreach(left, i, m) {
		json_t *msg;
		if (events_message_finish(t->events, str(m, "chat_id"),
		    (uint64_t)json_integer_value(json_object_get(m, "seq")), str(m, "body"),
		    "stopped", "the server restarted while this reply was being written",
		    &msg) == STORE_OK)
			json_decref(msg);
	}
	if (json_array_size(left) > 0)
		log_info("marked %zu interrupted replies as stopped", json_array_size(left));
	json_decref(left);
}
