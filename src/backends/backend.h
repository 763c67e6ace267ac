/*
 * backend.h - where a bot's words come from. A reply job streams text
 * pieces to its sink and ends once, with an error text or NULL. The built-in
 * bots (echo, eliza, dice) and model servers (openai) go through this one
 * path, so the turn flow cannot tell them apart.
 *
 * The caller owns its job from backend_start() until on_end has run or it
 * calls backend_cancel(); after either it must not touch the job again.
 * Callbacks run from the event loop, never inside backend_start(). A job is
 * reference-counted and freed by a deferred event, never under a running
 * callback (curl's included), so cancelling and ending are safe anywhere.
 * Owned by one event loop.
 */
#ifndef PARLEY_BACKEND_H
#define PARLEY_BACKEND_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct backends;
struct event_base;
struct reply_job;

struct reply_sink {
	void	(*on_text)(void *arg, const char *text, size_t len);
	void	(*on_end)(void *arg, const char *error);
	void	*arg;
};

struct reply_context {
	json_t		*bot;		/* the Bot (borrowed for the call) */
	json_t		*messages;	/* recent messages, oldest first (borrowed) */
	uint64_t	 seq;		/* the reply's message seq */
	bool		 continuing;	/* messages end with this reply's text so far: write on */
	unsigned	 attempt;	/* which alternative of the message this is (0: the first) */
};

struct backend_opts {
	unsigned	 typing_ms;		/* built-in bots: pause between words */
	unsigned	 idle_timeout_s;	/* model servers: silence that fails a reply */
	bool		 allow_link_local;	/* model servers may be link-local (endpoint.h) */
};

struct backends	*backends_new(struct event_base *base, const struct backend_opts *opts);
/* Cancels every job still running and frees what they hold. */
void		 backends_free(struct backends *be);
struct reply_job *backend_start(struct backends *be, const struct reply_context *ctx,
		    struct reply_sink sink);
/* The caller lets go: the sink is never called again, and the job's work stops. */
void		 backend_cancel(struct reply_job *job);
/*
 * Ends the reply early (from anywhere, a sink callback included): the job's
 * work stops now, and on_end(error) follows from the loop.
 */
void		 backend_end_soon(struct reply_job *job, const char *error);

#endif
