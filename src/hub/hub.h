/*
 * hub.h - per-chat publish/subscribe. A hub belongs to one event loop: its
 * channels and subscriptions are touched only from that loop's thread.
 * Publishing frames an event once per payload kind (JSON, HTML) and hands the
 * same frame to every subscriber of that kind; nothing is copied or rendered
 * per subscriber. With several loops, each gets a hub and an event is
 * published to each (frames are reference-counted atomically for that).
 */
#ifndef PARLEY_HUB_H
#define PARLEY_HUB_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct hub;
struct sse_stream;
struct subscription;

struct hub	*hub_new(void);
/* Frees the hub; streams still open keep detached subscriptions. */
void		 hub_free(struct hub *hub);

/* Adds the stream to the chat's channel; unsubscribe when the stream closes. */
struct subscription *hub_subscribe(struct hub *hub, const char *chat_id,
		    struct sse_stream *stream);
void		 hub_unsubscribe(struct subscription *sub);

/*
 * Sends an event to the chat's subscribers: id > 0 for a durable event
 * (already in the store's log), 0 for an ephemeral one. data is borrowed.
 */
void		 hub_publish(struct hub *hub, const char *chat_id, uint64_t id,
		    const char *name, json_t *data);
/*
 * Sends the stream the durable events after `after` up to last_id (the
 * chat's last event id) from the channel's memory of recent events. -1
 * when they are not all there: the caller reads them from the store.
 */
int		 hub_replay(struct hub *hub, const char *chat_id, uint64_t after,
		    uint64_t last_id, struct sse_stream *stream);
/* Sends "deleted" to the chat's subscribers and ends their streams. */
void		 hub_chat_deleted(struct hub *hub, const char *chat_id);
/* Ends every open stream (shutdown); returns how many were open. */
size_t		 hub_end_all(struct hub *hub);
size_t		 hub_subscriber_count(const struct hub *hub);

#endif
