/*
 * shard.c - a loop's streams and their per-chat fan-out; see shard.h.
 * Everything below the public functions runs on the shard's own loop.
 */
#include "hub/shard.h"
#include "hub/hub.h"
#include "metrics.h"
#include "sse/send_batch.h"
#include "util/idmap.h"
#include "util/log.h"
#include "util/mailbox.h"
#include "util/xmalloc.h"

#include <assert.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#define SHARD_BUCKETS 4096	/* room hash buckets */

/* What a subscriber's stream holds, and so which flush will write it. */
enum held {
	HELD_NONE,
	HELD_LATER,	/* only token frames: the coalescing timer writes them */
	HELD_NOW,	/* something durable: the end of this batch writes it all */
};

struct member;
LIST_HEAD(member_list, member);

/* A stream and the chats it carries (one, or several for a browser's shared stream). */
struct sub {
	LIST_ENTRY(sub)		 entry;		/* the shard's subs */
	LIST_ENTRY(sub)		 later_entry;	/* on the shard's later list */
	struct shard		*shard;
	struct sse_stream	*stream;
	enum held		 held;
	bool			 many;		/* a chat ending leaves it open */
	struct stream_owner	 owner;
	struct member_list	 rooms;		/* its memberships */
};

LIST_HEAD(sub_list, sub);

/* A subscriber in one room. */
struct member {
	LIST_ENTRY(member)	 entry;		/* in its room, by kind */
	LIST_ENTRY(member)	 sub_entry;	/* in its subscriber's rooms */
	struct room		*room;
	struct sub		*sub;
};

/* A room: the shard's streams of one chat, by kind. */
struct room {
	struct idmap_entry	 entry;		/* keyed by chat id */
	struct member_list	 members[STREAM_KINDS];
	size_t			 count;
};

struct shard {
	unsigned		 index;
	struct event_base	*base;
	bool			 own_thread;
	pthread_t		 thread;
	struct mailbox		*inbox;
	struct shard_home	 home;
	struct idmap		 rooms;
	struct sub_list		 subs;
	size_t			 streams;
	bool			 ending;	/* shutdown: end new streams at once */
	struct sub		**dirty;	/* HELD_NOW subscribers */
	size_t			 ndirty, dirty_cap;
	struct sub_list		 later;		/* HELD_LATER subscribers */
	struct event		*later_timer;
	struct send_batch	*sender;	/* writes a flush's streams together */
	struct sse_stream	**flushing;	/* the streams of one flush */
	size_t			 flushing_cap;
};

static struct room *
room_find(struct shard *sh, const char *chat_id, bool create)
{
	struct idmap_entry *e = idmap_find(&sh->rooms, chat_id);
	if (e != NULL)
		return container_of(e, struct room, entry);
	if (!create)
		return NULL;
	struct room *r = xcalloc(1, sizeof *r);
	for (int kind = 0; kind < STREAM_KINDS; kind++)
		LIST_INIT(&r->members[kind]);
	idmap_insert(&sh->rooms, &r->entry, chat_id);
	return r;
}

static void
room_free(struct shard *sh, struct room *r)
{
	idmap_remove(&sh->rooms, &r->entry);
	free(r);
}

/* ---------- streams joining and leaving ---------- */

struct gone_note {
	struct shard_home	 home;
	unsigned		 shard;
	char			 chat_id[ID_LEN + 1];
	enum stream_kind	 kind;
	uint64_t		 presence;
};

static void
gone_deliver(void *arg)
{
	struct gone_note *n = arg;
	n->home.gone(n->home.hub, n->shard, n->chat_id, n->kind, n->presence);
	free(n);
}

/* Tells the hub that sub left the chat, or with "", that it closed. */
static void
tell_gone(struct shard *sh, const char *chat_id, const struct sub *sub)
{
	struct gone_note *n = xmalloc(sizeof *n);
	n->home = sh->home;
	n->shard = sh->index;
	snprintf(n->chat_id, sizeof n->chat_id, "%s", chat_id);
	n->kind = sse_stream_kind(sub->stream);
	n->presence = sub->owner.presence;
	mailbox_post(sh->home.mailbox, gone_deliver, n);
}

/* m's subscriber leaves m's room (freed when empty), and the hub is told. */
static void
leave(struct shard *sh, struct member *m)
{
	struct room *r = m->room;
	tell_gone(sh, r->entry.id, m->sub);
	LIST_REMOVE(m, entry);
	LIST_REMOVE(m, sub_entry);
	free(m);
	if (--r->count == 0)
		room_free(sh, r);
}

static void
join(struct shard *sh, struct sub *sub, const char *chat_id)
{
	struct room *r = room_find(sh, chat_id, true);
	struct member *m = xcalloc(1, sizeof *m);
	m->room = r;
	m->sub = sub;
	LIST_INSERT_HEAD(&r->members[sse_stream_kind(sub->stream)], m, entry);
	LIST_INSERT_HEAD(&sub->rooms, m, sub_entry);
	r->count++;
}

/* A stream closed: it leaves its rooms. */
static void
sub_closed(struct sse_stream *s, void *arg)
{
	(void)s;
	struct sub *sub = arg;
	struct shard *sh = sub->shard;
	struct member *m;
	while ((m = LIST_FIRST(&sub->rooms)) != NULL)
		leave(sh, m);
	tell_gone(sh, "", sub);
	assert(sub->held != HELD_NOW);	/* written before any teardown runs */
	if (sub->held == HELD_LATER)
		LIST_REMOVE(sub, later_entry);
	LIST_REMOVE(sub, entry);
	free(sub);
	sh->streams--;
}

struct adoption {
	struct shard		*shard;
	int			 fd;
	char			(*chat_ids)[ID_LEN + 1];
	size_t			 nchats;
	bool			 many;
	struct stream_owner	 owner;
	struct sse_stream_opts	 opts;
	struct sse_frame_list	 initial;
};

static void
adopt_here(void *arg)
{
	struct adoption *a = arg;
	struct shard *sh = a->shard;
	struct sub *sub = xcalloc(1, sizeof *sub);
	sub->shard = sh;
	sub->many = a->many;
	sub->owner = a->owner;
	LIST_INIT(&sub->rooms);
	a->opts.on_close = sub_closed;
	a->opts.arg = sub;
	sub->stream = sse_stream_start(sh->base, a->fd, &a->opts);
	LIST_INSERT_HEAD(&sh->subs, sub, entry);
	sh->streams++;
	for (size_t i = 0; i < a->nchats; i++)
		join(sh, sub, a->chat_ids[i]);
	for (size_t i = 0; i < a->initial.n; i++)
		sse_stream_send(sub->stream, a->initial.v[i]);
	sse_stream_go_live(sub->stream);
	if (sh->ending)
		sse_stream_end(sub->stream);
	sse_frame_list_free(&a->initial);
	free(a->chat_ids);
	free(a);
}

void
shard_adopt(struct shard *sh, int fd, const char *const *chat_ids, size_t nchats, bool many,
    const struct stream_owner *owner, const struct sse_stream_opts *opts,
    struct sse_frame_list *initial)
{
	struct adoption *a = xcalloc(1, sizeof *a);
	a->shard = sh;
	a->fd = fd;
	a->chat_ids = xcalloc(nchats ? nchats : 1, sizeof *a->chat_ids);
	for (size_t i = 0; i < nchats; i++)
		snprintf(a->chat_ids[i], sizeof a->chat_ids[i], "%s", chat_ids[i]);
	a->nchats = nchats;
	a->many = many;
	if (owner != NULL)
		a->owner = *owner;
	a->opts = *opts;
	a->initial = *initial;
	*initial = (struct sse_frame_list){ NULL, 0, 0 };
	mailbox_post(sh->inbox, adopt_here, a);
}

/* ---------- fan-out ---------- */

struct delivery {
	struct shard	*shard;
	char		 chat_id[ID_LEN + 1];
	struct frame	*frames[STREAM_KINDS];
	bool		 later;		/* token frames: may wait for the timer */
	enum shard_end	 end;
	bool		 filtered;	/* only to the owners in audience (and who sees all) */
	bool		 personal;	/* not to who sees all unless in audience */
	char		(*audience)[ID_LEN + 1];
	size_t		 naudience;
};

static bool
in_audience(const struct delivery *d, const struct sub *sub)
{
	if (!d->filtered || (sub->owner.sees_all && !d->personal))
		return true;
	for (size_t i = 0; i < d->naudience; i++)
		if (strcmp(d->audience[i], sub->owner.user_id) == 0)
			return true;
	return false;
}

/* sub's stream holds a durable frame: the flush that ends this batch writes it. */
static void
hold_now(struct shard *sh, struct sub *sub)
{
	if (sub->held == HELD_NOW)
		return;
	if (sub->held == HELD_LATER)
		LIST_REMOVE(sub, later_entry);
	if (sh->ndirty == sh->dirty_cap) {
		sh->dirty_cap = sh->dirty_cap ? sh->dirty_cap * 2 : 256;
		sh->dirty = xreallocarray(sh->dirty, sh->dirty_cap, sizeof *sh->dirty);
	}
	sh->dirty[sh->ndirty++] = sub;
	sub->held = HELD_NOW;
}

/* sub's stream holds token frames only: they wait for the coalescing timer. */
static void
hold_later(struct shard *sh, struct sub *sub)
{
	if (sub->held != HELD_NONE)
		return;
	LIST_INSERT_HEAD(&sh->later, sub, later_entry);
	sub->held = HELD_LATER;
	if (!evtimer_pending(sh->later_timer, NULL)) {
		struct timeval tv = { 0, LIMIT_TOKEN_COALESCE_MS * 1000 };
		evtimer_add(sh->later_timer, &tv);
	}
}

/*
 * Frames are held per stream and written with one writev each: at the end of
 * the batch when a durable event is among them, else (token events only) when
 * the coalescing timer fires, so a bot's words go out several to a write.
 */
static void
hold(struct shard *sh, struct sub *sub, struct frame *f, bool later)
{
	bool first = sse_stream_hold(sub->stream, f);
	if (later && first)
		hold_later(sh, sub);
	else if (!later && (first || sub->held == HELD_LATER))
		hold_now(sh, sub);
}

/*
 * The chat is over for m's stream (deleted, or its access went): a stream
 * of several chats leaves the room, a chat's own stream ends (after what it
 * holds).
 */
static void
chat_over(struct shard *sh, struct member *m)
{
	if (m->sub->many)
		leave(sh, m);
	else
		sse_stream_end(m->sub->stream);
}

static void
deliver_here(void *arg)
{
	struct delivery *d = arg;
	struct shard *sh = d->shard;
	struct room *r = room_find(sh, d->chat_id, false);
	size_t left = r != NULL ? r->count : 0;
	for (int kind = 0; left > 0 && kind < STREAM_KINDS; kind++) {
		struct member *m = LIST_FIRST(&r->members[kind]), *next;
		for (; m != NULL; m = next) {
			next = LIST_NEXT(m, entry);
			left--;
			if (d->frames[kind] != NULL && in_audience(d, m->sub))
				hold(sh, m->sub, d->frames[kind], d->later);
			if (d->end == SHARD_RECONNECT)
				sse_stream_end(m->sub->stream);
			else if (d->end == SHARD_CHAT_OVER)
				chat_over(sh, m);	/* may free the room with its last member */
		}
	}
	for (int kind = 0; kind < STREAM_KINDS; kind++)
		sse_frame_unref(d->frames[kind]);
	free(d->audience);
	free(d);
}

void
shard_publish(struct shard *sh, const char *chat_id, struct frame *frames[STREAM_KINDS],
    bool later, enum shard_end end)
{
	struct delivery *d = xcalloc(1, sizeof *d);
	d->shard = sh;
	snprintf(d->chat_id, sizeof d->chat_id, "%s", chat_id);
	for (int k = 0; k < STREAM_KINDS; k++)
		d->frames[k] = frames[k] ? sse_frame_ref(frames[k]) : NULL;
	d->later = later && end == SHARD_GO_ON;
	d->end = end;
	mailbox_post(sh->inbox, deliver_here, d);
}

void
shard_publish_to(struct shard *sh, const char *chat_id, struct frame *frames[STREAM_KINDS],
    json_t *audience, bool personal)
{
	struct delivery *d = xcalloc(1, sizeof *d);
	d->shard = sh;
	snprintf(d->chat_id, sizeof d->chat_id, "%s", chat_id);
	for (int k = 0; k < STREAM_KINDS; k++)
		d->frames[k] = frames[k] ? sse_frame_ref(frames[k]) : NULL;
	d->filtered = audience != NULL;
	d->personal = personal;
	d->naudience = json_array_size(audience);
	d->audience = xcalloc(d->naudience ? d->naudience : 1, sizeof *d->audience);
	size_t i;
	json_t *id;
	json_array_foreach(audience, i, id)
		snprintf(d->audience[i], sizeof d->audience[i], "%s",
		    json_is_string(id) ? json_string_value(id) : "");
	mailbox_post(sh->inbox, deliver_here, d);
}

/* ---------- ending streams whose access went ---------- */

struct ending {
	struct shard		*shard;
	char			 chat_id[ID_LEN + 1];	/* "" for any */
	struct stream_owner	 match;			/* fields "" match any */
	struct frame		*last[STREAM_KINDS];
};

static bool
matches(const struct ending *e, const struct sub *sub)
{
	return (e->match.user_id[0] == '\0' ||
	    strcmp(e->match.user_id, sub->owner.user_id) == 0) &&
	    (e->match.credential[0] == '\0' ||
	    strcmp(e->match.credential, sub->owner.credential) == 0);
}

/* In one chat: the matching streams get the last frame; the chat is over for them. */
static void
end_in_room(struct shard *sh, struct room *r, const struct ending *e)
{
	size_t left = r->count;
	for (int kind = 0; left > 0 && kind < STREAM_KINDS; kind++) {
		struct member *m = LIST_FIRST(&r->members[kind]), *next;
		for (; m != NULL; m = next) {
			next = LIST_NEXT(m, entry);
			left--;
			if (!matches(e, m->sub) || sse_stream_closing(m->sub->stream))
				continue;
			if (e->last[kind] != NULL)
				hold(sh, m->sub, e->last[kind], false);
			chat_over(sh, m);
		}
	}
}

/* In every chat (a session or a user went): the matching streams end. */
static void
end_everywhere(struct shard *sh, const struct ending *e)
{
	struct sub *sub;
	LIST_FOREACH(sub, &sh->subs, entry) {
		enum stream_kind kind = sse_stream_kind(sub->stream);
		if (!matches(e, sub) || sse_stream_closing(sub->stream))
			continue;
		if (e->last[kind] != NULL)
			hold(sh, sub, e->last[kind], false);
		sse_stream_end(sub->stream);	/* after what it holds */
	}
}

static void
end_matching_here(void *arg)
{
	struct ending *e = arg;
	struct shard *sh = e->shard;
	if (e->chat_id[0] != '\0') {
		struct room *r = room_find(sh, e->chat_id, false);
		if (r != NULL)
			end_in_room(sh, r, e);
	} else
		end_everywhere(sh, e);
	for (int kind = 0; kind < STREAM_KINDS; kind++)
		sse_frame_unref(e->last[kind]);
	free(e);
}

void
shard_end_matching(struct shard *sh, const char *chat_id, const char *user_id,
    const char *credential, struct frame *last[STREAM_KINDS])
{
	struct ending *e = xcalloc(1, sizeof *e);
	e->shard = sh;
	snprintf(e->chat_id, sizeof e->chat_id, "%s", chat_id);
	snprintf(e->match.user_id, sizeof e->match.user_id, "%s", user_id);
	snprintf(e->match.credential, sizeof e->match.credential, "%s", credential);
	for (int k = 0; k < STREAM_KINDS; k++)
		e->last[k] = last[k] ? sse_frame_ref(last[k]) : NULL;
	mailbox_post(sh->inbox, end_matching_here, e);
}

int64_t
shard_lag_ns(struct shard *sh)
{
	return mailbox_waiting_ns(sh->inbox);
}

/* Room for n streams in one flush. */
static struct sse_stream **
flushing(struct shard *sh, size_t n)
{
	if (n > sh->flushing_cap) {
		sh->flushing_cap = n > 2 * sh->flushing_cap ? n : 2 * sh->flushing_cap;
		sh->flushing = xreallocarray(sh->flushing, sh->flushing_cap, sizeof *sh->flushing);
	}
	return sh->flushing;
}

static void
flush(struct shard *sh, size_t n)
{
	uint64_t frames = send_batch_flush(sh->sender, sh->flushing, n);
	if (frames > 0)
		metrics_add(METRIC_SSE_FRAMES_SENT, (int64_t)frames);
}

/* The batch of mail is done: write what each HELD_NOW stream holds. */
static void
flush_dirty(void *arg)
{
	struct shard *sh = arg;
	struct sse_stream **streams = flushing(sh, sh->ndirty);
	for (size_t i = 0; i < sh->ndirty; i++) {
		streams[i] = sh->dirty[i]->stream;
		sh->dirty[i]->held = HELD_NONE;
	}
	flush(sh, sh->ndirty);
	sh->ndirty = 0;
}

/* The coalescing timer: write the token frames held since it was armed. */
static void
flush_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct shard *sh = arg;
	size_t n = 0;
	struct sub *sub;
	while ((sub = LIST_FIRST(&sh->later)) != NULL) {
		LIST_REMOVE(sub, later_entry);
		sub->held = HELD_NONE;
		flushing(sh, n + 1)[n] = sub->stream;
		n++;
	}
	flush(sh, n);
}

/* ---------- shutdown ---------- */

static void
end_all_here(void *arg)
{
	struct shard *sh = arg;
	sh->ending = true;
	struct sub *sub;
	LIST_FOREACH(sub, &sh->subs, entry)
		sse_stream_end(sub->stream);
}

void
shard_end_all(struct shard *sh)
{
	mailbox_post(sh->inbox, end_all_here, sh);
}

static void
stop_here(void *arg)
{
	struct shard *sh = arg;
	event_base_loopexit(sh->base, NULL);
}

static void *
run(void *arg)
{
	struct shard *sh = arg;
	event_base_loop(sh->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

struct shard *
shard_new(unsigned index, struct event_base *base, const struct shard_home *home)
{
	struct shard *sh = xcalloc(1, sizeof *sh);
	sh->index = index;
	sh->home = *home;
	sh->own_thread = base == NULL;
	sh->base = base ? base : event_base_new();
	idmap_init(&sh->rooms, SHARD_BUCKETS);
	LIST_INIT(&sh->subs);
	LIST_INIT(&sh->later);
	sh->later_timer = evtimer_new(sh->base, flush_later, sh);
	sh->sender = send_batch_new();
	sh->inbox = mailbox_new(sh->base, flush_dirty, sh);
	if (sh->own_thread && pthread_create(&sh->thread, NULL, run, sh) != 0) {
		log_error("cannot start a stream thread; its streams run on the main loop");
		abort();
	}
	return sh;
}

/* Frees every stream still open, closing its socket, without telling the hub. */
static void
cut_all(struct shard *sh)
{
	struct sub *sub;
	while ((sub = LIST_FIRST(&sh->subs)) != NULL) {
		struct member *m;
		while ((m = LIST_FIRST(&sub->rooms)) != NULL) {
			LIST_REMOVE(m, sub_entry);
			LIST_REMOVE(m, entry);
			if (--m->room->count == 0)
				room_free(sh, m->room);
			free(m);
		}
		if (sub->held == HELD_LATER)
			LIST_REMOVE(sub, later_entry);
		LIST_REMOVE(sub, entry);
		sse_stream_free(sub->stream);
		free(sub);
	}
	sh->streams = 0;
}

/*
 * After its thread has stopped: streams whose teardown is pending finish it
 * (the hub hears of them through its mailbox); the rest are cut.
 */
void
shard_free(struct shard *sh)
{
	if (sh->own_thread) {
		mailbox_post(sh->inbox, stop_here, sh);
		pthread_join(sh->thread, NULL);
	}
	mailbox_free(sh->inbox);
	event_base_loop(sh->base, EVLOOP_NONBLOCK);
	cut_all(sh);
	event_free(sh->later_timer);
	send_batch_free(sh->sender);
	idmap_free(&sh->rooms);
	free(sh->flushing);
	free(sh->dirty);
	if (sh->own_thread)
		event_base_free(sh->base);
	free(sh);
}
