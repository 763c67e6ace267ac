/*
 * turn_leases.c - the turn flow across several nodes (turns.h, turns_share):
 * a flow lives on the node holding its chat's lease. The lease is taken
 * when a flow starts (flow_here), kept every LEASE_KEEP_MS with the flow's
 * queue, and every write of the flow checks it (flow_fence_on/off). What a
 * node is asked for a chat whose lease another node holds is kept with the
 * lease and that node told; it takes it (turns_asked). A lapsed lease (its
 * node died) is taken over: the dead node's reply ends "stopped", what it
 * was asked and never took is done, then its queue goes on.
 */
#include "chat/turns.h"
#include "chat/turns_impl.h"
#include "chat/events.h"
#include "metrics.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/fiber.h"
#include "util/log.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

static const char *
str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* ---------- the lease ---------- */

/* The flow's writes from here on check its lease (several nodes; fence_off ends it). */
void
flow_fence_on(struct flow *f)
{
	if (f->turns->node != NULL)
		store_fence(f->turns->store, &f->lease);
}

/* The fenced write's result, passed on; one that found the lease gone marks the flow lost. */
enum store_status
flow_fence_off(struct flow *f, enum store_status rc)
{
	if (f->turns->node == NULL)
		return rc;
	store_fence(f->turns->store, NULL);
	if (rc == STORE_FENCED && !f->lost) {
		log_warn("chat %s: its turn lease is lost (another node took it, or it lapsed);"
		    " this node stops writing its turns", flow_chat(f));
		f->lost = true;
	}
	return rc;
}

/* Keeps the lease LEASE_SECONDS more, with what a node taking over would go on with. */
void
flow_lease_keep(struct flow *f)
{
	if (f->turns->node == NULL || f->lost)
		return;
	json_t *saved = json_pack("{s:O, s:I, s:I, s:o}", "queue", f->queue, "bot_turns",
	    (json_int_t)f->bot_turns, "auto_left", (json_int_t)f->auto_left, "turn",
	    flow_state(f));
	bool asked = false;
	enum store_status rc = store_lease_keep(f->turns->store, &f->lease, saved, &asked);
	if (asked)
		turns_asked(f->turns, flow_chat(f));	/* the word through Redis may be lost */
	int64_t now = monotonic_ms();
	if (rc == STORE_OK)
		f->kept_ms = now;
	/* not kept for so long that it may lapse (the database away): as good as lost */
	if (rc == STORE_FENCED || now - f->kept_ms > LEASE_SECONDS * 1000 - LEASE_KEEP_MS)
		flow_fence_off(f, STORE_FENCED);
	json_decref(saved);
}

static void took_over(struct flow *f, const char *node, json_t *saved);
static void do_kept_asks(struct turns *t, struct flow *f);

/*
 * The chat's flow on this node, made if need be; with several nodes only
 * while this node holds (or can take) the chat's lease: taken from a node
 * that let it lapse (it died), its reply ends, its queue goes on here, and
 * what it was asked and never took is done, all before the caller's turn.
 * When another node holds it, what was asked (trigger, taken) goes there
 * and NULL comes back.
 */
struct flow *
flow_here(struct turns *t, const char *chat_id, json_t *trigger)
{
	struct flow *f = flow_get(t, chat_id, false);
	if (f != NULL || t->node == NULL) {
		json_decref(trigger);
		return f != NULL ? f : flow_get(t, chat_id, true);
	}
	struct lease l = { .fence = 0 };
	char holder[LEASE_NODE_MAX] = "";
	json_t *saved = NULL;
	snprintf(l.chat_id, sizeof l.chat_id, "%s", chat_id);
	snprintf(l.node, sizeof l.node, "%s", t->node);
	enum store_status rc = store_lease_take(t->store, &l, holder, &saved, trigger);
	if (rc == STORE_OK) {
		f = flow_get(t, chat_id, true);
		f->lease = l;
		f->kept_ms = monotonic_ms();
		if (holder[0] != '\0') {
			took_over(f, holder, saved);
			do_kept_asks(t, f);	/* what the dead node never took, first */
		}
		json_decref(saved);
	} else if (rc == STORE_CONFLICT) {
		if (trigger != NULL)
			events_ask_turn(t->events, holder, chat_id);
	} else {
		log_warn("chat %s: its turn lease cannot be taken now; a turn asked for is lost",
		    chat_id);
	}
	json_decref(trigger);
	return f;
}

/* Does what another node was asked for the chat (a trigger of flow_here). */
static void
do_asked(struct turns *t, const char *chat_id, json_t *asked)
{
	const char *what = str(asked, "do");
	json_t *chat, *bot = json_object_get(asked, "bot");
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(asked, "seq"));
	if (what == NULL || store_chat_get(t->store, chat_id, &chat) != STORE_OK)
		return;
	if (strcmp(what, "message") == 0 && json_is_object(json_object_get(asked, "message")))
		turns_on_message(t, chat, json_object_get(asked, "message"));
	else if (strcmp(what, "request") == 0 && json_is_object(bot))
		turns_request(t, chat, bot);
	else if (strcmp(what, "redo") == 0 && json_is_object(bot))
		turns_redo(t, chat, bot, seq, json_is_true(json_object_get(asked, "fresh")));
	else if (strcmp(what, "stop") == 0)
		turns_stop(t, chat_id);
	else if (strcmp(what, "end_auto") == 0)
		turns_end_auto(t, chat_id);
	else if (strcmp(what, "stop_reply") == 0) {
		turns_stop_message(t, chat_id, seq);	/* the asking node deletes it */
		turns_go_on(t, chat_id);
	}
	json_decref(chat);
}

/* ---------- taking a dead node's flows over ---------- */

/* The reply (m, its Message) ends under the flow's new lease, or is kept and stored again. */
static void
end_orphan(struct flow *f, json_t *m, const char *body, const char *state, const char *why)
{
	json_t *final = json_deep_copy(m);
	json_object_set_new(final, "body", json_string(body));
	json_object_set_new(final, "state", json_string(state));
	json_object_set_new(final, "error", why ? json_string(why) : json_null());
	flow_fence_on(f);
	enum store_status rc = flow_fence_off(f, turn_end_store(f->turns, final));
	if (rc != STORE_OK && rc != STORE_FENCED && rc != STORE_NOT_FOUND)
		turn_end_keep(f->turns, final, f);
	json_decref(final);
}

/*
 * The replies the lost node was writing end "stopped", with the longest text
 * known; one whose end this node has waiting to be stored (its own lease
 * lapsed while the database was away) ends as that says. False when they
 * could not be read: the flow keeps the node's name, and the lease tick
 * tries again.
 */
static bool
stop_orphans(struct flow *f, const char *node)
{
	struct turns *t = f->turns;
	char lost[LEASE_NODE_MAX];
	snprintf(lost, sizeof lost, "%s", node);	/* node may be f->orphans_of */
	json_t *left = store_messages_streaming(t->store), *m;
	snprintf(f->orphans_of, sizeof f->orphans_of, "%s", left == NULL ? lost : "");
	if (left == NULL)
		return false;
	json_t *seen = events_reply_elsewhere(t->events, flow_chat(f));
	char error[160];
	if (strcmp(lost, t->node) == 0)		/* this one, its lease lapsed meanwhile */
		snprintf(error, sizeof error, "the database was away while this reply was written");
	else
		snprintf(error, sizeof error, "the node writing this reply (%.*s) was lost",
		    (int)strcspn(lost, "/"), lost);
	size_t i;
	json_t *waiting = turn_end_waiting(t, flow_chat(f));
	json_array_foreach(left, i, m) {
		const char *body = str(m, "body"), *state = "stopped", *why = error;
		json_t *seq = json_object_get(m, "seq");
		if (strcmp(str(m, "chat_id"), flow_chat(f)) != 0)
			continue;
		if (seen != NULL && json_equal(json_object_get(seen, "seq"), seq) &&
		    strlen(str(seen, "body")) > strlen(body))
			body = str(seen, "body");	/* what the tabs were shown */
		if (waiting != NULL && json_equal(json_object_get(waiting, "seq"), seq)) {
			body = str(waiting, "body");
			state = str(waiting, "state");
			why = str(waiting, "error");
		}
		end_orphan(f, m, body, state, why);
	}
	json_decref(seen);
	json_decref(left);
	return true;
}

/* The lease came from `node`, which let it lapse: its reply ends; its queue (saved) goes on. */
static void
took_over(struct flow *f, const char *node, json_t *saved)
{
	log_warn("chat %s: took its turns over from %s, which stopped keeping them",
	    flow_chat(f), node);
	metrics_add(METRIC_LEASE_TAKEOVERS, 1);
	stop_orphans(f, node);
	json_t *queue = json_object_get(saved, "queue");
	json_decref(f->queue);
	f->queue = json_is_array(queue) ? json_deep_copy(queue) : json_array();
	f->bot_turns = (unsigned)json_integer_value(json_object_get(saved, "bot_turns"));
	f->auto_left = (unsigned)json_integer_value(json_object_get(saved, "auto_left"));
	json_decref(f->published);
	f->published = json_null();	/* the tabs hear the state anew */
}

/*
 * What other nodes asked of the chat's flow, kept with its lease, taken and
 * done here, in order. After a takeover these are what the dead node never
 * took, done before its queue goes on and before what brought this node
 * there (a stop asked of it must not stop the turn asked now). The flow
 * stays meanwhile, whatever those do: the caller settles it.
 */
static void
do_kept_asks(struct turns *t, struct flow *f)
{
	json_t *asked = NULL, *one;
	size_t i;
	enum store_status rc = store_lease_asked(t->store, &f->lease, &asked);
	if (rc != STORE_OK) {
		if (rc == STORE_FENCED)
			f->lost = true;		/* another node has the lease now */
		else
			turns_asked(t, flow_chat(f));	/* looked at again soon */
		return;
	}
	f->doing_asked = true;
	json_array_foreach(asked, i, one)
		do_asked(t, flow_chat(f), one);
	f->doing_asked = false;
	json_decref(asked);
}

/* A lease that lapsed: ours is kept again (the database was away); another's is taken over. */
static void
take_over(struct turns *t, const char *chat_id)
{
	struct flow *f = flow_get(t, chat_id, false);
	char other[LEASE_NODE_MAX];
	json_t *saved = NULL;
	if (f != NULL) {
		if (store_lease_take(t->store, &f->lease, other, &saved, NULL) != STORE_OK) {
			f->lost = true;
			flow_free(f);	/* its reply too, without a word more */
		} else {
			f->kept_ms = monotonic_ms();
		}
		json_decref(saved);
		return;
	}
	if ((f = flow_here(t, chat_id, NULL)) != NULL)	/* else another node was first */
		flow_next(f);
}

/* Every LEASE_KEEP_MS: our leases kept (a lost one ends its flow), the lapsed taken over. */
static void
keep_and_take(void *arg)
{
	struct turns *t = arg;
	struct idmap_entry *e, *tmp;
	IDMAP_FOREACH(&t->flows, e, tmp) {
		struct flow *f = container_of(e, struct flow, entry);
		flow_lease_keep(f);
		if (!f->lost && f->orphans_of[0] != '\0' && stop_orphans(f, f->orphans_of))
			flow_next(f);		/* its queue waited for those */
		else if (f->lost)
			flow_free(f);	/* its reply too, without a word more */
	}
	json_t *lapsed = store_leases_lapsed(t->store), *l;
	size_t i;
	json_array_foreach(lapsed, i, l)
		take_over(t, str(l, "chat_id"));
	json_decref(lapsed);
}

static void
leases_due(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fiber_run_serial(keep_and_take, arg);
}

/* What other nodes asked of the chat's flow (kept with its lease), done here. */
static void
take_asked(struct turns *t, const char *chat_id)
{
	struct flow *f = flow_here(t, chat_id, NULL);
	if (f == NULL)
		return;
	do_kept_asks(t, f);
	flow_next(f);	/* nothing asked: an idle flow just made ends again */
}

/* The chats to look at now; those asked for meanwhile get a turn of their own after. */
static void
look_all(void *arg)
{
	struct turns *t = arg;
	json_t *chats = t->to_look, *id;
	size_t i;
	t->to_look = json_array();
	json_array_foreach(chats, i, id)
		if (!t->stopping)
			take_asked(t, json_string_value(id));
	json_decref(chats);
	t->looking = false;
	if (json_array_size(t->to_look) > 0)
		event_active(t->look, 0, 0);
}

static void
look_due(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct turns *t = arg;
	if (!t->looking && !t->stopping && json_array_size(t->to_look) > 0) {
		t->looking = true;
		fiber_run_serial(look_all, t);
	}
}

void
turns_asked(struct turns *t, const char *chat_id)
{
	size_t i;
	json_t *id;
	json_array_foreach(t->to_look, i, id)
		if (strcmp(json_string_value(id), chat_id) == 0)
			return;
	json_array_append_new(t->to_look, json_string(chat_id));
	event_active(t->look, 0, 0);
}

void
turns_share(struct turns *t, const char *node)
{
	t->node = node;
	struct timeval every = { LEASE_KEEP_MS / 1000, LEASE_KEEP_MS % 1000 * 1000 };
	event_add(t->leases, &every);
}

void
turn_leases_init(struct turns *t, struct event_base *base)
{
	t->leases = event_new(base, -1, EV_PERSIST, leases_due, t);
	t->look = event_new(base, -1, 0, look_due, t);
	t->to_look = json_array();
}

void
turn_leases_free(struct turns *t)
{
	event_free(t->leases);
	event_free(t->look);
	json_decref(t->to_look);
}
