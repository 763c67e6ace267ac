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

#include "limits.h"
#include "sse/frame.h"
#include "sse/stream.h"

struct stream_owner;

struct event_base;
struct mailbox;
struct shard;

/* Told (on the main loop) when a stream of the shard has closed. */
typedef void (*shard_gone_fn)(void *hub, unsigned shard, const char *chat_id,
	    enum stream_kind kind);

struct shard_home {
	struct mailbox	*mailbox;	/* the main loop's */
	shard_gone_fn	 gone;
	void		*hub;
};

/* A shard on base (the main loop's), or on a new thread when base is NULL. */
struct shard	*shard_new(unsigned index, struct event_base *base,
		    const struct shard_home *home);
/* Starts a stream on fd for chat_id sending first the frames of initial (taken over). */
void		 shard_adopt(struct shard *sh, int fd, const char *chat_id,
		    const struct stream_owner *owner,
		    const struct sse_stream_opts *opts, struct sse_frame_list *initial);
/*
 * Sends frames (by kind; NULL: none) to the chat's streams; end: then ends
 * them. later: token frames, which may wait up to LIMIT_TOKEN_COALESCE_MS to
 * share a write with the next ones (a durable frame takes them along at once).
 */
void		 shard_publish(struct shard *sh, const char *chat_id,
		    struct frame *frames[2], bool later, bool end);
/*
 * Sends last (frames by kind, taken over) to the streams that match and ends
 * them; chat_id, user_id, credential: "" matches any.
 */
void		 shard_end_matching(struct shard *sh, const char *chat_id, const char *user_id,
		    const char *credential, struct frame *last[2]);
/* How long the oldest delivery still waiting for the shard has waited (ns). */
int64_t		 shard_lag_ns(struct shard *sh);
/* Ends every stream (shutdown). */
void		 shard_end_all(struct shard *sh);
/* Stops the shard's thread, closes what is left, and frees it. Main thread only. */
void		 shard_free(struct shard *sh);

#endif
