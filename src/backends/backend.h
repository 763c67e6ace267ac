/*
 * backend.h - where a bot's words come from. A reply job streams text pieces
 * to its sink and ends once, with an error text or NULL. The built-in bots
 * (echo, eliza, dice) and model servers (openai) go through this one path,
 * so the turn flow cannot tell them apart.
 *
 * Callbacks run from the event loop, never inside backend_start(). After
 * on_end returns the backend frees the job; backend_cancel() frees it
 * without calling back. Owned by one event loop.
 */
#ifndef PARLEY_BACKEND_H
#define PARLEY_BACKEND_H
#include <jansson.h>
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
};

struct backend_opts {
	unsigned	 typing_ms;		/* built-in bots: pause between words */
	unsigned	 connect_timeout_s;	/* model servers */
	unsigned	 idle_timeout_s;	/* model servers: silence that fails a reply */
};

struct backends	*backends_new(struct event_base *base, const struct backend_opts *opts);
/* Cancels every job still running. */
void		 backends_free(struct backends *be);
struct reply_job *backend_start(struct backends *be, const struct reply_context *ctx,
		    struct reply_sink sink);
void		 backend_cancel(struct reply_job *job);

#endif
