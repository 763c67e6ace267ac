/*
 * workers.c - a bounded job queue served by threads; see workers.h. The
 * results go back through a mailbox (the one way state crosses threads).
 */
#include "util/workers.h"
#include "util/fiber.h"
#include "util/log.h"
#include "util/mailbox.h"
#include "util/xmalloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/queue.h>

#define WORKERS_MAX 16

struct job {
	STAILQ_ENTRY(job)	 next;
	workers_fn		 work, done;
	void			*arg;
};

struct workers {
	pthread_mutex_t		 lock;
	pthread_cond_t		 ready;
	STAILQ_HEAD(, job)	 queue;
	size_t			 queued, max_queued;
	bool			 stopping;
	struct mailbox		*back;
	pthread_t		 threads[WORKERS_MAX];
	unsigned		 nthreads;
};

static void
deliver_now(void *arg)
{
	struct job *j = arg;
	j->done(j->arg);
	free(j);
}

/* done() belongs to the services: it runs after their work before it (fiber.h). */
static void
deliver(void *arg)
{
	fiber_run_serial(deliver_now, arg);
}

/* The next job, or NULL once stopping with nothing left. */
static struct job *
next_job(struct workers *w)
{
	pthread_mutex_lock(&w->lock);
	while (STAILQ_EMPTY(&w->queue) && !w->stopping)
		pthread_cond_wait(&w->ready, &w->lock);
	struct job *j = STAILQ_FIRST(&w->queue);
	if (j != NULL) {
		STAILQ_REMOVE_HEAD(&w->queue, next);
		w->queued--;
	}
	pthread_mutex_unlock(&w->lock);
	return j;
}

static void *
serve(void *arg)
{
	struct workers *w = arg;
	struct job *j;
	while ((j = next_job(w)) != NULL) {
		j->work(j->arg);
		mailbox_post(w->back, deliver, j);
	}
	return NULL;
}

struct workers *
workers_new(struct event_base *base, unsigned nthreads, size_t max_queued)
{
	struct workers *w = xcalloc(1, sizeof *w);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->ready, NULL);
	STAILQ_INIT(&w->queue);
	w->max_queued = max_queued;
	w->back = mailbox_new(base, NULL, NULL);
	nthreads = nthreads < 1 ? 1 : nthreads > WORKERS_MAX ? WORKERS_MAX : nthreads;
	for (; w->nthreads < nthreads; w->nthreads++)
		if (pthread_create(&w->threads[w->nthreads], NULL, serve, w) != 0) {
			log_error("cannot start a worker thread");
			abort();
		}
	return w;
}

void
workers_free(struct workers *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->ready);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	mailbox_free(w->back);	/* runs the done calls still posted */
	pthread_cond_destroy(&w->ready);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int
workers_submit(struct workers *w, workers_fn work, workers_fn done, void *arg)
{
	pthread_mutex_lock(&w->lock);
	if (w->queued >= w->max_queued || w->stopping) {
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	struct job *j = xmalloc(sizeof *j);
	*j = (struct job){ .work = work, .done = done, .arg = arg };
	STAILQ_INSERT_TAIL(&w->queue, j, next);
	w->queued++;
	pthread_cond_signal(&w->ready);
	pthread_mutex_unlock(&w->lock);
	return 0;
}
