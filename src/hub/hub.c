/*
 * hub.c - channels, shards and fan-out; see hub.h. Publishing builds each
 * kind's frame once, before any shard sees it; the shards do the writing.
 */
#include "hub/hub.h"
#include "hub/shard.h"
#include "limits.h"
#include "metrics.h"
#include "util/idmap.h"
#include "util/mailbox.h"
#include "util/xmalloc.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define HUB_BUCKETS	4096	/* channel hash buckets */
#define MAX_SHARDS	64
#define SPREAD_MIN	64	/* a chat's streams share one shard up to this many */

/* A durable event as published, with its frames (built lazily per kind). */
struct ring_slot {
	uint64_t	 id;
	char		*name;
	json_t		*data;
	struct frame	*frames[STREAM_KINDS];	/* by enum stream_kind */
};

/* An event that came before its turn (after a gap in the ids), or behind one. */
struct held {
	STAILQ_ENTRY(held)	 next;
	uint64_t		 id;		/* 0: ephemeral, goes after what came before it */
	char			*name;
	json_t			*data;
};

STAILQ_HEAD(held_queue, held);

struct channel {
	struct idmap_entry	 entry;		/* keyed by chat id */
	uint64_t		 delivered;	/* the last durable id handed to streams */
	bool			 known;		/* delivered says where the streams are */
	struct held_queue	 held;		/* in order: waiting for the ids before them */
	size_t			 nheld;
	unsigned		 expecting;	/* streams being set up (hub_expect) */
	bool			 repair_asked;	/* hub->gap was told, hub_caught_up not yet */
	unsigned		 streams[MAX_SHARDS][STREAM_KINDS];	/* by shard, kind */
	size_t			 total[STREAM_KINDS];			/* by kind */
	struct ring_slot	 ring[LIMIT_RESUME_RING];		/* event id % LIMIT_RESUME_RING */
	uint64_t		 ring_first;	/* first id published since created, or 0 */
	uint64_t		 ring_last;
};

/* An end of streams (hub_end_chat, or hub_end_streams's match), kept for streams being opened. */
struct end_kept {
	bool			 whole_chat;
	char			 chat_id[ID_LEN + 1];
	char			 user_id[ID_LEN + 1];
	char			 credential[SECRET_HEX + 1];
};

struct hub {
	struct idmap		 channels;
	uint64_t		 ends;		/* ends of streams so far; the last ones kept: */
	struct end_kept		 ended[LIMIT_ENDS_KEPT];	/* ... by number % LIMIT_ENDS_KEPT */
	hub_render_fn		 render;
	size_t			 subscribers;
	struct mailbox		*mailbox;	/* shards tell the hub here */
	hub_leave_fn		 leave;		/* and the hub tells of streams leaving */
	void			*leave_arg;
	hub_gap_fn		 gap;		/* and of ids missing */
	void			*gap_arg;
	void			(*lists)(void *arg);	/* and of a first stream hearing the lists */
	void			*lists_arg;
	struct shard		*shards[MAX_SHARDS];
	unsigned		 nshards;
	unsigned		 next_shard;
};

static struct channel *
channel_find(struct hub *hub, const char *chat_id, bool create)
{
	struct idmap_entry *e = idmap_find(&hub->channels, chat_id);
	if (e != NULL)
		return container_of(e, struct channel, entry);
	if (!create)
		return NULL;
	struct channel *ch = xcalloc(1, sizeof *ch);
	STAILQ_INIT(&ch->held);
	idmap_insert(&hub->channels, &ch->entry, chat_id);
	return ch;
}

static void
slot_clear(struct ring_slot *slot)
{
	free(slot->name);
	json_decref(slot->data);
	for (int kind = 0; kind < STREAM_KINDS; kind++)
		sse_frame_unref(slot->frames[kind]);
	memset(slot, 0, sizeof *slot);
}

static void
held_free(struct held *e)
{
	free(e->name);
	json_decref(e->data);
	free(e);
}

static void
held_drop_all(struct channel *ch)
{
	struct held *e;
	while ((e = STAILQ_FIRST(&ch->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&ch->held, next);
		held_free(e);
	}
	ch->nheld = 0;
}

static void
channel_free(struct hub *hub, struct channel *ch)
{
	held_drop_all(ch);
	idmap_remove(&hub->channels, &ch->entry);
	for (size_t i = 0; i < LIMIT_RESUME_RING; i++)
		slot_clear(&ch->ring[i]);
	free(ch);
}

/* ---------- streams coming and going ---------- */

static size_t
channel_streams(const struct channel *ch)
{
	size_t n = 0;
	for (int kind = 0; kind < STREAM_KINDS; kind++)
		n += ch->total[kind];
	return n;
}

static size_t
shard_streams(const struct channel *ch, unsigned shard)
{
	size_t n = 0;
	for (int kind = 0; kind < STREAM_KINDS; kind++)
		n += ch->streams[shard][kind];
	return n;
}

/*
 * A shard's stream left a chat (it closed, or the chat ended for it), or
 * with chat_id "", the stream closed. Told on the main loop, by mailbox.
 */
static void
stream_gone(void *arg, unsigned shard, const char *chat_id, enum stream_kind kind,
    uint64_t presence)
{
	struct hub *hub = arg;
	if (presence != 0 && hub->leave != NULL)
		hub->leave(hub->leave_arg, chat_id, presence);
	if (chat_id[0] == '\0') {
		hub->subscribers--;
		return;
	}
	struct channel *ch = channel_find(hub, chat_id, false);
	if (ch == NULL || ch->streams[shard][kind] == 0)
		return;
	ch->streams[shard][kind]--;
	ch->total[kind]--;
	if (channel_streams(ch) == 0 && ch->expecting == 0)
		channel_free(hub, ch);
}

/*
 * A small chat keeps its streams on one shard, so each event wakes one
 * loop, and that shard is not the main loop's (which parses every request
 * and writes to the store) when there are others. A big chat spreads its
 * streams over every shard, so each loop writes a part of each event.
 */
static unsigned
pick_shard(struct hub *hub, const struct channel *ch)
{
	if (channel_streams(ch) >= SPREAD_MIN)
		return hub->next_shard++ % hub->nshards;
	return hub->nshards == 1 ? 0 : 1 + ch->entry.hash % (hub->nshards - 1);
}

/* A stream of several chats: in turn on the shards that are not the main loop's. */
static unsigned
pick_shard_many(struct hub *hub)
{
	return hub->nshards == 1 ? 0 : 1 + hub->next_shard++ % (hub->nshards - 1);
}

void
hub_on_leave(struct hub *hub, hub_leave_fn leave, void *arg)
{
	hub->leave = leave;
	hub->leave_arg = arg;
}

void
hub_on_lists(struct hub *hub, void (*lists)(void *arg), void *arg)
{
	hub->lists = lists;
	hub->lists_arg = arg;
}

void
hub_attach(struct hub *hub, const char *const *chat_ids, size_t nchats,
    const struct stream_owner *owner, int fd, const struct sse_stream_opts *opts,
    struct sse_frame_list *initial)
{
	bool lists_heard = channel_find(hub, HUB_LISTS, false) != NULL;
	bool many = opts->kind == STREAM_MUX;
	unsigned shard = many || nchats != 1 ? pick_shard_many(hub) :
	    pick_shard(hub, channel_find(hub, chat_ids[0], true));
	for (size_t i = 0; i < nchats; i++) {
		struct channel *ch = channel_find(hub, chat_ids[i], true);
		ch->streams[shard][opts->kind]++;
		ch->total[opts->kind]++;
	}
	hub->subscribers++;
	shard_adopt(hub->shards[shard], fd, chat_ids, nchats, many, owner, opts, initial);
	if (!lists_heard && hub->lists != NULL && channel_find(hub, HUB_LISTS, false) != NULL)
		hub->lists(hub->lists_arg);
}

/* ---------- publishing ---------- */

/* Keeps a durable event (and the frames already built) for resumes. */
static void
ring_keep(struct channel *ch, uint64_t id, const char *name, json_t *data,
    struct frame *frames[STREAM_KINDS])
{
	struct ring_slot *slot = &ch->ring[id % LIMIT_RESUME_RING];
	slot_clear(slot);
	slot->id = id;
	slot->name = xstrdup(name);
	slot->data = json_incref(data);
	for (int k = 0; k < STREAM_KINDS; k++)
		slot->frames[k] = frames[k] ? sse_frame_ref(frames[k]) : NULL;
	if (ch->ring_first == 0)
		ch->ring_first = id;
	ch->ring_last = id;
}

/*
 * Hands frames to every shard with streams of the channel, then ends them
 * as `end` says (shard.h). later: events without an id (a bot's tokens),
 * which the shards may coalesce.
 */
static void
to_shards(struct hub *hub, struct channel *ch, struct frame *frames[STREAM_KINDS], bool later,
    enum shard_end end)
{
	for (unsigned s = 0; s < hub->nshards; s++)
		if (shard_streams(ch, s) > 0)
			shard_publish(hub->shards[s], ch->entry.id, frames, later, end);
}

/*
 * A message was edited or deleted: frames of the ring may show what the
 * store no longer does; resumes from before now are read from the store.
 */
static void
ring_forget(struct channel *ch)
{
	for (size_t i = 0; i < LIMIT_RESUME_RING; i++)
		slot_clear(&ch->ring[i]);
	ch->ring_first = ch->ring_last = 0;
}

static void
publish_to(struct hub *hub, struct channel *ch, uint64_t id, const char *name, json_t *data)
{
	struct frame *frames[STREAM_KINDS] = { NULL };
	for (int kind = 0; kind < STREAM_KINDS; kind++)
		if (ch->total[kind] > 0)
			frames[kind] = hub->render((enum stream_kind)kind, ch->entry.id, id, name,
			    data);
	to_shards(hub, ch, frames, id == 0, SHARD_GO_ON);
	if (id > 0)
		ring_keep(ch, id, name, data, frames);
	for (int kind = 0; kind < STREAM_KINDS; kind++)
		sse_frame_unref(frames[kind]);
}

/* Hands an event to the streams; a durable one is kept for resumes and counts as delivered. */
static void
deliver(struct hub *hub, struct channel *ch, uint64_t id, const char *name, json_t *data)
{
	publish_to(hub, ch, id, name, data);
	if (id > 0) {
		ch->delivered = id;
		ch->known = true;
	}
}

/* Asks for the ids missing before the held events to be read (once until hub_caught_up). */
static void
ask_repair(struct hub *hub, struct channel *ch)
{
	if (ch->repair_asked || hub->gap == NULL)
		return;
	ch->repair_asked = true;
	metrics_add(METRIC_GAP_REPAIRS, 1);
	hub->gap(hub->gap_arg, ch->entry.id);
}

/* Keeps an event behind a gap: a durable one in id order (a duplicate dropped), others last. */
static void
hold(struct channel *ch, uint64_t id, const char *name, json_t *data)
{
	struct held *e = xmalloc(sizeof *e), *prev = NULL, *at;
	*e = (struct held){ .id = id, .name = xstrdup(name), .data = json_incref(data) };
	if (id == 0) {
		STAILQ_INSERT_TAIL(&ch->held, e, next);
		ch->nheld++;
		return;
	}
	STAILQ_FOREACH(at, &ch->held, next) {
		if (at->id == id) {
			held_free(e);
			return;
		}
		if (at->id > id)
			break;
		prev = at;
	}
	if (prev == NULL)
		STAILQ_INSERT_HEAD(&ch->held, e, next);
	else
		STAILQ_INSERT_AFTER(&ch->held, prev, e, next);
	ch->nheld++;
}

/*
 * Delivers the held events whose turn has come: the next id, and every one
 * up to `through` (the ids the store skips there are of nothing to replay).
 */
static void
release(struct hub *hub, struct channel *ch, uint64_t through)
{
	struct held *e;
	while ((e = STAILQ_FIRST(&ch->held)) != NULL &&
	    (e->id <= ch->delivered + 1 || e->id <= through)) {
		STAILQ_REMOVE_HEAD(&ch->held, next);
		ch->nheld--;
		if (e->id == 0 || e->id > ch->delivered)
			deliver(hub, ch, e->id, e->name, e->data);
		held_free(e);
	}
}

/*
 * The chat's streams cannot be brought up to date in order (the ids missing
 * are no longer kept): they end, and reconnect from their Last-Event-ID (a
 * browser's stream of several chats too: it resumes each from its own).
 */
static void
channel_resync(struct hub *hub, struct channel *ch)
{
	metrics_add(METRIC_RESYNCS, 1);
	ch->repair_asked = false;
	held_drop_all(ch);
	ring_forget(ch);
	ch->delivered = 0;
	ch->known = false;
	struct frame *none[STREAM_KINDS] = { NULL };
	to_shards(hub, ch, none, false, SHARD_RECONNECT);
}

void
hub_publish(struct hub *hub, const char *chat_id, uint64_t id, const char *name, json_t *data)
{
	metrics_add(METRIC_EVENTS_PUBLISHED, 1);
	struct channel *ch = channel_find(hub, chat_id, false);
	if (ch == NULL)
		return;
	if (id > 0 && ch->known && id <= ch->delivered) {
		metrics_add(METRIC_DUPLICATES_DROPPED, 1);
		return;
	}
	bool next = id == 0 || !ch->known || id == ch->delivered + 1;
	if (next && id > 0 && !STAILQ_EMPTY(&ch->held)) {
		deliver(hub, ch, id, name, data);	/* the gap's first id: what it frees goes too */
		release(hub, ch, 0);
		return;
	}
	if ((!next || !STAILQ_EMPTY(&ch->held)) && ch->nheld >= LIMIT_HELD_EVENTS) {
		channel_resync(hub, ch);	/* the gap is not read (the database away?) */
		return;
	}
	if (!next || !STAILQ_EMPTY(&ch->held)) {
		hold(ch, id, name, data);
		ask_repair(hub, ch);
		return;
	}
	deliver(hub, ch, id, name, data);
}

void
hub_on_gap(struct hub *hub, hub_gap_fn gap, void *arg)
{
	hub->gap = gap;
	hub->gap_arg = arg;
}

void
hub_caught_up(struct hub *hub, const char *chat_id, uint64_t through)
{
	struct channel *ch = channel_find(hub, chat_id, false);
	if (ch == NULL)
		return;
	ch->repair_asked = false;
	if (through == 0)
		return;		/* the read failed: the next event or check asks again */
	release(hub, ch, through);
	if (through > ch->delivered && ch->known)
		ch->delivered = through;	/* the ids not read are of nothing to replay */
	release(hub, ch, 0);
	if (!STAILQ_EMPTY(&ch->held))
		ask_repair(hub, ch);
}

void
hub_resync(struct hub *hub, const char *chat_id)
{
	struct channel *ch = channel_find(hub, chat_id, false);
	if (ch != NULL)
		channel_resync(hub, ch);
}

void
hub_expect(struct hub *hub, const char *chat_id)
{
	channel_find(hub, chat_id, true)->expecting++;
}

void
hub_unexpect(struct hub *hub, const char *chat_id)
{
	struct channel *ch = channel_find(hub, chat_id, false);
	if (ch == NULL || ch->expecting == 0)
		return;
	ch->expecting--;
	if (channel_streams(ch) == 0 && ch->expecting == 0)
		channel_free(hub, ch);
}

bool
hub_delivered(struct hub *hub, const char *chat_id, uint64_t from, uint64_t *delivered)
{
	struct channel *ch = channel_find(hub, chat_id, false);
	if (ch == NULL)
		return false;
	if (!ch->known) {
		ch->delivered = from;
		ch->known = true;
	}
	*delivered = ch->delivered;
	return true;
}

bool
hub_position(struct hub *hub, const char *chat_id, uint64_t *delivered)
{
	struct channel *ch = channel_find(hub, chat_id, false);
	if (ch == NULL || !ch->known)
		return false;
	*delivered = ch->delivered;
	return true;
}

size_t
hub_chats(struct hub *hub, char (*ids)[ID_LEN + 1], size_t max)
{
	size_t n = 0;
	struct idmap_entry *e, *tmp;
	IDMAP_FOREACH(&hub->channels, e, tmp)
		if (n < max && strcmp(e->id, HUB_LISTS) != 0)
			snprintf(ids[n++], ID_LEN + 1, "%s", e->id);
	return n;
}

int
hub_replay(struct hub *hub, const char *chat_id, uint64_t after, uint64_t last_id,
    enum stream_kind kind, struct sse_frame_list *out)
{
	struct channel *ch = channel_find(hub, chat_id, false);
	if (ch == NULL || ch->ring_first == 0 || ch->ring_last != last_id ||
	    after + 1 < ch->ring_first || (last_id > LIMIT_RESUME_RING && after < last_id - LIMIT_RESUME_RING))
		return -1;
	for (uint64_t id = after + 1; id <= last_id; id++)
		if (ch->ring[id % LIMIT_RESUME_RING].id != id)
			return -1;	/* a gap: the store has it all */
	for (uint64_t id = after + 1; id <= last_id; id++) {
		struct ring_slot *slot = &ch->ring[id % LIMIT_RESUME_RING];
		if (slot->frames[kind] == NULL)
			slot->frames[kind] = hub->render(kind, chat_id, id, slot->name, slot->data);
		sse_frame_list_add(out, slot->frames[kind]);
	}
	return 0;
}

void
hub_remember(struct hub *hub, const char *chat_id, json_t *events, uint64_t through)
{
	struct channel *ch = channel_find(hub, chat_id, false);
	if (ch == NULL || ch->ring_first != 0 || !ch->known || ch->delivered != through)
		return;
	struct frame *none[STREAM_KINDS] = { NULL };
	size_t n = json_array_size(events);
	for (size_t i = n > LIMIT_RESUME_RING ? n - LIMIT_RESUME_RING : 0; i < n; i++) {
		json_t *ev = json_array_get(events, i);
		ring_keep(ch, (uint64_t)json_integer_value(json_object_get(ev, "id")),
		    json_string_value(json_object_get(ev, "name")), json_object_get(ev, "data"),
		    none);
	}
}

void
hub_publish_list(struct hub *hub, json_t *audience, bool personal, const char *name,
    json_t *data)
{
	struct channel *ch = channel_find(hub, HUB_LISTS, false);
	if (ch == NULL)
		return;
	struct frame *frames[STREAM_KINDS] = { NULL };
	frames[STREAM_MUX] = hub->render(STREAM_MUX, "list", 0, name, data);
	for (unsigned s = 0; s < hub->nshards; s++)
		if (shard_streams(ch, s) > 0)
			shard_publish_to(hub->shards[s], HUB_LISTS, frames, audience, personal);
	sse_frame_unref(frames[STREAM_MUX]);
}

/* The end is kept (for streams being opened meanwhile: hub_ended_since). */
static void
keep_end(struct hub *hub, bool whole_chat, const struct bus_match *m)
{
	struct end_kept *e = &hub->ended[hub->ends++ % LIMIT_ENDS_KEPT];
	e->whole_chat = whole_chat;
	snprintf(e->chat_id, sizeof e->chat_id, "%s", m->chat_id ? m->chat_id : "");
	snprintf(e->user_id, sizeof e->user_id, "%s", m->user_id ? m->user_id : "");
	snprintf(e->credential, sizeof e->credential, "%s", m->credential ? m->credential : "");
}

/*
 * The chat is gone: what was held behind a gap no longer needs its order,
 * but its "deleted" (published just before) is what the streams must get.
 */
static void
release_deleted(struct hub *hub, struct channel *ch)
{
	struct held *e, *last = NULL;
	STAILQ_FOREACH(e, &ch->held, next)
		if (e->id == 0 && strcmp(e->name, "deleted") == 0)
			last = e;
	if (last != NULL)
		deliver(hub, ch, 0, last->name, last->data);
	held_drop_all(ch);
}

void
hub_end_chat(struct hub *hub, const char *chat_id)
{
	keep_end(hub, true, &(struct bus_match){ .chat_id = chat_id });
	struct channel *ch = channel_find(hub, chat_id, false);
	if (ch != NULL) {
		release_deleted(hub, ch);
		struct frame *none[STREAM_KINDS] = { NULL };
		to_shards(hub, ch, none, false, SHARD_CHAT_OVER);
	}
}

void
hub_end_streams(struct hub *hub, const struct bus_match *m)
{
	keep_end(hub, false, m);
	json_t *data = json_pack("{s:s}", "reason", m->reason);
	struct frame *last[STREAM_KINDS];
	for (int kind = 0; kind < STREAM_KINDS; kind++)
		last[kind] = hub->render((enum stream_kind)kind, m->chat_id, 0, "deleted", data);
	for (unsigned s = 0; s < hub->nshards; s++)
		shard_end_matching(hub->shards[s], m->chat_id ? m->chat_id : "",
		    m->user_id ? m->user_id : "", m->credential ? m->credential : "", last);
	for (int kind = 0; kind < STREAM_KINDS; kind++)
		sse_frame_unref(last[kind]);
	json_decref(data);
}

uint64_t
hub_ends(struct hub *hub)
{
	return hub->ends;
}

/* An end kept that matches a stream of chats (n) for owner. */
static bool
end_matches(const struct end_kept *e, const char *const *chats, size_t n,
    const struct stream_owner *owner)
{
	bool chat = e->chat_id[0] == '\0';
	for (size_t i = 0; !chat && i < n; i++)
		chat = strcmp(chats[i], e->chat_id) == 0;
	return chat && (e->whole_chat || ((e->user_id[0] == '\0' ||
	    strcmp(e->user_id, owner->user_id) == 0) && (e->credential[0] == '\0' ||
	    strcmp(e->credential, owner->credential) == 0)));
}

bool
hub_ended_since(struct hub *hub, uint64_t mark, const char *const *chats, size_t n,
    const struct stream_owner *owner)
{
	if (hub->ends - mark > LIMIT_ENDS_KEPT)
		return true;		/* more than are kept: as if one matched */
	for (uint64_t k = mark; k < hub->ends; k++)
		if (end_matches(&hub->ended[k % LIMIT_ENDS_KEPT], chats, n, owner))
			return true;
	return false;
}

struct frame *
hub_frame(struct hub *hub, enum stream_kind kind, const char *chat_id, uint64_t id,
    const char *name, json_t *data)
{
	return hub->render(kind, chat_id, id, name, data);
}

static void
bus_publish_here(void *hub, const char *chat_id, uint64_t id, const char *name, json_t *data)
{
	hub_publish(hub, chat_id, id, name, data);
}

static void
bus_end_here(void *hub, const char *chat_id)
{
	hub_end_chat(hub, chat_id);
}

static void
bus_end_streams_here(void *hub, const struct bus_match *m)
{
	hub_end_streams(hub, m);
}

static void
bus_forget_here(void *impl, const char *chat_id)
{
	struct hub *hub = impl;
	struct channel *ch = channel_find(hub, chat_id, false);
	if (ch != NULL)
		ring_forget(ch);
}

static void
bus_publish_list_here(void *hub, json_t *audience, bool personal, const char *name,
    json_t *data)
{
	hub_publish_list(hub, audience, personal, name, data);
}

/* A stream hears the chat lists while their channel exists (it goes with its last stream). */
static bool
bus_lists_heard_here(void *hub)
{
	return channel_find(hub, HUB_LISTS, false) != NULL;
}

/* One process keeps nothing another must forget. */
static void
bus_changed_here(void *hub, enum bus_change what)
{
	(void)hub;
	(void)what;
}

/* One process: every reply is written here. */
static json_t *
bus_reply_elsewhere_here(void *hub, const char *chat_id)
{
	(void)hub;
	(void)chat_id;
	return NULL;
}

static void
bus_publish_only_here(void *hub, const char *chat_id, const char *name, json_t *data)
{
	hub_publish(hub, chat_id, 0, name, data);
}

/* One process: nobody else to tell. */
static void
bus_share_presence_here(void *hub, const char *chat_id, json_t *people)
{
	(void)hub;
	(void)chat_id;
	(void)people;
}

/* One process holds every lease: nothing is ever asked of another. */
static void
bus_ask_turn_here(void *hub, const char *to, const char *chat_id)
{
	(void)hub;
	(void)to;
	(void)chat_id;
}

static void
bus_sign_in_here(void *hub, const char *name, const char *address, bool failed)
{
	(void)hub;
	(void)name;
	(void)address;
	(void)failed;
}

static void
bus_renamed_here(void *hub, const char *user_id, const char *name)
{
	(void)hub;
	(void)user_id;
	(void)name;
}

struct bus
hub_bus(struct hub *hub)
{
	static const struct bus_ops ops = { bus_publish_here, bus_end_here, bus_end_streams_here,
	    bus_publish_list_here, bus_forget_here, bus_lists_heard_here, bus_changed_here,
	    bus_reply_elsewhere_here, bus_publish_here, bus_publish_only_here,
	    bus_share_presence_here, bus_ask_turn_here, bus_sign_in_here, bus_renamed_here };
	return (struct bus){ &ops, hub };
}

void
hub_end_all(struct hub *hub)
{
	for (unsigned s = 0; s < hub->nshards; s++)
		shard_end_all(hub->shards[s]);
}

bool
hub_behind(struct hub *hub)
{
	for (unsigned s = 0; s < hub->nshards; s++)
		if (shard_lag_ns(hub->shards[s]) > (int64_t)LIMIT_DELIVERY_LAG_MS * 1000000)
			return true;
	return false;
}

size_t
hub_subscriber_count(const struct hub *hub)
{
	return hub->subscribers;
}

/* ---------- life cycle ---------- */

struct hub *
hub_new(struct event_base *base, unsigned nshards, hub_render_fn render)
{
	struct hub *hub = xcalloc(1, sizeof *hub);
	idmap_init(&hub->channels, HUB_BUCKETS);
	hub->render = render;
	hub->mailbox = mailbox_new(base, NULL, NULL);
	hub->nshards = nshards < 1 ? 1 : nshards > MAX_SHARDS ? MAX_SHARDS : nshards;
	struct shard_home home = { hub->mailbox, stream_gone, hub };
	for (unsigned s = 0; s < hub->nshards; s++)
		hub->shards[s] = shard_new(s, s == 0 ? base : NULL, &home);
	return hub;
}

void
hub_free(struct hub *hub)
{
	for (unsigned s = 0; s < hub->nshards; s++)
		shard_free(hub->shards[s]);
	mailbox_free(hub->mailbox);	/* the last "gone" notes */
	struct idmap_entry *e;
	while ((e = idmap_first(&hub->channels)) != NULL)
		channel_free(hub, container_of(e, struct channel, entry));
	idmap_free(&hub->channels);
	free(hub);
}
