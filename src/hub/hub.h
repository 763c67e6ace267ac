/*
 * hub.h - per-chat publish/subscribe, on the main loop. Publishing frames
 * an event once per payload kind (JSON, HTML, HTML of several chats) that
 * has subscribers and hands the same frames to every shard (event loop)
 * that holds streams of the chat; nothing is copied or rendered per
 * subscriber. The hub also keeps the
 * last LIMIT_RESUME_RING durable events of each chat with subscribers, for resumes.
 * The hub renders frames with the function it is given (the web layer's),
 * and is the in-process bus (bus.h). Main thread only; shards are reached
 * through their mailboxes.
 */
#ifndef PARLEY_HUB_H
#define PARLEY_HUB_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/bus.h"
#include "sse/frame.h"
#include "sse/stream.h"
#include "util/ids.h"
#include "util/secret.h"

struct event_base;
struct hub;

/* Whose stream it is, to end it when their access goes ("" when nobody's in particular). */
struct stream_owner {
	char	 user_id[ID_LEN + 1];
	char	 credential[SECRET_HEX + 1];	/* the session's or token's hash */
	bool	 sees_all;			/* an administrator, or anyone (--auth none) */
	uint64_t presence;			/* its presence id (chat/presence.h), or 0 */
};

/* Told when a stream with a presence id left a chat, or (chat_id "") closed. */
typedef void (*hub_leave_fn)(void *arg, const char *chat_id, uint64_t presence);

/* The room of the chat lists: a browser's stream joins it to hear of list changes. */
#define HUB_LISTS "@chat-lists@"

/*
 * Renders a chat event as the frame a stream of kind sends (id 0: no id
 * line); NULL when that kind does not carry the event. One reference.
 */
typedef struct frame *(*hub_render_fn)(enum stream_kind kind, const char *chat_id, uint64_t id,
	    const char *name, json_t *data);

/*
 * A hub on the main loop with nshards shards (shard 0 on base, the rest on
 * threads of their own), framing events with render.
 */
struct hub	*hub_new(struct event_base *base, unsigned nshards, hub_render_fn render);
/* From now on, leave(arg, ...) is told of the streams with a presence id that leave. */
void		 hub_on_leave(struct hub *hub, hub_leave_fn leave, void *arg);
/* From now on, lists(arg) is told when a first stream here hears the chat lists. */
void		 hub_on_lists(struct hub *hub, void (*lists)(void *arg), void *arg);
/* Stops the shards (closing streams still open) and frees the hub. */
void		 hub_free(struct hub *hub);

/*
 * Hands the stream on fd (its request read) to a shard, subscribed to the
 * chats (one, or several for a STREAM_MUX stream, which a chat's end leaves
 * open), starting with the frames of initial (taken over).
 */
void		 hub_attach(struct hub *hub, const char *const *chat_ids, size_t nchats,
		    const struct stream_owner *owner, int fd, const struct sse_stream_opts *opts,
		    struct sse_frame_list *initial);
/*
 * Told when the durable events of a chat with streams here came with ids
 * missing (from another node, through Redis): the caller reads the events
 * after hub_delivered() from the store, publishes them, then calls
 * hub_caught_up(). Until then the events after the gap wait, in order.
 */
typedef void (*hub_gap_fn)(void *arg, const char *chat_id);
void		 hub_on_gap(struct hub *hub, hub_gap_fn gap, void *arg);
/*
 * The store's events of the chat through id `through` were published (the
 * ids among them that it no longer replays, a deleted message's, count as
 * delivered); the events held after them go out. through 0: the store
 * could not be read; the next event after a gap asks again.
 */
void		 hub_caught_up(struct hub *hub, const char *chat_id, uint64_t through);
/* The chat's streams end (to reconnect from their Last-Event-ID): its ids cannot be read. */
void		 hub_resync(struct hub *hub, const char *chat_id);
/*
 * A stream of the chat is being set up: its events are followed (and kept
 * for resumes) from now until hub_unexpect(), called after hub_attach() or
 * instead of it.
 */
void		 hub_expect(struct hub *hub, const char *chat_id);
void		 hub_unexpect(struct hub *hub, const char *chat_id);
/*
 * The last durable event id handed to the chat's streams here (set to from
 * when none was yet); false when the hub follows no stream of the chat.
 * Durable events arrive in id order from here on, each once.
 */
bool		 hub_delivered(struct hub *hub, const char *chat_id, uint64_t from,
		    uint64_t *delivered);
/* The same, without setting it: false when no stream here has said where it is. */
bool		 hub_position(struct hub *hub, const char *chat_id, uint64_t *delivered);
/* The ids of the chats with streams here (up to max). */
size_t		 hub_chats(struct hub *hub, char (*ids)[ID_LEN + 1], size_t max);
/* The hub as this process's bus: publishing hands events to the streams here. */
struct bus	 hub_bus(struct hub *hub);
/*
 * Sends an event to the chat's subscribers: id > 0 for a durable event
 * (already stored), 0 for an ephemeral one. data is borrowed. A durable
 * event already delivered is dropped; one after a gap waits (hub_on_gap),
 * and the ephemeral ones behind it with it.
 */
void		 hub_publish(struct hub *hub, const char *chat_id, uint64_t id,
		    const char *name, json_t *data);
/*
 * Sends a change of the chat lists (bus.h: publish_list) to the streams in
 * the HUB_LISTS room whose owner is in audience (NULL: all) or sees all.
 */
void		 hub_publish_list(struct hub *hub, json_t *audience, bool personal,
		    const char *name, json_t *data);
/* Ends the chat's streams after what they were sent (the chat is gone). */
void		 hub_end_chat(struct hub *hub, const char *chat_id);
/* Sends the matching streams a last "deleted" event with the reason, and ends them. */
void		 hub_end_streams(struct hub *hub, const struct bus_match *m);
/*
 * Ends that come while a stream is being opened (its credential and access
 * checked, its history read, before hub_attach) would miss it: the opener
 * notes hub_ends() first, and refuses the open (the client tries again,
 * and is checked afresh) when hub_ended_since() says one of those since
 * matches the stream (of its chats, its owner), or more came than are kept.
 */
uint64_t	 hub_ends(struct hub *hub);
bool		 hub_ended_since(struct hub *hub, uint64_t mark, const char *const *chats,
		    size_t n, const struct stream_owner *owner);
/* The frame of an event for a stream of kind, as published ones are rendered (or NULL). */
struct frame	*hub_frame(struct hub *hub, enum stream_kind kind, const char *chat_id,
		    uint64_t id, const char *name, json_t *data);
/*
 * Appends to out the frames (of kind) of the durable events after `after`
 * up to last_id (the chat's last event id), from memory. -1 when they are
 * not all there: the caller reads them from the store.
 */
int		 hub_replay(struct hub *hub, const char *chat_id, uint64_t after,
		    uint64_t last_id, enum stream_kind kind, struct sse_frame_list *out);
/*
 * The chat's durable events read from the store through `through`
 * ({"id","name","data"}, oldest first) are kept for the resumes that follow
 * (a reconnect storm reads them once), when the hub keeps none yet and has
 * delivered up to there.
 */
void		 hub_remember(struct hub *hub, const char *chat_id, json_t *events,
		    uint64_t through);
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
