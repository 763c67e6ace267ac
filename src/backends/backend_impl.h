/*
 * backend_impl.h - what the backend implementations share (backend.c,
 * builtin.c, openai.c); not for callers of backend.h.
 */
#ifndef PARLEY_BACKEND_IMPL_H
#define PARLEY_BACKEND_IMPL_H
#include <stdbool.h>
#include <sys/queue.h>

#include "backends/backend.h"

struct openai_glue;

struct reply_job {
	LIST_ENTRY(reply_job)	 entry;		/* in backends.jobs */
	struct backends		*be;
	struct reply_sink	 sink;
	/* releases the implementation's resources and the job itself */
	void			(*release)(struct reply_job *job);
};

struct backends {
	struct event_base	*base;
	struct backend_opts	 opts;
	LIST_HEAD(, reply_job)	 jobs;
	struct openai_glue	*openai;	/* created on first use */
};

/* Registers a job the implementation allocated (job first in its struct). */
void	 backend_job_init(struct backends *be, struct reply_job *job, struct reply_sink sink,
	    void (*release)(struct reply_job *));
/* Ends the job: calls on_end(error), then releases it. */
void	 backend_job_end(struct reply_job *job, const char *error);

struct reply_job *builtin_start(struct backends *be, const struct reply_context *ctx,
	    struct reply_sink sink);
struct reply_job *openai_start(struct backends *be, const struct reply_context *ctx,
	    struct reply_sink sink);
void	 openai_glue_free(struct openai_glue *glue);

#endif
