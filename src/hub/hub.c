/*
 * hub.c - channels and fan-out; see hub.h. The fan-out loop must stay free
 * of allocation and rendering per subscriber: frames are built before it.
 */
#include "hub/hub.h"
#include "hub/event_frame.h"
#include "limits.h"
#include "metrics.h"
#include "sse/frame.h"
#include "sse/stream.h"
#include "util/xmalloc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

struct subscription {
	LIST_ENTRY(subscription) entry;
	struct channel		*channel;	/* NULL once detached */
	struct sse_stream	*stream;
};

LIST_HEAD(sub_list, subscription);

#define HUB_RING 64	/* recent durable events a channel keeps for resumes */

/* A durable event as published, with its frames (built lazily per kind). */
struct ring_slot {
	uint64_t	 id;
	char		*name;
	json_t		*data;
	struct frame	*frames[2];	/* by enum stream_kind */
};

struct channel {
	LIST_ENTRY(channel)	 entry;
	struct hub		*hub;
	char			 chat_id[CHAT_ID_LEN + 1];
	struct sub_list		 subs[2];	/* by enum stream_kind */
	size_t			 count;
	struct ring_slot	 ring[HUB_RING];	/* event id % HUB_RING */
	uint64_t		 ring_first;	/* first id published since created, or 0 */
	uint64_t		 ring_last;
};

#define HUB_BUCKETS 4096	/* channel hash buckets; a power of two */

LIST_HEAD(channel_list, channel);

struct hub {
	struct channel_list	 buckets[HUB_BUCKETS];
	size_t			 subscribers;
};

static struct channel_list *
bucket_of(struct hub *hub, const char *chat_id)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	for (; *chat_id; chat_id++)
		h = (h ^ (unsigned char)*chat_id) * 16777619u;
	return &hub->buckets[h & (HUB_BUCKETS - 1)];
}

struct hub *
hub_new(void)
{
	struct hub *hub = xcalloc(1, sizeof *hub);
	for (size_t i = 0; i < HUB_BUCKETS; i++)
		LIST_INIT(&hub->buckets[i]);
	return hub;
}

static struct channel *
channel_find(struct hub *hub, const char *chat_id)
{
	struct channel *ch;
	LIST_FOREACH(ch, bucket_of(hub, chat_id), entry)
		if (strcmp(ch->chat_id, chat_id) == 0)
			return ch;
	return NULL;
}

struct subscription *
hub_subscribe(struct hub *hub, const char *chat_id, struct sse_stream *stream)
{
	assert(strlen(chat_id) == CHAT_ID_LEN);
	struct channel *ch = channel_find(hub, chat_id);
	if (ch == NULL) {
		ch = xcalloc(1, sizeof *ch);
		ch->hub = hub;
		strncpy(ch->chat_id, chat_id, CHAT_ID_LEN);
		LIST_INIT(&ch->subs[STREAM_JSON]);
		LIST_INIT(&ch->subs[STREAM_HTML]);
		LIST_INSERT_HEAD(bucket_of(hub, chat_id), ch, entry);
	}
	struct subscription *sub = xcalloc(1, sizeof *sub);
	sub->channel = ch;
	sub->stream = stream;
	LIST_INSERT_HEAD(&ch->subs[sse_stream_kind(stream)], sub, entry);
	ch->count++;
	hub->subscribers++;
	return sub;
}

static void
slot_clear(struct ring_slot *slot)
{
	free(slot->name);
	json_decref(slot->data);
	sse_frame_unref(slot->frames[STREAM_JSON]);
	sse_frame_unref(slot->frames[STREAM_HTML]);
	memset(slot, 0, sizeof *slot);
}

/* Keeps a durable event (and the frames already built) for resumes. */
static void
ring_keep(struct channel *ch, uint64_t id, const char *name, json_t *data,
    struct frame *frames[2])
{
	struct ring_slot *slot = &ch->ring[id % HUB_RING];
	slot_clear(slot);
	slot->id = id;
	slot->name = xstrdup(name);
	slot->data = json_incref(data);
	for (int k = STREAM_JSON; k <= STREAM_HTML; k++)
		slot->frames[k] = frames[k] ? sse_frame_ref(frames[k]) : NULL;
	if (ch->ring_first == 0)
		ch->ring_first = id;
	ch->ring_last = id;
}

/* Takes sub out of its channel, freeing the channel when it empties. */
static void
detach(struct subscription *sub)
{
	struct channel *ch = sub->channel;
	if (ch == NULL)
		return;
	LIST_REMOVE(sub, entry);
	sub->channel = NULL;
	ch->hub->subscribers--;
	if (--ch->count == 0) {
		LIST_REMOVE(ch, entry);
		for (size_t i = 0; i < HUB_RING; i++)
			slot_clear(&ch->ring[i]);
		free(ch);
	}
}

void
hub_unsubscribe(struct subscription *sub)
{
	if (sub == NULL)
		return;
	detach(sub);
	free(sub);
}

static void
send_to_all(struct sub_list *list, struct frame *f)
{
	struct subscription *sub;
	LIST_FOREACH(sub, list, entry)
		sse_stream_send(sub->stream, f);
}

static void
publish_to(struct channel *ch, uint64_t id, const char *name, json_t *data)
{
	struct frame *frames[2] = { NULL, NULL };
	for (int kind = STREAM_JSON; kind <= STREAM_HTML; kind++) {
		if (LIST_EMPTY(&ch->subs[kind]))
			continue;
		frames[kind] = event_frame((enum stream_kind)kind, id, name, data);
		if (frames[kind] != NULL)
			send_to_all(&ch->subs[kind], frames[kind]);
	}
	if (id > 0)
		ring_keep(ch, id, name, data, frames);
	sse_frame_unref(frames[STREAM_JSON]);
	sse_frame_unref(frames[STREAM_HTML]);
}

int
hub_replay(struct hub *hub, const char *chat_id, uint64_t after, uint64_t last_id,
    struct sse_stream *stream)
{
	struct channel *ch = channel_find(hub, chat_id);
	if (ch == NULL || ch->ring_first == 0 || ch->ring_last != last_id ||
	    after + 1 < ch->ring_first || (last_id > HUB_RING && after < last_id - HUB_RING))
		return -1;
	enum stream_kind kind = sse_stream_kind(stream);
	for (uint64_t id = after + 1; id <= last_id; id++) {
		struct ring_slot *slot = &ch->ring[id % HUB_RING];
		if (slot->frames[kind] == NULL)
			slot->frames[kind] = event_frame(kind, id, slot->name, slot->data);
		if (slot->frames[kind] != NULL)
			sse_stream_send(stream, slot->frames[kind]);
	}
	return 0;
}

void
hub_publish(struct hub *hub, const char *chat_id, uint64_t id, const char *name,
    json_t *data)
{
	metrics_add(METRIC_EVENTS_PUBLISHED, 1);
	struct channel *ch = channel_find(hub, chat_id);
	if (ch != NULL)
		publish_to(ch, id, name, data);
}

/* Ends every stream of the channel; their subscriptions go when they close. */
static void
end_channel(struct channel *ch)
{
	for (int kind = STREAM_JSON; kind <= STREAM_HTML; kind++) {
		struct subscription *sub;
		LIST_FOREACH(sub, &ch->subs[kind], entry)
			sse_stream_end(sub->stream);
	}
}

void
hub_chat_deleted(struct hub *hub, const char *chat_id)
{
	struct channel *ch = channel_find(hub, chat_id);
	if (ch == NULL)
		return;
	json_t *data = json_pack("{s:s}", "chat_id", chat_id);
	publish_to(ch, 0, "deleted", data);
	json_decref(data);
	end_channel(ch);
}

size_t
hub_end_all(struct hub *hub)
{
	for (size_t i = 0; i < HUB_BUCKETS; i++) {
		struct channel *ch;
		LIST_FOREACH(ch, &hub->buckets[i], entry)
			end_channel(ch);
	}
	return hub->subscribers;
}

size_t
hub_subscriber_count(const struct hub *hub)
{
	return hub->subscribers;
}

/* Streams still open keep their subscriptions, detached, and free them on close. */
void
hub_free(struct hub *hub)
{
	for (size_t i = 0; i < HUB_BUCKETS; i++) {
		struct channel *ch;
		while ((ch = LIST_FIRST(&hub->buckets[i])) != NULL) {
			/* a listed channel has a subscriber; the last detach frees it */
			struct subscription *sub = LIST_FIRST(&ch->subs[STREAM_JSON]);
			detach(sub ? sub : LIST_FIRST(&ch->subs[STREAM_HTML]));
		}
	}
	free(hub);
}
