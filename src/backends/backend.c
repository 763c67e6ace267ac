/*
 * backend.c - reply jobs: dispatch to their backend, and their life cycle
 * (references, deferred halt and free); see backend.h and backend_impl.h.
 */
#include "backends/backend_impl.h"
#include "util/xmalloc.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

static void
unref(struct reply_job *job)
{
	if (--job->refs == 0)
		event_active(job->later, 0, 0);	/* freed from the loop */
}

/* The owner is told the reply ended, once; its reference goes with it. */
static void
tell_end(struct reply_job *job, const char *error)
{
	if (job->told)
		return;
	job->told = true;
	job->sink.on_end(job->sink.arg, error);
	unref(job);
}

/* The implementation's work is over: its reference goes. */
static void
work_over(struct reply_job *job)
{
	if (!job->working)
		return;
	job->working = false;
	unref(job);
}

/* Runs from the loop, outside every callback of the job's implementation. */
static void
later(evutil_socket_t fd, short what, void *arg)
{
	struct reply_job *job = arg;
	(void)fd;
	(void)what;
	if (job->refs > 0 && job->halting && job->working) {
		job->halt(job);
		work_over(job);
	}
	if (job->refs > 0 && job->end_soon)
		tell_end(job, job->end_error);
	if (job->refs == 0) {
		LIST_REMOVE(job, entry);
		event_free(job->later);
		free(job->end_error);
		job->release(job);
	}
}

void
backend_job_init(struct backends *be, struct reply_job *job, struct reply_sink sink,
    void (*halt)(struct reply_job *), void (*release)(struct reply_job *))
{
	job->be = be;
	job->sink = sink;
	job->refs = 2;		/* the owner's and the implementation's */
	job->working = true;
	job->halt = halt;
	job->release = release;
	job->later = event_new(be->base, -1, 0, later, job);
	LIST_INSERT_HEAD(&be->jobs, job, entry);
}

bool
backend_job_text(struct reply_job *job, const char *text, size_t len)
{
	if (job->told || job->halting)
		return false;
	job->sink.on_text(job->sink.arg, text, len);
	return !job->told && !job->halting;
}

void
backend_job_end(struct reply_job *job, const char *error)
{
	if (!job->halting)
		tell_end(job, error);
	work_over(job);
}

void
backend_cancel(struct reply_job *job)
{
	if (job == NULL || job->told)
		return;
	job->told = true;
	job->halting = true;
	event_active(job->later, 0, 0);
	unref(job);
}

void
backend_end_soon(struct reply_job *job, const char *error)
{
	if (job->told || job->halting)
		return;
	job->halting = true;
	job->end_soon = true;
	job->end_error = error ? xstrdup(error) : NULL;
	event_active(job->later, 0, 0);
}

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
	LIST_FOREACH(job, &be->jobs, entry)
		backend_cancel(job);
	while ((job = LIST_FIRST(&be->jobs)) != NULL)
		later(-1, 0, job);	/* halts each, then frees it */
	openai_glue_free(be->openai);
	free(be);
}

struct reply_job *
backend_start(struct backends *be, const struct reply_context *ctx, struct reply_sink sink)
{
	const char *backend = json_string_value(json_object_get(ctx->bot, "backend"));
	if (backend != NULL && strcmp(backend, "openai") == 0)
		return openai_start(be, ctx, sink);
	return builtin_start(be, ctx, sink);
}
