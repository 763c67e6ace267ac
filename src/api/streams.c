/*
 * streams.c - opening event streams: snapshot or replay, then live; see
 * streams.h. The hub follows a chat's events from before its history is
 * read (hub_expect), and before the stream is handed over the two are
 * brought to the same event (settle), so each event reaches the stream
 * once and in order, whatever was committed, here or on another node,
 * while the history was read. A history that cannot be read (the database
 * failing) is a 503, never a stream that starts with a gap.
 */
#include "api/streams.h"
#include "api/handlers.h"
#include "chat/catchup.h"
#include "chat/chats.h"
#include "chat/presence.h"
#include "chat/validate.h"
#include "chat/who.h"
#include "http/exchange.h"
#include "http/respond.h"
#include "hub/hub.h"
#include "limits.h"
#include "sse/frame.h"
#include "sse/stream.h"
#include "util/ids.h"
#include "util/json_wire.h"
#include "util/problem.h"
#include "util/text.h"

#include <stdlib.h>
#include <string.h>

#define SETTLE_ROUNDS	8

/*
 * The id the client has seen: Last-Event-ID, else ?after=. Returns 0 and
 * sets *after when one was given and is a number no greater than last_id.
 */
static int
resume_point(struct exchange *x, uint64_t last_id, uint64_t *after)
{
	const char *h = exchange_header(x, "Last-Event-ID");
	int rc = h != NULL ? text_parse_u64(h, after) :
	    exchange_query_u64(x, "after", after) == 1 ? 0 : -1;
	return rc == 0 && *after <= last_id ? 0 : -1;
}

/* The frame's scope on a stream of kind: the chat on a stream of several, else none. */
static const char *
scope(enum stream_kind kind, const char *chat_id)
{
	return kind == STREAM_MUX ? chat_id : NULL;
}

/* The chat as it is: *through becomes its last event id; -1 when it cannot be read. */
static int
add_snapshot(struct handlers *h, const char *chat_id, enum stream_kind kind,
    struct sse_frame_list *out, uint64_t *through)
{
	struct problem p;
	json_t *snap;
	if (chats_snapshot(h->chats, chat_id, LIMIT_SNAPSHOT_MESSAGES, &snap, &p) != 0)
		return -1;
	json_object_set_new(snap, "here", presence_here(h->presence, chat_id));
	uint64_t id = (uint64_t)json_integer_value(json_object_get(snap, "last_event_id"));
	*through = id;
	char *text = json_dumps(snap, JSON_WIRE);
	struct frame *f = sse_frame_scoped(scope(kind, chat_id), true, id, "snapshot", text,
	    strlen(text));
	sse_frame_list_add(out, f);
	sse_frame_unref(f);
	free(text);
	json_decref(snap);
	return 0;
}

/*
 * The durable events after `after` through last_id at least: from the hub's
 * memory, else the store; *through becomes the last id they cover. -1 when
 * they cannot be read.
 */
static int
add_replay(struct handlers *h, const char *chat_id, enum stream_kind kind, uint64_t after,
    uint64_t last_id, struct sse_frame_list *out, uint64_t *through)
{
	if (hub_replay(h->hub, chat_id, after, last_id, kind, out) == 0) {
		*through = last_id;
		return 0;
	}
	json_t *events;
	uint64_t delivered;
	if (chats_events_after(h->chats, chat_id, after, &events, through) != STORE_OK)
		return -1;
	if (hub_delivered(h->hub, chat_id, *through, &delivered) && delivered == *through)
		hub_remember(h->hub, chat_id, events, *through);	/* the next resumes: from memory */
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		struct frame *f = hub_frame(h->hub, kind, chat_id,
		    (uint64_t)json_integer_value(json_object_get(ev, "id")),
		    json_string_value(json_object_get(ev, "name")), json_object_get(ev, "data"));
		sse_frame_list_add(out, f);
		sse_frame_unref(f);
	}
	json_decref(events);
	return 0;
}

/* A reply being generated goes out whole so far (no id: not a new event); tokens follow. */
static void
add_current(struct handlers *h, const char *chat_id, enum stream_kind kind,
    struct sse_frame_list *out)
{
	json_t *current = chats_reply_so_far(h->chats, chat_id);
	if (current == NULL)
		return;
	struct frame *f = hub_frame(h->hub, kind, chat_id, 0, "message-update", current);
	sse_frame_list_add(out, f);
	sse_frame_unref(f);
	json_decref(current);
}

/*
 * Who is here now, when anyone is, as an ephemeral event after the replay:
 * a resumed stream has no snapshot to say it, and pages read no snapshot.
 * No such event means nobody: a client resuming empties its list first, as
 * pages do when their stream reconnects (app.js).
 */
static void
add_presence(struct handlers *h, const char *chat_id, enum stream_kind kind, bool replayed,
    struct sse_frame_list *out)
{
	json_t *here = presence_here(h->presence, chat_id);
	struct frame *f = NULL;
	if (json_array_size(here) > 0 && (replayed || kind != STREAM_JSON))
		f = hub_frame(h->hub, kind, chat_id, 0, "presence", here);
	if (f != NULL)
		sse_frame_list_add(out, f);
	sse_frame_unref(f);
	json_decref(here);
}

/*
 * What a stream of the chat starts with: the events after `after` when
 * resumable (*replayed), else a snapshot. *through becomes the last event
 * id it covers. It may wait for the database; -1 when neither can be read.
 */
static int
add_history(struct handlers *h, const char *chat_id, enum stream_kind kind, bool resume,
    uint64_t after, uint64_t last_id, struct sse_frame_list *out, uint64_t *through,
    bool *replayed)
{
	*through = last_id;
	*replayed = resume && add_replay(h, chat_id, kind, after, last_id, out, through) == 0;
	return *replayed ? 0 : add_snapshot(h, chat_id, kind, out, through);
}

enum settled { MET, WAITED, FAILED };

/*
 * One step towards the stream's history (ending at event *through) and the
 * hub's delivery of the chat meeting: events delivered here while it was
 * read are added to it; events it has that the hub has not delivered yet
 * (committed on another node, on their way) are read and delivered first.
 */
static enum settled
settle_step(struct handlers *h, const char *chat_id, enum stream_kind kind, uint64_t *through,
    struct sse_frame_list *out)
{
	uint64_t delivered;
	if (!hub_delivered(h->hub, chat_id, *through, &delivered) || delivered == *through)
		return MET;
	int rc = delivered < *through ? catchup_chat(h->catchup, chat_id) :
	    add_replay(h, chat_id, kind, *through, delivered, out, through);
	return rc == 0 ? WAITED : FAILED;
}

/*
 * Settles the stream's chats until one round needs no wait: from then until
 * the stream is attached, nothing can be delivered here unseen by it. -1
 * when the store failed, or the chats kept moving for SETTLE_ROUNDS rounds
 * (the client tries again rather than start with a gap).
 */
static int
settle(struct handlers *h, const char *const *chats, uint64_t *through, size_t n,
    enum stream_kind kind, struct sse_frame_list *out)
{
	for (int round = 0; round < SETTLE_ROUNDS; round++) {
		bool waited = false;
		for (size_t i = 0; i < n; i++) {
			enum settled s;
			while ((s = settle_step(h, chats[i], kind, &through[i], out)) == WAITED)
				waited = true;
			if (s == FAILED)
				return -1;
		}
		if (!waited)
			return 0;
	}
	return -1;
}

/* The stream with presence id will not be: it leaves its chats (and the lists room). */
static void
leave_presence(struct handlers *h, const char *const *chats, size_t n, uint64_t presence)
{
	if (presence == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (strcmp(chats[i], HUB_LISTS) != 0)
			presence_leave(h->presence, chats[i], presence);
	presence_leave(h->presence, "", presence);
}

/* The history could not be read: 503, and no stream (the client tries again). */
static void
refuse_open(struct exchange *x, struct handlers *h, const char *const *chats, size_t n,
    uint64_t presence, struct sse_frame_list *initial)
{
	sse_frame_list_free(initial);
	leave_presence(h, chats, n, presence);
	respond_error(x, 503, "the chat's events cannot be read now; try again");
}

/*
 * Then, from memory and with no wait until the stream is attached (tokens
 * and presence change while the services wait): who is here, and a reply
 * being written.
 */
static void
add_now(struct handlers *h, const char *chat_id, enum stream_kind kind, bool replayed,
    struct sse_frame_list *out)
{
	add_presence(h, chat_id, kind, replayed, out);
	add_current(h, chat_id, kind, out);
}

/*
 * The person whose stream it is joins the chats' presence: who signed in,
 * or without accounts, who the stream names (?name=); nobody else counts.
 */
static uint64_t
join_presence(struct exchange *x, struct handlers *h, const char *const *chats, size_t n)
{
	const struct who *who = exchange_who(x);
	if (!who->anyone)
		return presence_join(h->presence, chats, n, who->user_id, who->display_name);
	struct problem p;
	const char *given = exchange_query(x, "name");
	json_t *v = given ? json_string(given) : NULL;
	char *name = v ? validate_text(v, "name", LIMIT_AUTHOR_CHARS, &p) : NULL;
	uint64_t id = name ? presence_join(h->presence, chats, n, NULL, name) : 0;
	free(name);
	json_decref(v);
	return id;
}

static struct stream_owner
owner_of(const struct who *who)
{
	struct stream_owner owner;
	snprintf(owner.user_id, sizeof owner.user_id, "%s", who->user_id);
	snprintf(owner.credential, sizeof owner.credential, "%s", who->credential);
	owner.sees_all = who_admin(who);
	return owner;
}

/*
 * Whether access to the stream's chats may have ended while it was opened
 * (a chat deleted, a member removed, a session ended, on any node, since
 * its credential was read): it is refused, and the client, trying again,
 * is checked afresh.
 */
static bool
ended_meanwhile(struct exchange *x, struct handlers *h, const char *const *chats, size_t n)
{
	struct stream_owner owner = owner_of(exchange_who(x));
	return hub_ended_since(h->hub, exchange_who(x)->ends_mark, chats, n, &owner);
}

/* Takes the socket and hands it to the hub; without one (the client left) the presence ends. */
static void
attach(struct exchange *x, struct handlers *h, enum stream_kind kind, const char *const *chats,
    size_t nchats, uint64_t presence, struct sse_frame_list *initial)
{
	struct sse_stream_opts opts = { .kind = kind, .chunked = exchange_http11(x),
	    .keepalive_seconds = h->keepalive_seconds, .output_cap = h->stream_buffer_bytes };
	struct stream_owner owner = owner_of(exchange_who(x));
	owner.presence = presence;
	int fd = exchange_take_socket(x);
	if (fd >= 0) {
		hub_attach(h->hub, chats, nchats, &owner, fd, &opts, initial);
		return;
	}
	if (fd == EXCHANGE_NO_DESCRIPTOR) {
		exchange_add_header(x, "Retry-After", "1");
		respond_error(x, 503, "the server has too many connections open; try again soon");
	}
	sse_frame_list_free(initial);
	leave_presence(h, chats, nchats, presence);
}

/* A HEAD of a stream route: the head of a stream, and no stream. */
static void
stream_head(struct exchange *x)
{
	exchange_add_header(x, "Cache-Control", "no-cache");
	respond_bytes(x, 200, "text/event-stream", "", 0);
}

static void
serve(struct exchange *x, struct handlers *h, enum stream_kind kind)
{
	const char *chat_id = exchange_param(x, 0);
	struct problem p;
	json_t *chat;
	if (chats_stopping(h->chats)) {
		respond_error(x, 503, "the server is shutting down");
		return;
	}
	if (chats_get(h->chats, exchange_who(x), chat_id, &chat, &p) != 0) {
		respond_problem(x, &p);
		return;
	}
	uint64_t last_id = (uint64_t)json_integer_value(json_object_get(chat, "last_event_id"));
	json_decref(chat);
	if (exchange_method(x) == HTTP_HEAD) {
		stream_head(x);
		return;
	}
	struct sse_frame_list initial = { NULL, 0, 0 };
	uint64_t after;
	bool resume = resume_point(x, last_id, &after) == 0;
	char id[ID_LEN + 1];
	snprintf(id, sizeof id, "%s", chat_id);	/* the exchange goes with its socket */
	const char *chats[1] = { id };
	uint64_t presence = join_presence(x, h, chats, 1);	/* the snapshot lists them too */
	hub_expect(h->hub, id);
	uint64_t through;
	bool replayed;
	if (add_history(h, id, kind, resume, after, last_id, &initial, &through, &replayed) != 0 ||
	    settle(h, chats, &through, 1, kind, &initial) != 0 || ended_meanwhile(x, h, chats, 1)) {
		refuse_open(x, h, chats, 1, presence, &initial);
	} else {
		add_now(h, id, kind, replayed, &initial);
		attach(x, h, kind, chats, 1, presence, &initial);
	}
	hub_unexpect(h->hub, id);
}

/* ---------- a browser's one stream of several chats ---------- */

/* One "ID" or "ID:N" of the chats parameter; false when malformed. */
static bool
parse_chat(const char *item, size_t len, char id[ID_LEN + 1], bool *resume, uint64_t *after)
{
	char text[64];
	if (len >= sizeof text)
		return false;
	memcpy(text, item, len);
	text[len] = '\0';
	char *colon = strchr(text, ':');
	*resume = colon != NULL;
	if (colon != NULL) {
		*colon = '\0';
		if (text_parse_u64(colon + 1, after) != 0)
			return false;
	}
	if (!id_valid(text))
		return false;
	memcpy(id, text, ID_LEN + 1);
	return true;
}

/* A chat a browser's stream asked for, and from where. */
struct asked {
	char		 id[ID_LEN + 1];
	bool		 resume;
	uint64_t	 after;
	uint64_t	 last;		/* its last event id */
};

/*
 * The chats asked for that who may see (in want). A chat who may not see
 * (or gone) gets its "deleted" event at once and is left out. Returns how
 * many there are, or -1 with p for a malformed list or a store failing.
 */
static int
parse_many(struct exchange *x, struct handlers *h, struct asked *want,
    struct sse_frame_list *initial, struct problem *p)
{
	const char *list = exchange_query(x, "chats");
	int n = 0, asked = 0;
	for (const char *c = list ? list : ""; *c != '\0'; asked++) {
		size_t len = strcspn(c, ",");
		json_t *chat;
		struct asked *a = &want[n];
		a->after = 0;
		if (asked == LIMIT_STREAM_CHATS || !parse_chat(c, len, a->id, &a->resume, &a->after)) {
			problem_set(p, 422, "chats: up to %d chat ids, each ID or ID:LAST_EVENT_ID",
			    LIMIT_STREAM_CHATS);
			return -1;
		}
		c += len + (c[len] == ',');
		for (int i = 0; i < n; i++)
			if (strcmp(want[i].id, a->id) == 0) {
				problem_set(p, 422, "chats: %s is listed twice", a->id);
				return -1;
			}
		if (chats_get(h->chats, exchange_who(x), a->id, &chat, p) != 0) {
			if (p->status != 404)
				return -1;	/* the store failing: the whole stream waits (503) */
			json_t *gone = json_pack("{s:s}", "reason", "not-found");
			struct frame *f = hub_frame(h->hub, STREAM_MUX, a->id, 0, "deleted", gone);
			sse_frame_list_add(initial, f);
			sse_frame_unref(f);
			json_decref(gone);
			continue;
		}
		a->last = (uint64_t)json_integer_value(json_object_get(chat, "last_event_id"));
		json_decref(chat);
		n++;
	}
	return n;
}

static bool
wants_list(struct exchange *x)
{
	const char *v = exchange_query(x, "list");
	return v != NULL && strcmp(v, "1") == 0;
}

/* The chat list as of now ("list:all"), which the stream's list changes follow. */
static int
add_list(struct exchange *x, struct handlers *h, struct sse_frame_list *initial)
{
	struct problem p;
	json_t *items;
	if (chats_activity(h->chats, exchange_who(x), 0, LIMIT_INDEX_CHATS, &items, &p) != 0)
		return -1;
	json_t *data = json_pack("{s:o}", "chats", items);
	struct frame *f = hub_frame(h->hub, STREAM_MUX, "list", 0, "list-all", data);
	sse_frame_list_add(initial, f);
	sse_frame_unref(f);
	json_decref(data);
	return 0;
}

void
streams_many(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	struct asked want[LIMIT_STREAM_CHATS];
	const char *chats[LIMIT_STREAM_CHATS + 1];
	struct sse_frame_list initial = { NULL, 0, 0 };
	if (chats_stopping(h->chats)) {
		respond_error(x, 503, "the server is shutting down");
		return;
	}
	int n = parse_many(x, h, want, &initial, &p);
	if (n < 0 || exchange_method(x) == HTTP_HEAD) {
		sse_frame_list_free(&initial);
		if (n < 0)
			respond_problem(x, &p);
		else
			stream_head(x);
		return;
	}
	for (int i = 0; i < n; i++)
		chats[i] = want[i].id;
	uint64_t presence = join_presence(x, h, chats, (size_t)n);
	bool replayed[LIMIT_STREAM_CHATS];
	uint64_t through[LIMIT_STREAM_CHATS];
	for (int i = 0; i < n; i++)
		hub_expect(h->hub, want[i].id);
	int rc = 0, nchats = n;
	for (int i = 0; rc == 0 && i < n; i++)
		rc = add_history(h, want[i].id, STREAM_MUX,
		    want[i].resume && want[i].after <= want[i].last, want[i].after, want[i].last,
		    &initial, &through[i], &replayed[i]);
	if (rc == 0 && wants_list(x) && (rc = add_list(x, h, &initial)) == 0)
		chats[n++] = HUB_LISTS;
	if (rc != 0 || settle(h, chats, through, (size_t)nchats, STREAM_MUX, &initial) != 0 ||
	    ended_meanwhile(x, h, chats, (size_t)nchats)) {
		refuse_open(x, h, chats, (size_t)nchats, presence, &initial);
	} else {
		for (int i = 0; i < nchats; i++)
			add_now(h, want[i].id, STREAM_MUX, replayed[i], &initial);
		attach(x, h, STREAM_MUX, chats, (size_t)n, presence, &initial);
	}
	for (int i = 0; i < nchats; i++)
		hub_unexpect(h->hub, want[i].id);
}

void
streams_json(struct exchange *x, void *ctx)
{
	serve(x, ctx, STREAM_JSON);
}

void
streams_html(struct exchange *x, void *ctx)
{
	serve(x, ctx, STREAM_HTML);
}
