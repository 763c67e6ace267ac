/*
 * backend.c - dispatch of reply jobs to their backend; see backend.h.
 */
#include "backends/backend_impl.h"
#include "util/xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct backends *
backends_new(struct event_base *base, const struct backend_opts *opts)
{
	struct backends *be = xcalloc(1, sizeof *be);
	be->base = base;
	be->opts = *opts;
	LIST_INIT(&be->jobs);
	return be;
}

void
backends_free(struct backends *be)
{
	struct reply_job *job;
	while ((job = LIST_FIRST(&be->jobs)) != NULL)
		backend_cancel(job);
	openai_glue_free(be->openai);
	free(be);
}

void
backend_job_init(struct backends *be, struct reply_job *job, struct reply_sink sink,
    void (*release)(struct reply_job *))
{
	job->be = be;
	job->sink = sink;
	job->release = release;
	LIST_INSERT_HEAD(&be->jobs, job, entry);
}

void
backend_job_end(struct reply_job *job, const char *error)
{
	LIST_REMOVE(job, entry);
	job->sink.on_end(job->sink.arg, error);
	job->release(job);
}

struct reply_job *
backend_start(struct backends *be, const struct reply_context *ctx, struct reply_sink sink)
{
	const char *backend = json_string_value(json_object_get(ctx->bot, "backend"));
	if (backend != NULL && strcmp(backend, "openai") == 0)
		return openai_start(be, ctx, sink);
	return builtin_start(be, ctx, sink);
}

void
backend_cancel(struct reply_job *job)
{
	if (job == NULL)
		return;
	LIST_REMOVE(job, entry);
	job->release(job);
}
