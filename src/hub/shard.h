/*
 * shard.h - one event loop's share of the event streams. The hub (main
 * loop) hands each new stream to a shard with the frames it starts with;
 * from then on the shard alone writes to it, fanning out the frames the hub
 * publishes to the streams of each chat. Shard 0 runs on the main loop, the
 * others each on a thread of their own. Every call here is posted to the
 * shard's mailbox, so it is safe from the main thread and runs in order.
 */
#ifndef PARLEY_SHARD_H
#define PARLEY_SHARD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "limits.h"
#include "sse/frame.h"
#include "sse/stream.h"

struct stream_owner;

struct event_base;
struct mailbox;
struct shard;

/*
 * Told (on the main loop) when a stream left a chat, and (chat_id "") when
 * it closed; presence: its owner's presence id.
 */
typedef void (*shard_gone_fn)(void *hub, unsigned shard, const char *chat_id,
	    enum stream_kind kind, uint64_t presence);

struct shard_home {
	struct mailbox	*mailbox;	/* the main loop's */
	shard_gone_fn	 gone;
	void		*hub;
};

/* A shard on base (the main loop's), or on a new thread when base is NULL. */
struct shard	*shard_new(unsigned index, struct event_base *base,
		    const struct shard_home *home);
/*
 * Starts a stream on fd for the chats (many: a stream of several chats,
 * which a chat's end leaves open), sending first the frames of initial
 * (taken over).
 */
void		 shard_adopt(struct shard *sh, int fd, const char *const *chat_ids,
		    size_t nchats, bool many, const struct stream_owner *owner,
		    const struct sse_stream_opts *opts, struct sse_frame_list *initial);
/* What becomes of the chat's streams after a shard_publish. */
enum shard_end {
	SHARD_GO_ON,
	SHARD_CHAT_OVER,	/* a chat's own stream ends, a stream of several leaves the chat */
	SHARD_RECONNECT,	/* every stream of the chat ends, to resume from its last ids */
};
/*
 * Sends frames (by kind; NULL: none) to the chat's streams, then ends them
 * as `end` says. later: token frames, which may wait up to
 * LIMIT_TOKEN_COALESCE_MS to share a write with the next ones (a durable
 * frame takes them along at once).
 */
void		 shard_publish(struct shard *sh, const char *chat_id,
		    struct frame *frames[STREAM_KINDS], bool later, enum shard_end end);
/*
 * Sends frames to the chat's streams whose owner is in audience (an array
 * of user ids, borrowed; NULL: all) or, unless personal, sees all.
 */
void		 shard_publish_to(struct shard *sh, const char *chat_id,
		    struct frame *frames[STREAM_KINDS], json_t *audience, bool personal);
/*
 * Sends last (frames by kind) to the streams that match: with chat_id, the
 * chat is over for them (as for end in shard_publish); without, they end.
 * user_id, credential: "" matches any.
 */
void		 shard_end_matching(struct shard *sh, const char *chat_id, const char *user_id,
		    const char *credential, struct frame *last[STREAM_KINDS]);
/* How long the oldest delivery still waiting for the shard has waited (ns). */
int64_t		 shard_lag_ns(struct shard *sh);
/* Ends every stream (shutdown). */
void		 shard_end_all(struct shard *sh);
/* Stops the shard's thread, closes what is left, and frees it. Main thread only. */
void		 shard_free(struct shard *sh);

#endif
