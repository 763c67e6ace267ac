/*
 * backend_impl.h - what the backend implementations share (backend.c,
 * builtin.c, openai.c); not for callers of backend.h.
 *
 * A job has two references while it runs: its owner's (dropped when on_end
 * has run or the owner cancels) and the implementation's (dropped once its
 * work, the timer or the transfer, is over). The last one schedules the
 * free on the loop. Work stopped by the owner is halted from that deferred
 * event too, outside any callback of the implementation.
 */
#ifndef PARLEY_BACKEND_IMPL_H
#define PARLEY_BACKEND_IMPL_H
#include <stdbool.h>
#include <sys/queue.h>

#include "backends/backend.h"

struct event;
struct openai_glue;

struct reply_job {
	LIST_ENTRY(reply_job)	 entry;		/* in backends.jobs */
	struct backends		*be;
	struct reply_sink	 sink;
	unsigned		 refs;
	bool			 told;		/* the sink is not called again */
	bool			 working;	/* the implementation holds its reference */
	bool			 halting;	/* the owner stopped the work */
	char			*end_error;	/* backend_end_soon()'s, to tell */
	bool			 end_soon;
	struct event		*later;		/* halts, tells and frees outside callbacks */
	/* stops the implementation's work (timers, transfer); never inside its callbacks */
	void			(*halt)(struct reply_job *job);
	/* frees the implementation's part and the job itself */
	void			(*release)(struct reply_job *job);
};

struct backends {
	struct event_base	*base;
	struct backend_opts	 opts;
	LIST_HEAD(, reply_job)	 jobs;
	struct openai_glue	*openai;	/* created on first use */
};

/* Sets up a job the implementation allocated (the job first in its struct). */
void	 backend_job_init(struct backends *be, struct reply_job *job, struct reply_sink sink,
	    void (*halt)(struct reply_job *), void (*release)(struct reply_job *));
/* Passes text to the sink; false when the owner no longer listens (stop working). */
bool	 backend_job_text(struct reply_job *job, const char *text, size_t len);
/*
 * The implementation's work is over (outside its callbacks): the sink hears
 * on_end(error) unless it was told already, and the implementation's
 * reference goes.
 */
void	 backend_job_end(struct reply_job *job, const char *error);

struct reply_job *builtin_start(struct backends *be, const struct reply_context *ctx,
	    struct reply_sink sink);
struct reply_job *openai_start(struct backends *be, const struct reply_context *ctx,
	    struct reply_sink sink);
void	 openai_glue_free(struct openai_glue *glue);

#endif
