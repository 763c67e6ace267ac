/*
 * turns.c - the turn flow; see turns.h.
 *
 * A flow exists while a chat has a reply running or turns queued. Starting a
 * turn stores the bot's message as "streaming" (a durable "message" event;
 * a regenerated or continued one is reopened, a "message-update"),
 * then the backend's pieces go out as ephemeral "token" events and are kept
 * in memory; the end stores the text with its final state (a durable
 * "message-update"). Every change of speaker or queue is a durable "turn".
 * Events go through the events module; the store is only read here, but
 * for the text so far of a reply, saved now and then for a crash. A reply
 * always ends: when its end cannot be stored, tabs are shown the end at once
 * and storing it is tried again (turn_ends.c). Who takes the turns is
 * turn_picks.c's.
 *
 * A queued turn is {"bot": Bot} and, to write an existing message again,
 * "seq" and "fresh" (a new alternative; else continued), or "auto" (one of
 * the chat's auto rounds). Muted bots are never picked by a policy.
 *
 * The backends call back from the loop: a token goes out at once, and what
 * needs the store (saving the text so far, the end) runs in a serial fiber
 * (util/fiber.h), after the services' work before it; by then a stop may
 * have ended the reply, so the fiber finds it again by its id, or not.
 *
 * With several nodes (turns_share) a flow lives on the node holding the
 * chat's lease, and every write of the flow checks it: turn_leases.c.
 */
#include "chat/turns.h"
#include "chat/turns_impl.h"
#include "backends/backend.h"
#include "chat/events.h"
#include "limits.h"
#include "metrics.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/fiber.h"
#include "util/idmap.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xmalloc.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>

#define FLOW_BUCKETS	256

struct reply {
	struct flow		*flow;
	uint64_t		 id;		/* this server's number for it, never reused */
	json_t			*bot;		/* the Bot speaking */
	json_t			*message;	/* its Message as first stored */
	uint64_t		 seq;
	struct buf		 text;		/* what it said so far */
	time_t			 saved;		/* when the text so far was last stored */
	struct reply_job	*job;		/* NULL once the backend ended */
	bool			 redo;		/* writes an existing message again */
	unsigned		 posts_at;	/* the flow's posts when it started */
};


/* A reply named by a backend's callback, for a fiber that runs later. */
struct reply_ref {
	struct turns	*turns;
	char		 chat_id[ID_LEN + 1];
	uint64_t	 reply_id;
};

/* ---------- small helpers ---------- */

static const char *
str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static json_t *
idle_state(void)
{
	return json_pack("{s:s, s:n, s:[], s:i}", "state", "idle", "speaker", "queue",
	    "auto_left", 0);
}

json_t *
flow_state(const struct flow *f)
{
	json_t *names = json_array();
	size_t i;
	json_t *turn;
	json_array_foreach(f->queue, i, turn)
		json_array_append(names, json_object_get(json_object_get(turn, "bot"), "name"));
	json_t *speaker = f->reply ? json_object_get(f->reply->bot, "name") : json_null();
	return json_pack("{s:s, s:O, s:o, s:I}", "state", f->reply ? "running" : "idle",
	    "speaker", speaker, "queue", names, "auto_left", (json_int_t)f->auto_left);
}

json_t *
turn_queued(json_t *bot, uint64_t seq, bool fresh, bool automatic)
{
	json_t *turn = json_pack("{s:O}", "bot", bot);
	if (seq > 0) {
		json_object_set_new(turn, "seq", json_integer((json_int_t)seq));
		json_object_set_new(turn, "fresh", json_boolean(fresh));
	}
	if (automatic)
		json_object_set_new(turn, "auto", json_true());
	return turn;
}

const char *
flow_chat(const struct flow *f)
{
	return f->entry.id;
}

static void reply_free(struct reply *r);

/* Frees the flow; with several nodes its lease is given up, unless it was lost. */
void
flow_free(struct flow *f)
{
	struct turns *t = f->turns;
	/* asked something meanwhile, the lease stays: what was asked is taken next */
	if (t->node != NULL && !f->lost &&
	    store_lease_end(t->store, &f->lease) == STORE_CONFLICT)
		turns_asked(t, flow_chat(f));
	if (f->reply != NULL)
		reply_free(f->reply);	/* lost: it ends without a word more */
	idmap_remove(&t->flows, &f->entry);
	json_decref(f->queue);
	json_decref(f->published);
	free(f);
}

/*
 * Sends a "turn" event when speaker or queue changed (and keeps the lease
 * with it); frees an idle, empty flow, or one that lost its lease and has
 * no reply running (the caller may still hold it; the lease tick frees it).
 */
void
flow_settle(struct flow *f)
{
	json_t *state = flow_state(f);
	if (!f->lost && !json_equal(state, f->published)) {
		json_decref(f->published);
		f->published = json_incref(state);
		/* the lease first: a snapshot elsewhere that has the event reads this state */
		flow_lease_keep(f);
		flow_fence_on(f);
		flow_fence_off(f, events_turn(f->turns->events, flow_chat(f), state));
	}
	json_decref(state);
	if (!f->doing_asked && f->reply == NULL && (f->lost || (json_array_size(f->queue) == 0 &&
	    f->auto_left == 0 && (f->orphans_of[0] == '\0' || f->turns->stopping))))
		flow_free(f);
}

struct flow *
flow_get(struct turns *t, const char *chat_id, bool create)
{
	struct idmap_entry *e = idmap_find(&t->flows, chat_id);
	if (e != NULL)
		return container_of(e, struct flow, entry);
	if (!create)
		return NULL;
	struct flow *f = xcalloc(1, sizeof *f);
	f->turns = t;
	f->queue = json_array();
	f->published = idle_state();
	idmap_insert(&t->flows, &f->entry, chat_id);
	return f;
}

/* ---------- a reply ---------- */

static void
reply_free(struct reply *r)
{
	backend_cancel(r->job);
	json_decref(r->bot);
	json_decref(r->message);
	buf_free(&r->text);
	free(r);
}

/* The reply's Message as it ends: its text, state and error. */
static json_t *
final_message(struct reply *r, const char *state, const char *error)
{
	json_t *final = json_deep_copy(r->message);
	json_object_set_new(final, "body", json_stringn(r->text.data ? r->text.data : "",
	    r->text.len));
	json_object_set_new(final, "state", json_string(state));
	json_object_set_new(final, "error", error ? json_string(error) : json_null());
	return final;
}

/* Stores the reply's text with its final state and publishes it; frees the reply. */
static void
reply_finish(struct reply *r, const char *state, const char *error)
{
	struct turns *t = r->flow->turns;
	json_t *final = final_message(r, state, error);
	backend_cancel(r->job);		/* no word after the final text while it is stored */
	r->job = NULL;
	flow_fence_on(r->flow);
	enum store_status rc = flow_fence_off(r->flow, turn_end_store(t, final));
	if (rc != STORE_OK && rc != STORE_FENCED && rc != STORE_NOT_FOUND)
		turn_end_keep(t, final, r->flow);	/* NOT_FOUND: deleted, or ended elsewhere */
	json_decref(final);
	metrics_count_reply(state);
	r->flow->reply = NULL;
	reply_free(r);
}

static struct reply_ref
reply_ref_of(struct reply *r)
{
	struct reply_ref ref = { .turns = r->flow->turns, .reply_id = r->id };
	snprintf(ref.chat_id, sizeof ref.chat_id, "%s", flow_chat(r->flow));
	return ref;
}

/* The reply ref names, while it is still being written; else NULL. */
static struct reply *
reply_find(const struct reply_ref *ref)
{
	struct flow *f = flow_get(ref->turns, ref->chat_id, false);
	return f != NULL && f->reply != NULL && f->reply->id == ref->reply_id ? f->reply : NULL;
}

static void
save_text(void *arg)
{
	struct reply_ref *ref = arg;
	struct reply *r = reply_find(ref);
	if (r != NULL) {
		/* a copy: tokens keep growing the text (and moving it) while the store waits */
		char *text = xstrdup(r->text.data ? r->text.data : "");
		struct flow *f = r->flow;
		flow_fence_on(f);
		flow_fence_off(f, store_message_save_text(ref->turns->store, ref->chat_id, r->seq, text));
		free(text);
	}
	free(ref);
}

/* A crash then keeps the reply's words up to the last save (marked stopped at restart). */
static void
save_text_now_and_then(struct reply *r)
{
	time_t now = time(NULL);
	if (now - r->saved < LIMIT_REPLY_SAVE_SECONDS)
		return;
	r->saved = now;
	struct reply_ref *ref = xmalloc(sizeof *ref);
	*ref = reply_ref_of(r);
	fiber_run_serial(save_text, ref);
}

/* A piece of the reply: kept and sent; past LIMIT_REPLY_BYTES the reply is cut there and ends. */
static void
reply_text(void *arg, const char *text, size_t len)
{
	struct reply *r = arg;
	if (r->flow->lost)
		return;		/* another node has taken the chat's turns over */
	size_t room = LIMIT_REPLY_BYTES - r->text.len;
	bool cut = len > room;
	if (cut)
		len = text_utf8_prefix(text, len, room);
	if (len > 0) {
		buf_add(&r->text, text, len);
		save_text_now_and_then(r);
		events_token(r->flow->turns->events, flow_chat(r->flow), r->seq, text, len);
	}
	if (cut)
		backend_end_soon(r->job, "the reply grew too long and was cut");
}

static void turns_after_bot(struct flow *f, const char *text, json_t *bot);

/* The backend ended the reply: stored and published, then the flow goes on. */
static void
reply_ended(struct reply *r, const char *error)
{
	struct flow *f = r->flow;
	json_t *bot = json_incref(r->bot);
	char *text = xstrdup(r->text.data ? r->text.data : "");
	bool pulls = !r->redo && r->posts_at == f->posts;	/* not outrun by a newer post */
	reply_finish(r, error ? "failed" : "complete", error);
	if (error == NULL && pulls)
		turns_after_bot(f, text, bot);
	free(text);
	json_decref(bot);
	flow_next(f);
}

struct reply_end {
	struct reply_ref	 ref;
	char			*error;
};

static void
reply_end_stored(void *arg)
{
	struct reply_end *end = arg;
	struct reply *r = reply_find(&end->ref);
	if (r != NULL)		/* else stopped meanwhile */
		reply_ended(r, end->error);
	free(end->error);
	free(end);
}

static void
reply_end(void *arg, const char *error)
{
	struct reply *r = arg;
	r->job = NULL;		/* the backend frees it after this returns */
	struct reply_end *end = xmalloc(sizeof *end);
	end->ref = reply_ref_of(r);
	end->error = error ? xstrdup(error) : NULL;
	fiber_run_serial(reply_end_stored, end);
}

/*
 * The reply's message, streaming (a new one, or the turn's seq written again),
 * and what the bot sees: the messages before it (continued: up to it).
 */
static int
reply_message(struct flow *f, json_t *bot, json_t *turn, json_t **msg, json_t **context)
{
	struct turns *t = f->turns;
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(turn, "seq"));
	bool fresh = json_is_true(json_object_get(turn, "fresh"));
	if (store_messages_before(t->store, flow_chat(f), seq == 0 ? UINT64_MAX : seq + !fresh,
	    LIMIT_CONTEXT_MESSAGES, context) != STORE_OK)
		return -1;
	struct message_in in = { .chat_id = flow_chat(f), .kind = "bot",
	    .author = str(bot, "name"), .bot_id = str(bot, "id"), .body = "",
	    .state = "streaming" };
	flow_fence_on(f);
	enum store_status rc = flow_fence_off(f, seq == 0 ? events_message_add(t->events, &in, msg) :
	    events_message_reopen(t->events, flow_chat(f), seq, fresh, msg));
	if (rc != STORE_OK) {
		json_decref(*context);
		return -1;
	}
	return 0;
}

/* Starts the bot's turn: its streaming message, then the backend. */
static int
reply_start(struct flow *f, json_t *bot, json_t *turn)
{
	struct turns *t = f->turns;
	json_t *context, *msg;
	if (reply_message(f, bot, turn, &msg, &context) != 0)
		return -1;

	struct reply *r = xcalloc(1, sizeof *r);
	r->flow = f;
	r->id = ++t->replies;
	r->bot = json_incref(bot);
	r->message = msg;
	r->seq = (uint64_t)json_integer_value(json_object_get(msg, "seq"));
	r->saved = time(NULL);
	r->redo = json_object_get(turn, "seq") != NULL;
	r->posts_at = f->posts;
	buf_add(&r->text, str(msg, "body"), strlen(str(msg, "body")));
	f->reply = r;
	if (json_object_get(turn, "auto") == NULL && !r->redo)
		f->bot_turns++;
	flow_settle(f);
	struct reply_context ctx = { .bot = bot, .messages = context, .seq = r->seq,
	    .continuing = r->redo && r->text.len > 0,
	    .attempt = (unsigned)json_integer_value(json_object_get(msg, "alternative")) };
	r->job = backend_start(t->backends, &ctx, (struct reply_sink){ reply_text, reply_end, r });
	json_decref(context);
	return 0;
}

/* ---------- the flow ---------- */

/* True when the chat (a Chat) has the bot. */
static bool
chat_has_bot(json_t *chat, const char *bot_id)
{
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(chat, "bots"), i, b)
		if (strcmp(str(b, "id"), bot_id) == 0)
			return true;
	return false;
}

/*
 * True when the turn may start: the bots a person's message calls for all
 * answer (every bot, in round-robin); those bots' replies pull in (natural)
 * stop after LIMIT_BOT_TURNS replies in all.
 */
static bool
turn_allowed(const struct flow *f, json_t *turn)
{
	return !json_is_true(json_object_get(turn, "pulled")) || f->bot_turns < LIMIT_BOT_TURNS;
}

/*
 * Starts the queued turn, as the bot and the chat are now (or not at all:
 * a bot muted since its policy turn was queued keeps quiet; one asked for
 * speaks).
 */
static void
turn_start(struct flow *f, json_t *turn)
{
	struct turns *t = f->turns;
	json_t *chat = NULL, *bot = NULL;
	const char *bot_id = str(json_object_get(turn, "bot"), "id");
	bool asked = json_is_true(json_object_get(turn, "asked")) ||
	    json_object_get(turn, "seq") != NULL;
	if (store_chat_get(t->store, flow_chat(f), &chat) == STORE_OK &&
	    store_bot_get(t->store, bot_id, &bot) == STORE_OK &&
	    chat_has_bot(chat, bot_id) && (asked || !chat_muted(chat, bot_id)) &&
	    reply_start(f, bot, turn) != 0)
		log_warn("chat %s: could not start %s's turn", flow_chat(f), str(bot, "name"));
	json_decref(chat);
	json_decref(bot);
}

/*
 * Starts the next queued turn that can start (when the queue runs dry, an
 * auto round is queued while any are left); settles the flow either way.
 */
void
flow_next(struct flow *f)
{
	/* a lost node's replies not ended yet: nothing starts before they are */
	while (!f->lost && f->reply == NULL && f->orphans_of[0] == '\0' &&
	    (json_array_size(f->queue) > 0 || f->auto_left > 0)) {
		if (json_array_size(f->queue) == 0) {
			turn_pick_auto(f);
			continue;
		}
		json_t *turn = json_incref(json_array_get(f->queue, 0));
		json_array_remove(f->queue, 0);
		if (turn_allowed(f, turn))
			turn_start(f, turn);
		json_decref(turn);
	}
	flow_settle(f);
}

/* A bot finished: in a natural chat the bots it mentions join the queue. */
static void
turns_after_bot(struct flow *f, const char *text, json_t *bot)
{
	json_t *chat;
	if (store_chat_get(f->turns->store, flow_chat(f), &chat) != STORE_OK)
		return;
	json_t *more = turn_picks(f->turns, chat, text, str(bot, "id")), *turn;
	size_t i;
	json_array_foreach(more, i, turn)
		json_object_set_new(turn, "pulled", json_true());
	json_array_extend(f->queue, more);
	json_decref(more);
	json_decref(chat);
}

/* The queue becomes picks, after the turns people asked for (/turn, regenerate, continue). */
static void
keep_asked(struct flow *f, json_t *picks)
{
	json_t *queue = json_array(), *turn;
	size_t i;
	json_array_foreach(f->queue, i, turn)
		if (json_is_true(json_object_get(turn, "asked")))
			json_array_append(queue, turn);
	json_array_extend(queue, picks);
	json_decref(picks);
	json_decref(f->queue);
	f->queue = queue;
}

void
turns_on_message(struct turns *t, json_t *chat, json_t *message)
{
	const char *chat_id = str(chat, "id");
	json_t *queue = turn_picks(t, chat, str(message, "body"), NULL);
	bool answered = json_array_size(queue) > 0;
	struct flow *f = flow_get(t, chat_id, false);
	/* with several nodes a flow elsewhere hears of every post (its queue is replaced) */
	bool elsewhere = t->node != NULL && json_array_size(json_object_get(chat, "bots")) > 0;
	if (f == NULL && (answered || elsewhere))
		f = flow_here(t, chat_id, json_pack("{s:s, s:O}", "do", "message", "message",
		    message));
	if (f != NULL) {
		keep_asked(f, queue);
		f->bot_turns = 0;
		f->posts++;
		f->picks_for = (uint64_t)json_integer_value(json_object_get(message, "seq"));
		/* a person's post ends the auto rounds of the last one; its own may follow */
		f->auto_left = answered ? (unsigned)json_integer_value(json_object_get(chat,
		    "auto_rounds")) : 0;
		flow_next(f);
	} else
		json_decref(queue);
}

/*
 * The turn (taken) goes first in the chat's queue, when the bot is the
 * chat's and there is room (asked: what to forward to another node holding
 * the chat's lease, taken; it then answers there).
 */
static enum turn_asked
queue_first(struct turns *t, json_t *chat, json_t *bot, json_t *turn, json_t *asked)
{
	struct flow *f = flow_get(t, str(chat, "id"), false);
	enum turn_asked rc = !chat_has_bot(chat, str(bot, "id")) ? TURN_NOT_IN_CHAT :
	    f != NULL && json_array_size(f->queue) >= LIMIT_QUEUED_TURNS ? TURN_QUEUE_FULL :
	    TURN_QUEUED;
	if (rc == TURN_QUEUED && (f = flow_here(t, str(chat, "id"), asked)) != NULL) {
		/* a takeover may have brought a dead node's queue back */
		json_object_set_new(turn, "asked", json_true());	/* a newer post keeps it */
		if (json_array_size(f->queue) >= LIMIT_QUEUED_TURNS)
			rc = TURN_QUEUE_FULL;
		else
			json_array_insert_new(f->queue, 0, json_incref(turn));
		flow_next(f);
		json_decref(turn);
		return rc;
	}
	if (rc != TURN_QUEUED)
		json_decref(asked);
	json_decref(turn);
	return rc;
}

enum turn_asked
turns_request(struct turns *t, json_t *chat, json_t *bot)
{
	struct flow *f = flow_get(t, str(chat, "id"), false);
	if (f != NULL && chat_has_bot(chat, str(bot, "id")))
		f->bot_turns = 0;	/* asked for: the policy's count starts again */
	return queue_first(t, chat, bot, turn_queued(bot, 0, false, false),
	    json_pack("{s:s, s:O}", "do", "request", "bot", bot));
}

enum turn_asked
turns_redo(struct turns *t, json_t *chat, json_t *bot, uint64_t seq, bool fresh)
{
	return queue_first(t, chat, bot, turn_queued(bot, seq, fresh, false),
	    json_pack("{s:s, s:O, s:I, s:b}", "do", "redo", "bot", bot, "seq", (json_int_t)seq,
	    "fresh", fresh));
}

/* The chat's flow here, or with several nodes where its lease is (asked goes there). */
static struct flow *
flow_to_change(struct turns *t, const char *chat_id, json_t *asked)
{
	struct flow *f = flow_get(t, chat_id, false);
	if (f != NULL || t->node == NULL) {
		json_decref(asked);
		return f;
	}
	return flow_here(t, chat_id, asked);
}

void
turns_stop(struct turns *t, const char *chat_id)
{
	struct flow *f = flow_to_change(t, chat_id, json_pack("{s:s}", "do", "stop"));
	if (f == NULL)
		return;
	json_array_clear(f->queue);
	f->auto_left = 0;
	if (f->reply != NULL)
		reply_finish(f->reply, "stopped", NULL);
	flow_settle(f);
}

void
turns_end_auto(struct turns *t, const char *chat_id)
{
	struct flow *f = flow_to_change(t, chat_id, json_pack("{s:s}", "do", "end_auto"));
	if (f == NULL)
		return;
	f->auto_left = 0;
	flow_settle(f);
}

/* The message a queued turn writes again, or 0 for a new one. */
static uint64_t
turn_seq(json_t *turn)
{
	return (uint64_t)json_integer_value(json_object_get(turn, "seq"));
}

void
turns_stop_message(struct turns *t, const char *chat_id, uint64_t seq)
{
	struct flow *f = flow_to_change(t, chat_id, json_pack("{s:s, s:I}", "do", "stop_reply",
	    "seq", (json_int_t)seq));
	if (f == NULL)
		return;
	bool its_picks = seq == f->picks_for;	/* the post they answer is going */
	for (size_t i = json_array_size(f->queue); i-- > 0;) {
		json_t *turn = json_array_get(f->queue, i);
		if (turn_seq(turn) == seq || (its_picks && turn_seq(turn) == 0 &&
		    !json_is_true(json_object_get(turn, "asked"))))
			json_array_remove(f->queue, i);
	}
	if (its_picks)
		f->auto_left = 0;
	if (f->reply != NULL && f->reply->seq == seq)
		reply_finish(f->reply, "stopped", NULL);
}

void
turns_go_on(struct turns *t, const char *chat_id)
{
	struct flow *f = flow_get(t, chat_id, false);
	if (f != NULL)
		flow_next(f);
}

size_t
turns_fresh_redos(struct turns *t, const char *chat_id, uint64_t seq)
{
	struct flow *f = flow_get(t, chat_id, false);
	size_t n = 0, i;
	json_t *turn;
	if (f != NULL)
		json_array_foreach(f->queue, i, turn)
			n += turn_seq(turn) == seq && json_is_true(json_object_get(turn, "fresh"));
	return n;
}

/* One chat's flow, after its bots changed: what a bot gone from it was to say goes too. */
static void
flow_bots_changed(struct turns *t, const char *chat_id)
{
	json_t *chat = NULL;
	if (flow_get(t, chat_id, false) == NULL ||
	    store_chat_get(t->store, chat_id, &chat) != STORE_OK)
		return;
	struct flow *f = flow_get(t, chat_id, false);	/* again: the read may have waited */
	if (f != NULL && !f->lost) {
		for (size_t i = json_array_size(f->queue); i-- > 0;)
			if (!chat_has_bot(chat, str(json_object_get(json_array_get(f->queue, i),
			    "bot"), "id")))
				json_array_remove(f->queue, i);
		if (f->reply != NULL && !chat_has_bot(chat, str(f->reply->bot, "id")))
			reply_finish(f->reply, "stopped", NULL);
		flow_next(f);
	}
	json_decref(chat);
}

/* Every flow here, in the services' turn (the reads may wait for the database). */
static void
all_bots_changed(void *arg)
{
	struct turns *t = arg;
	size_t n = 0;
	char (*ids)[ID_LEN + 1] = xcalloc(t->flows.count + 1, sizeof *ids);
	struct idmap_entry *e, *tmp;
	IDMAP_FOREACH(&t->flows, e, tmp)
		memcpy(ids[n++], e->id, ID_LEN + 1);
	for (size_t i = 0; i < n; i++)
		flow_bots_changed(t, ids[i]);
	free(ids);
}

void
turns_bots_changed(struct turns *t, const char *chat_id)
{
	if (chat_id != NULL)
		flow_bots_changed(t, chat_id);
	else
		fiber_run_serial(all_bots_changed, t);
}

void
turns_forget(struct turns *t, const char *chat_id)
{
	struct flow *f = flow_get(t, chat_id, false);
	if (f != NULL)
		flow_free(f);	/* its reply too, without a word more */
}

bool
turns_busy(struct turns *t, const char *chat_id)
{
	return flow_get(t, chat_id, false) != NULL || turn_end_waiting(t, chat_id) != NULL;
}

json_t *
turns_state(struct turns *t, json_t *chat)
{
	struct flow *f = flow_get(t, str(chat, "id"), false);
	json_t *turn = NULL;
	if (f != NULL)
		return flow_state(f);
	if (t->node != NULL && json_array_size(json_object_get(chat, "bots")) > 0 &&
	    store_lease_turn(t->store, str(chat, "id"), &turn) == STORE_OK &&
	    json_is_object(turn))
		return turn;
	json_decref(turn);
	return idle_state();
}

json_t *
turns_current(struct turns *t, const char *chat_id)
{
	struct flow *f = flow_get(t, chat_id, false);
	if (f == NULL || f->reply == NULL) {
		json_t *waiting = turn_end_waiting(t, chat_id);
		return waiting ? json_deep_copy(waiting) : NULL;
	}
	json_t *msg = json_deep_copy(f->reply->message);
	json_object_set_new(msg, "body", json_stringn(f->reply->text.data ? f->reply->text.data : "",
	    f->reply->text.len));
	return msg;
}

/* ---------- life cycle ---------- */

struct turns *
turns_new(struct event_base *base, struct store *st, struct events *ev,
    const struct backend_opts *opts)
{
	struct turns *t = xcalloc(1, sizeof *t);
	t->store = st;
	t->events = ev;
	t->backends = backends_new(base, opts);
	idmap_init(&t->flows, FLOW_BUCKETS);
	turn_ends_init(t, base);
	turn_leases_init(t, base);
	if (getrandom(&t->rng, sizeof t->rng, 0) != sizeof t->rng || t->rng == 0)
		t->rng = 0x9e3779b97f4a7c15ULL;
	return t;
}

void
turns_stop_all(struct turns *t)
{
	struct idmap_entry *e;
	t->stopping = true;	/* what others ask stays with the leases, for the next node */
	event_del(t->leases);
	/* stopping leaves a flow idle and empty, which frees it */
	while ((e = idmap_first(&t->flows)) != NULL) {
		char chat_id[ID_LEN + 1];
		memcpy(chat_id, e->id, sizeof chat_id);
		turns_stop(t, chat_id);
	}
}

void
turns_free(struct turns *t)
{
	if (t == NULL)
		return;
	turns_stop_all(t);
	backends_free(t->backends);
	turn_ends_free(t);
	turn_leases_free(t);
	idmap_free(&t->flows);
	free(t);
}
