/*
 * mailbox.h - hands work to another event loop: mailbox_post() from any
 * thread queues a call, and the loop that owns the mailbox runs the calls in
 * the order they were posted. The only way state crosses threads in Parley:
 * each loop's state is touched by its own thread alone.
 */
#ifndef PARLEY_MAILBOX_H
#define PARLEY_MAILBOX_H
#include <stdint.h>

struct event_base;
struct mailbox;

typedef void (*mailbox_fn)(void *arg);

/*
 * A mailbox whose calls run on base's loop; drained(arg), when not NULL,
 * runs after each batch of calls (to flush what they queued).
 */
struct mailbox	*mailbox_new(struct event_base *base, mailbox_fn drained, void *arg);
/* Queues fn(arg) to run on the mailbox's loop; safe from any thread. */
void		 mailbox_post(struct mailbox *mb, mailbox_fn fn, void *arg);
/* How long the oldest call still queued has waited (ns; 0: none); any thread. */
int64_t		 mailbox_waiting_ns(struct mailbox *mb);
/* Runs whatever is queued now (on the owning thread) and frees the mailbox. */
void		 mailbox_free(struct mailbox *mb);

#endif
