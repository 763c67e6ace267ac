/*
 * mailbox.c - a mutex-protected queue and an event to wake its loop; see
 * mailbox.h. A post costs one allocation, a lock and (when the queue was
 * empty) one event_active; the loop drains everything queued at once.
 */
#include "util/mailbox.h"
#include "util/clock.h"
#include "util/xmalloc.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

struct letter {
	struct letter	*next;
	mailbox_fn	 fn;
	void		*arg;
};

struct mailbox {
	pthread_mutex_t	 lock;
	struct letter	*head, **tail;
	int64_t		 head_since;	/* ns (monotonic): when head was posted */
	struct event	*wake;
	mailbox_fn	 drained;
	void		*drained_arg;
};

static struct letter *
take_all(struct mailbox *mb)
{
	pthread_mutex_lock(&mb->lock);
	struct letter *l = mb->head;
	mb->head = NULL;
	mb->tail = &mb->head;
	pthread_mutex_unlock(&mb->lock);
	return l;
}

static void
deliver(struct letter *l)
{
	while (l != NULL) {
		struct letter *next = l->next;
		l->fn(l->arg);
		free(l);
		l = next;
	}
}

static void
woken(evutil_socket_t fd, short what, void *arg)
{
	struct mailbox *mb = arg;
	(void)fd;
	(void)what;
	deliver(take_all(mb));
	if (mb->drained != NULL)
		mb->drained(mb->drained_arg);
}

struct mailbox *
mailbox_new(struct event_base *base, mailbox_fn drained, void *arg)
{
	struct mailbox *mb = xcalloc(1, sizeof *mb);
	mb->drained = drained;
	mb->drained_arg = arg;
	pthread_mutex_init(&mb->lock, NULL);
	mb->tail = &mb->head;
	mb->wake = event_new(base, -1, 0, woken, mb);
	return mb;
}

void
mailbox_post(struct mailbox *mb, mailbox_fn fn, void *arg)
{
	struct letter *l = xmalloc(sizeof *l);
	l->next = NULL;
	l->fn = fn;
	l->arg = arg;
	pthread_mutex_lock(&mb->lock);
	int was_empty = mb->head == NULL;
	if (was_empty)
		mb->head_since = monotonic_ns();
	*mb->tail = l;
	mb->tail = &l->next;
	pthread_mutex_unlock(&mb->lock);
	if (was_empty)
		event_active(mb->wake, 0, 0);
}

int64_t
mailbox_waiting_ns(struct mailbox *mb)
{
	pthread_mutex_lock(&mb->lock);
	int64_t since = mb->head != NULL ? mb->head_since : 0;
	pthread_mutex_unlock(&mb->lock);
	return since ? monotonic_ns() - since : 0;
}

void
mailbox_free(struct mailbox *mb)
{
	deliver(take_all(mb));
	if (mb->drained != NULL)
		mb->drained(mb->drained_arg);
	event_free(mb->wake);
	pthread_mutex_destroy(&mb->lock);
	free(mb);
}
