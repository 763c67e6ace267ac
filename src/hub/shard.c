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

/* What a member's stream holds, and so which flush will write it. */
enum held {
	HELD_NONE,
	HELD_LATER,	/* only token frames: the coalescing timer writes them */
	HELD_NOW,	/* something durable: the end of this batch writes it all */
};

struct member {
	LIST_ENTRY(member)	 entry;
	LIST_ENTRY(member)	 later_entry;	/* on the shard's later list */
	struct shard		*shard;
	struct room		*room;
	struct sse_stream	*stream;
	enum held		 held;
	struct stream_owner	 owner;
};

LIST_HEAD(member_list, member);

/* A room: the shard's streams of one chat, by kind. */
struct room {
	struct idmap_entry	 entry;		/* keyed by chat id */
	struct member_list	 members[2];
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
	size_t			 streams;
	bool			 ending;	/* shutdown: end new streams at once */
	struct member		**dirty;	/* HELD_NOW members */
	size_t			 ndirty, dirty_cap;
	struct member_list	 later;		/* HELD_LATER members */
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
	LIST_INIT(&r->members[STREAM_JSON]);
	LIST_INIT(&r->members[STREAM_HTML]);
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
};

static void
gone_deliver(void *arg)
{
	struct gone_note *n = arg;
	n->home.gone(n->home.hub, n->shard, n->chat_id, n->kind);
	free(n);
}

/* A stream closed: it leaves its room (freed when empty) and the hub is told. */
static void
member_closed(struct sse_stream *s, void *arg)
{
	struct member *m = arg;
	struct shard *sh = m->shard;
	struct room *r = m->room;
	struct gone_note *n = xmalloc(sizeof *n);
	n->home = sh->home;
	n->shard = sh->index;
	memcpy(n->chat_id, r->entry.id, sizeof n->chat_id);
	n->kind = sse_stream_kind(s);
	mailbox_post(sh->home.mailbox, gone_deliver, n);

	assert(m->held != HELD_NOW);	/* written before any teardown runs */
	if (m->held == HELD_LATER)
		LIST_REMOVE(m, later_entry);
	LIST_REMOVE(m, entry);
	free(m);
	sh->streams--;
	if (--r->count == 0)
		room_free(sh, r);
}

struct adoption {
	struct shard		*shard;
	int			 fd;
	char			 chat_id[ID_LEN + 1];
	struct stream_owner	 owner;
	struct sse_stream_opts	 opts;
	struct sse_frame_list	 initial;
};

static void
adopt_here(void *arg)
{
	struct adoption *a = arg;
	struct shard *sh = a->shard;
	struct room *r = room_find(sh, a->chat_id, true);
	struct member *m = xcalloc(1, sizeof *m);
	m->shard = sh;
	m->room = r;
	m->owner = a->owner;
	a->opts.on_close = member_closed;
	a->opts.arg = m;
	m->stream = sse_stream_start(sh->base, a->fd, &a->opts);
	LIST_INSERT_HEAD(&r->members[a->opts.kind], m, entry);
	r->count++;
	sh->streams++;
	for (size_t i = 0; i < a->initial.n; i++)
		sse_stream_send(m->stream, a->initial.v[i]);
	sse_stream_go_live(m->stream);
	if (sh->ending)
		sse_stream_end(m->stream);
	sse_frame_list_free(&a->initial);
	free(a);
}

void
shard_adopt(struct shard *sh, int fd, const char *chat_id, const struct stream_owner *owner,
    const struct sse_stream_opts *opts, struct sse_frame_list *initial)
{
	struct adoption *a = xcalloc(1, sizeof *a);
	a->shard = sh;
	a->fd = fd;
	if (owner != NULL)
		a->owner = *owner;
	snprintf(a->chat_id, sizeof a->chat_id, "%s", chat_id);
	a->opts = *opts;
	a->initial = *initial;
	*initial = (struct sse_frame_list){ NULL, 0, 0 };
	mailbox_post(sh->inbox, adopt_here, a);
}

/* ---------- fan-out ---------- */

struct delivery {
	struct shard	*shard;
	char		 chat_id[ID_LEN + 1];
	struct frame	*frames[2];
	bool		 later;		/* token frames: may wait for the timer */
	bool		 end;
};

/* m's stream holds a durable frame: the flush that ends this batch writes it. */
static void
hold_now(struct shard *sh, struct member *m)
{
	if (m->held == HELD_NOW)
		return;
	if (m->held == HELD_LATER)
		LIST_REMOVE(m, later_entry);
	if (sh->ndirty == sh->dirty_cap) {
		sh->dirty_cap = sh->dirty_cap ? sh->dirty_cap * 2 : 256;
		sh->dirty = xreallocarray(sh->dirty, sh->dirty_cap, sizeof *sh->dirty);
	}
	sh->dirty[sh->ndirty++] = m;
	m->held = HELD_NOW;
}

/* m's stream holds token frames only: they wait for the coalescing timer. */
static void
hold_later(struct shard *sh, struct member *m)
{
	if (m->held != HELD_NONE)
		return;
	LIST_INSERT_HEAD(&sh->later, m, later_entry);
	m->held = HELD_LATER;
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
hold(struct shard *sh, struct member *m, struct frame *f, bool later)
{
	bool first = sse_stream_hold(m->stream, f);
	if (later && first)
		hold_later(sh, m);
	else if (!later && (first || m->held == HELD_LATER))
		hold_now(sh, m);
}

static void
deliver_here(void *arg)
{
	struct delivery *d = arg;
	struct shard *sh = d->shard;
	struct room *r = room_find(sh, d->chat_id, false);
	for (int kind = STREAM_JSON; r != NULL && kind <= STREAM_HTML; kind++) {
		struct member *m;
		LIST_FOREACH(m, &r->members[kind], entry) {
			if (d->frames[kind] != NULL)
				hold(sh, m, d->frames[kind], d->later);
			if (d->end)
				sse_stream_end(m->stream);	/* after what it holds */
		}
	}
	sse_frame_unref(d->frames[STREAM_JSON]);
	sse_frame_unref(d->frames[STREAM_HTML]);
	free(d);
}

void
shard_publish(struct shard *sh, const char *chat_id, struct frame *frames[2], bool later,
    bool end)
{
	struct delivery *d = xmalloc(sizeof *d);
	d->shard = sh;
	snprintf(d->chat_id, sizeof d->chat_id, "%s", chat_id);
	for (int k = STREAM_JSON; k <= STREAM_HTML; k++)
		d->frames[k] = frames[k] ? sse_frame_ref(frames[k]) : NULL;
	d->later = later && !end;
	d->end = end;
	mailbox_post(sh->inbox, deliver_here, d);
}

/* ---------- ending streams whose access went ---------- */

struct ending {
	struct shard		*shard;
	char			 chat_id[ID_LEN + 1];	/* "" for any */
	struct stream_owner	 match;			/* fields "" match any */
	struct frame		*last[2];
};

static bool
matches(const struct ending *e, const struct member *m)
{
	return (e->match.user_id[0] == '\0' || strcmp(e->match.user_id, m->owner.user_id) == 0) &&
	    (e->match.credential[0] == '\0' ||
	    strcmp(e->match.credential, m->owner.credential) == 0);
}

static void
end_room(struct shard *sh, struct room *r, const struct ending *e)
{
	for (int kind = STREAM_JSON; kind <= STREAM_HTML; kind++) {
		struct member *m;
		LIST_FOREACH(m, &r->members[kind], entry)
			if (matches(e, m) && !sse_stream_closing(m->stream)) {
				if (e->last[kind] != NULL)
					hold(sh, m, e->last[kind], false);
				sse_stream_end(m->stream);	/* after what it holds */
			}
	}
}

static void
end_matching_here(void *arg)
{
	struct ending *e = arg;
	struct shard *sh = e->shard;
	struct idmap_entry *en, *tmp;
	if (e->chat_id[0] != '\0') {
		struct room *r = room_find(sh, e->chat_id, false);
		if (r != NULL)
			end_room(sh, r, e);
	} else
		IDMAP_FOREACH(&sh->rooms, en, tmp)
			end_room(sh, container_of(en, struct room, entry), e);
	sse_frame_unref(e->last[STREAM_JSON]);
	sse_frame_unref(e->last[STREAM_HTML]);
	free(e);
}

void
shard_end_matching(struct shard *sh, const char *chat_id, const char *user_id,
    const char *credential, struct frame *last[2])
{
	struct ending *e = xcalloc(1, sizeof *e);
	e->shard = sh;
	snprintf(e->chat_id, sizeof e->chat_id, "%s", chat_id);
	snprintf(e->match.user_id, sizeof e->match.user_id, "%s", user_id);
	snprintf(e->match.credential, sizeof e->match.credential, "%s", credential);
	for (int k = STREAM_JSON; k <= STREAM_HTML; k++)
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
	struct member *m;
	while ((m = LIST_FIRST(&sh->later)) != NULL) {
		LIST_REMOVE(m, later_entry);
		m->held = HELD_NONE;
		flushing(sh, n + 1)[n] = m->stream;
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
	struct idmap_entry *e, *tmp;
	IDMAP_FOREACH(&sh->rooms, e, tmp) {
		struct room *r = container_of(e, struct room, entry);
		for (int kind = STREAM_JSON; kind <= STREAM_HTML; kind++) {
			struct member *m;
			LIST_FOREACH(m, &r->members[kind], entry)
				sse_stream_end(m->stream);
		}
	}
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
	struct idmap_entry *e;
	while ((e = idmap_first(&sh->rooms)) != NULL) {
		struct room *r = container_of(e, struct room, entry);
		for (int kind = STREAM_JSON; kind <= STREAM_HTML; kind++) {
			struct member *m;
			while ((m = LIST_FIRST(&r->members[kind])) != NULL) {
				if (m->held == HELD_LATER)
					LIST_REMOVE(m, later_entry);
				LIST_REMOVE(m, entry);
				sse_stream_free(m->stream);
				free(m);
			}
		}
		room_free(sh, r);
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
