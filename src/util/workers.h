/*
 * workers.h - a few threads for work too slow for an event loop (hashing a
 * password costs tens of milliseconds on purpose). A job runs work(arg) on
 * a worker thread, then done(arg) on the owner's loop (in a serial fiber,
 * util/fiber.h), in submission order per worker; the queue is bounded, so a flood is refused, not absorbed.
 * work must touch nothing but arg. Created and fed from one loop.
 */
#ifndef PARLEY_WORKERS_H
#define PARLEY_WORKERS_H
#include <stddef.h>

struct event_base;
struct workers;

typedef void (*workers_fn)(void *arg);

/* nthreads threads, at most max_queued jobs waiting; done calls run on base's loop. */
struct workers	*workers_new(struct event_base *base, unsigned nthreads, size_t max_queued);
/* Runs the jobs still queued, joins the threads, delivers the last done calls, frees. */
void		 workers_free(struct workers *w);
/* Queues a job; -1 (nothing queued, done never called) when the queue is full. */
int		 workers_submit(struct workers *w, workers_fn work, workers_fn done, void *arg);

#endif
