/*
 * hub.h - per-chat publish/subscribe, on the main loop. Publishing frames
 * an event once per payload kind (JSON, HTML) that has subscribers and hands
 * the same frames to every shard (event loop) that holds streams of the
 * chat; nothing is copied or rendered per subscriber. The hub also keeps the
 * last HUB_RING durable events of each chat with subscribers, for resumes.
 * Main thread only; shards are reached through their mailboxes.
 */
#ifndef PARLEY_HUB_H
#define PARLEY_HUB_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sse/frame.h"
#include "sse/stream.h"

struct event_base;
struct hub;

/* A hub on the main loop with nshards shards: shard 0 on base, the rest on threads. */
struct hub	*hub_new(struct event_base *base, unsigned nshards);
/* Stops the shards (closing streams still open) and frees the hub. */
void		 hub_free(struct hub *hub);

/*
 * Hands the stream on fd (its request read) to a shard, subscribed to the
 * chat, starting with the frames of initial (taken over).
 */
void		 hub_attach(struct hub *hub, const char *chat_id, int fd,
		    const struct sse_stream_opts *opts, struct frame_list *initial);
/*
 * Sends an event to the chat's subscribers: id > 0 for a durable event
 * (already in the store's log), 0 for an ephemeral one. data is borrowed.
 */
void		 hub_publish(struct hub *hub, const char *chat_id, uint64_t id,
		    const char *name, json_t *data);
/*
 * Appends to out the frames (of kind) of the durable events after `after`
 * up to last_id (the chat's last event id), from memory. -1 when they are
 * not all there: the caller reads them from the store.
 */
int		 hub_replay(struct hub *hub, const char *chat_id, uint64_t after,
		    uint64_t last_id, enum stream_kind kind, struct frame_list *out);
/* Sends "deleted" to the chat's subscribers and ends their streams. */
void		 hub_chat_deleted(struct hub *hub, const char *chat_id);
/* Ends every open stream (shutdown). */
void		 hub_end_all(struct hub *hub);
/*
 * True while some stream thread has had deliveries waiting longer than
 * LIMIT_DELIVERY_LAG_MS: new writes should wait, so that events are not
 * accepted faster than they can be written (http/admission.c).
 */
bool		 hub_behind(struct hub *hub);
/* Streams open, as far as the main loop has heard. */
size_t		 hub_subscriber_count(const struct hub *hub);

#endif
