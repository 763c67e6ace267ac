/*
 * events.c - storing chat events, then publishing them; see events.h.
 */
#include "chat/events.h"
#include "limits.h"
#include "metrics.h"
#include "util/fiber.h"
#include "util/xmalloc.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

/* A person's message waiting for the end of the loop iteration. */
struct post {
	STAILQ_ENTRY(post)	 next;
	struct message_in	 in;		/* its strings are copies, freed with it */
	events_posted_fn	*posted;
	void			*arg;
};

STAILQ_HEAD(post_queue, post);

/* The chats a group of posts went to, for the chat lists. */
struct posted_chats {
	struct events		*ev;
	size_t			 n;
	char			*chat_id[LIMIT_POSTS_PER_COMMIT];
};

struct events {
	struct store		*store;
	struct bus		 bus;
	struct event		*settle;	/* end of the loop iteration */
	struct post_queue	 posts;
	bool			 committing;	/* the committer runs (commit_group) */
	uint64_t		 chat_changes;	/* events_chat_changes */
};

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void
post_free(struct post *p)
{
	free((char *)p->in.chat_id);
	free((char *)p->in.kind);
	free((char *)p->in.author);
	free((char *)p->in.user_id);
	free((char *)p->in.bot_id);
	free((char *)p->in.body);
	free((char *)p->in.state);
	free(p);
}

/* In the services' turn: the chat lists hear of each chat. */
static void
list_chats(void *arg)
{
	struct posted_chats *pc = arg;
	for (size_t i = 0; i < pc->n; i++) {
		events_list_chat(pc->ev, pc->chat_id[i]);
		free(pc->chat_id[i]);
	}
	free(pc);
}

/* The chat lists, if any is open, hear once of each chat that took posts in one commit. */
static void
list_chats_posted(struct events *ev, const struct message_in *in,
    const struct message_added *out, size_t n)
{
	if (!bus_lists_heard(&ev->bus))
		return;
	struct posted_chats *pc = xmalloc(sizeof *pc);
	pc->ev = ev;
	pc->n = 0;
	for (size_t i = 0; i < n; i++) {
		bool first = out[i].status == STORE_OK;
		for (size_t j = 0; first && j < i; j++)
			first = out[j].status != STORE_OK || strcmp(in[j].chat_id, in[i].chat_id) != 0;
		if (first)
			pc->chat_id[pc->n++] = xstrdup(in[i].chat_id);
	}
	if (pc->n > 0)
		fiber_run_serial(list_chats, pc);
	else
		free(pc);
}

/*
 * Stores up to LIMIT_POSTS_PER_COMMIT posts in one transaction and
 * publishes the durable ones in order as soon as it ends (the store keeps
 * its connection until they are out, so event ids leave in order), then
 * tells each poster.
 */
static void
commit_some(struct events *ev)
{
	struct post *batch[LIMIT_POSTS_PER_COMMIT];
	struct message_in in[LIMIT_POSTS_PER_COMMIT];
	struct message_added out[LIMIT_POSTS_PER_COMMIT];
	size_t n = 0;
	while (n < LIMIT_POSTS_PER_COMMIT && !STAILQ_EMPTY(&ev->posts)) {
		batch[n] = STAILQ_FIRST(&ev->posts);
		STAILQ_REMOVE_HEAD(&ev->posts, next);
		in[n] = batch[n]->in;
		n++;
	}
	if (store_messages_add(ev->store, in, n, out) == STORE_OK)
		metrics_add(METRIC_POST_COMMITS, 1);
	for (size_t i = 0; i < n; i++)
		if (out[i].status == STORE_OK) {
			metrics_add(METRIC_POSTS_COMMITTED, 1);
			bus_publish(&ev->bus, in[i].chat_id, out[i].event_id, "message",
			    out[i].message);
		}
	list_chats_posted(ev, in, out, n);
	for (size_t i = 0; i < n; i++) {
		batch[i]->posted(batch[i]->arg, out[i].message, out[i].status);
		json_decref(out[i].message);
		post_free(batch[i]);
	}
}

/*
 * The committer, one group at a time: while its round trip is out, the
 * services go on (and queue the next posts); once it is in, the next group
 * goes out at the end of this loop iteration, with the posts that came in it.
 */
static void
commit_group(void *arg)
{
	struct events *ev = arg;
	ev->committing = true;
	commit_some(ev);
	ev->committing = false;
	if (!STAILQ_EMPTY(&ev->posts))
		event_active(ev->settle, 0, 0);
}

static void
commit_all(struct events *ev)
{
	while (!STAILQ_EMPTY(&ev->posts))
		commit_some(ev);
}

/* The loop iteration's posts are in: the committer takes them, unless it runs already. */
static void
settle(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct events *ev = arg;
	if (!ev->committing && !STAILQ_EMPTY(&ev->posts))
		fiber_run(commit_group, ev);
}

struct events *
events_new(struct event_base *base, struct store *st, struct bus bus)
{
	struct events *ev = xcalloc(1, sizeof *ev);
	ev->store = st;
	ev->bus = bus;
	ev->settle = event_new(base, -1, 0, settle, ev);
	STAILQ_INIT(&ev->posts);
	return ev;
}

void
events_flush(struct events *ev)
{
	commit_all(ev);
}

void
events_free(struct events *ev)
{
	if (ev == NULL)
		return;
	commit_all(ev);
	event_free(ev->settle);
	free(ev);
}

void
events_post(struct events *ev, const struct message_in *in, events_posted_fn *posted, void *arg)
{
	struct post *p = xcalloc(1, sizeof *p);
	p->in = (struct message_in){ .chat_id = xstrdup(in->chat_id), .kind = xstrdup(in->kind),
	    .author = dup_or_null(in->author), .user_id = dup_or_null(in->user_id),
	    .bot_id = dup_or_null(in->bot_id),
	    .body = xstrdup(in->body), .state = xstrdup(in->state) };
	p->posted = posted;
	p->arg = arg;
	STAILQ_INSERT_TAIL(&ev->posts, p, next);
	event_active(ev->settle, 0, 0);
}

enum store_status
events_message_add(struct events *ev, const struct message_in *in, json_t **message)
{
	struct message_added out;
	enum store_status rc = store_messages_add(ev->store, in, 1, &out);
	*message = out.message;
	if (rc != STORE_OK || out.status != STORE_OK)
		return rc != STORE_OK ? rc : out.status;
	bus_publish(&ev->bus, in->chat_id, out.event_id, "message", out.message);
	return STORE_OK;
}

enum store_status
events_message_finish(struct events *ev, const char *chat_id, uint64_t seq, const char *body,
    const char *state, const char *error, json_t **message)
{
	uint64_t id;
	enum store_status rc = store_message_finish(ev->store, chat_id, seq, body, state, error,
	    message, &id);
	if (rc == STORE_OK) {
		bus_publish(&ev->bus, chat_id, id, "message-update", *message);
		events_list_chat(ev, chat_id);
	}
	return rc;
}

void
events_message_pending(struct events *ev, json_t *message)
{
	bus_publish(&ev->bus, json_string_value(json_object_get(message, "chat_id")), 0,
	    "message-update", message);
}

uint64_t
events_chat_changes(const struct events *ev)
{
	return ev->chat_changes;
}

void
events_chats_changed(struct events *ev)
{
	ev->chat_changes++;
	bus_changed(&ev->bus, BUS_CHANGED_CHATS);
}

void
events_heard_change(struct events *ev)
{
	ev->chat_changes++;
}

void
events_ask_turn(struct events *ev, const char *to, const char *chat_id)
{
	bus_ask_turn(&ev->bus, to, chat_id);
}

json_t *
events_reply_elsewhere(struct events *ev, const char *chat_id)
{
	return bus_reply_elsewhere(&ev->bus, chat_id);
}

void
events_bots_changed(struct events *ev)
{
	bus_changed(&ev->bus, BUS_CHANGED_BOTS);
}

enum store_status
events_chat_update(struct events *ev, const char *chat_id, const struct chat_change *change,
    json_t **chat)
{
	uint64_t id;
	enum store_status rc = store_chat_update(ev->store, chat_id, change, chat, &id);
	if (rc == STORE_OK) {
		events_chats_changed(ev);
		bus_publish(&ev->bus, chat_id, id, "chat", *chat);
		events_list_chat(ev, chat_id);
	}
	return rc;
}

/* A change of a message was stored (rc): published (id 0: nothing changed). */
static enum store_status
message_changed(struct events *ev, const char *chat_id, enum store_status rc, uint64_t id,
    json_t *message)
{
	if (rc == STORE_OK && id > 0) {
		bus_publish(&ev->bus, chat_id, id, "message-update", message);
		events_list_chat(ev, chat_id);
	}
	return rc;
}

enum store_status
events_message_edit(struct events *ev, const char *chat_id, uint64_t seq, const char *body,
    json_t **message)
{
	uint64_t id = 0;
	*message = NULL;
	enum store_status rc = store_message_edit(ev->store, chat_id, seq, body, message, &id);
	if (rc == STORE_OK)
		bus_forget(&ev->bus, chat_id);	/* a replay shows it as it now is */
	return message_changed(ev, chat_id, rc, id, *message);
}

enum store_status
events_message_reopen(struct events *ev, const char *chat_id, uint64_t seq, bool fresh,
    json_t **message)
{
	uint64_t id = 0;
	*message = NULL;
	enum store_status rc = store_message_reopen(ev->store, chat_id, seq, fresh, message, &id);
	return message_changed(ev, chat_id, rc, id, *message);
}

enum store_status
events_message_pick(struct events *ev, const char *chat_id, uint64_t seq, unsigned index,
    json_t **message)
{
	uint64_t id = 0;
	*message = NULL;
	enum store_status rc = store_message_pick(ev->store, chat_id, seq, index, message, &id);
	return message_changed(ev, chat_id, rc, id, *message);
}

enum store_status
events_message_delete(struct events *ev, const char *chat_id, uint64_t seq)
{
	uint64_t id;
	enum store_status rc = store_message_delete(ev->store, chat_id, seq, &id);
	if (rc == STORE_OK) {
		bus_forget(&ev->bus, chat_id);	/* no replay shows it again */
		json_t *data = json_pack("{s:I}", "seq", (json_int_t)seq);
		bus_publish(&ev->bus, chat_id, id, "message-deleted", data);
		json_decref(data);
		events_list_chat(ev, chat_id);
	}
	return rc;
}

void
events_ephemeral(struct events *ev, const char *chat_id, const char *name, json_t *data)
{
	bus_publish(&ev->bus, chat_id, 0, name, data);
}

void
events_ephemeral_here(struct events *ev, const char *chat_id, const char *name, json_t *data)
{
	bus_publish_local(&ev->bus, chat_id, name, data);
}

void
events_deliver_here(struct events *ev, const char *chat_id, uint64_t id, const char *name,
    json_t *data)
{
	bus_deliver_here(&ev->bus, chat_id, id, name, data);
}

void
events_share_presence(struct events *ev, const char *chat_id, json_t *people)
{
	bus_share_presence(&ev->bus, chat_id, people);
}

enum store_status
events_turn(struct events *ev, const char *chat_id, json_t *state)
{
	uint64_t id;
	enum store_status rc = store_event_append(ev->store, chat_id, "turn", state, &id);
	/* a state that cannot be stored is still shown (without an id): tabs must not wait on it */
	if (rc == STORE_OK || rc == STORE_ERROR)
		bus_publish(&ev->bus, chat_id, rc == STORE_OK ? id : 0, "turn", state);
	return rc;
}

/* The ids of the chat's members (NULL when they cannot be read: then everyone). */
static json_t *
member_ids(struct events *ev, const char *chat_id)
{
	json_t *members = store_member_list(ev->store, chat_id), *ids = NULL, *m;
	size_t i;
	if (members != NULL) {
		ids = json_array();
		json_array_foreach(members, i, m)
			json_array_append(ids, json_object_get(m, "id"));
	}
	json_decref(members);
	return ids;
}

enum store_status
events_chat_delete(struct events *ev, const char *chat_id)
{
	json_t *had = member_ids(ev, chat_id);	/* whose lists show it (and administrators') */
	enum store_status rc = store_chat_delete(ev->store, chat_id);
	if (rc != STORE_OK) {
		json_decref(had);
		return rc;
	}
	events_chats_changed(ev);
	json_t *data = json_pack("{s:s}", "chat_id", chat_id);
	bus_publish(&ev->bus, chat_id, 0, "deleted", data);
	bus_end_chat(&ev->bus, chat_id);
	json_decref(data);
	data = json_pack("{s:s}", "id", chat_id);
	bus_publish_list(&ev->bus, had, false, "list-gone", data);
	json_decref(data);
	json_decref(had);
	return STORE_OK;
}

/* ---------- the chat lists ---------- */

void
events_list_chat(struct events *ev, const char *chat_id)
{
	if (!bus_lists_heard(&ev->bus))
		return;		/* no list open anywhere: nothing to read */
	json_t *item = store_chat_item(ev->store, chat_id);
	if (item == NULL)
		return;
	json_object_del(item, "read_seq");	/* whose, on the wire? nobody's */
	json_t *audience = json_incref(json_object_get(item, "members"));
	json_object_del(item, "members");
	if (audience != NULL)
		bus_publish_list(&ev->bus, audience, false, "list-chat", item);
	json_decref(audience);
	json_decref(item);
}

void
events_list_gone(struct events *ev, const char *chat_id, const char *user_id)
{
	json_t *data = json_pack("{s:s}", "id", chat_id);
	json_t *audience = json_pack("[s]", user_id);
	bus_publish_list(&ev->bus, audience, true, "list-gone", data);
	json_decref(audience);
	json_decref(data);
}

void
events_list_read(struct events *ev, const char *chat_id, const char *user_id, uint64_t seq)
{
	json_t *data = json_pack("{s:s, s:I}", "id", chat_id, "seq", (json_int_t)seq);
	json_t *audience = json_pack("[s]", user_id);
	bus_publish_list(&ev->bus, audience, true, "list-read", data);
	json_decref(audience);
	json_decref(data);
}

void
events_end_streams(struct events *ev, const struct bus_match *m)
{
	bus_end_streams(&ev->bus, m);
}

void
events_token(struct events *ev, const char *chat_id, uint64_t seq, const char *text, size_t len)
{
	json_t *token = json_pack("{s:I, s:s%}", "seq", (json_int_t)seq, "delta", text, len);
	if (token != NULL) {
		bus_publish(&ev->bus, chat_id, 0, "token", token);
		json_decref(token);
	}
}
