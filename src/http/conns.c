/*
 * conns.c - per-connection deadlines and close hooks on evhttp; see conns.h.
 *
 * Each tracked bufferevent carries one extra reference of ours, so the
 * sweep may look at it even after evhttp let go; the reference is dropped
 * in evhttp's close callback (the normal way) or by the sweep when it finds
 * the bufferevent's callbacks cleared (evhttp freed it without calling back).
 */
#include "http/conns.h"
#include "util/clock.h"
#include "util/xmalloc.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <sys/socket.h>

#define BUCKETS 4096	/* a power of two */
/* bytes one writev may try: libevent's default (16 KiB) split a page into four */
#define WRITE_AT_ONCE (1024 * 1024)

struct conn {
	LIST_ENTRY(conn)	 by_bev;	/* hash chain */
	LIST_ENTRY(conn)	 all;
	struct conns		*cs;
	struct bufferevent	*bev;		/* our reference until closed */
	bool			 adopted;	/* close callback installed */
	bool			 parked;	/* the server holds its request */
	int64_t			 started;	/* ms: first byte of the current request, or 0 */
};

LIST_HEAD(conn_list, conn);

struct conns {
	struct event_base	*base;
	unsigned		 timeout_s;
	struct conn_list	 buckets[BUCKETS];
	struct conn_list	 all;
	unsigned		 count;
	struct event		*sweep;
	struct event		*adopt;		/* runs after evhttp finished accepting */
};

/* started is 0 when no request is arriving, so a clock reading is never 0 */
static int64_t
now_ms(void)
{
	return monotonic_ms() + 1;
}

static struct conn_list *
bucket(struct conns *cs, const struct bufferevent *bev)
{
	uintptr_t h = (uintptr_t)bev;
	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ULL;
	return &cs->buckets[(h >> 20) & (BUCKETS - 1)];
}

static void
forget(struct conn *c)
{
	LIST_REMOVE(c, by_bev);
	LIST_REMOVE(c, all);
	c->cs->count--;
	bufferevent_decref(c->bev);
	free(c);
}

/* evhttp is freeing the connection: drop our reference. */
static void
closed(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	forget(arg);
}

/* Bytes arrived: the first of a request starts its clock. */
static void
input_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	(void)buf;
	if (info->n_added > 0 && c->started == 0)
		c->started = now_ms();
}

static struct bufferevent *
make_bufferevent(struct event_base *base, void *arg)
{
	struct conns *cs = arg;
	struct conn *c = xcalloc(1, sizeof *c);
	c->cs = cs;
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_set_max_single_write(c->bev, WRITE_AT_ONCE);
	bufferevent_incref(c->bev);
	evbuffer_add_cb(bufferevent_get_input(c->bev), input_added, c);
	LIST_INSERT_HEAD(bucket(cs, c->bev), c, by_bev);
	LIST_INSERT_HEAD(&cs->all, c, all);
	cs->count++;
	event_active(cs->adopt, 0, 0);
	return c->bev;
}

/* True when evhttp has let go of the bufferevent (it clears the callbacks). */
static bool
released(struct bufferevent *bev, void **cbarg)
{
	bufferevent_event_cb eventcb;
	bufferevent_getcb(bev, NULL, NULL, &eventcb, cbarg);
	return eventcb == NULL;
}

/* Installs the close callback on connections evhttp has set up since last time. */
static void
adopt_new(evutil_socket_t fd, short what, void *arg)
{
	struct conns *cs = arg;
	struct conn *c, *next;
	(void)fd;
	(void)what;
	for (c = LIST_FIRST(&cs->all); c != NULL && !c->adopted; c = next) {
		next = LIST_NEXT(c, all);
		void *evcon;
		if (released(c->bev, &evcon)) {
			forget(c);
			continue;
		}
		evhttp_connection_set_closecb(evcon, closed, c);
		c->adopted = true;
	}
}

static void
sweep(evutil_socket_t fd, short what, void *arg)
{
	struct conns *cs = arg;
	struct conn *c, *next;
	int64_t now = now_ms();
	(void)fd;
	(void)what;
	for (c = LIST_FIRST(&cs->all); c != NULL; c = next) {
		next = LIST_NEXT(c, all);
		void *evcon;
		if (released(c->bev, &evcon))
			forget(c);
		else if (!c->parked && c->started != 0 &&
		    now - c->started >= (int64_t)cs->timeout_s * 1000)
			shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
	}
}

struct conns *
conns_new(struct event_base *base, struct evhttp *http, unsigned request_timeout_s)
{
	struct conns *cs = xcalloc(1, sizeof *cs);
	cs->base = base;
	cs->timeout_s = request_timeout_s;
	for (size_t i = 0; i < BUCKETS; i++)
		LIST_INIT(&cs->buckets[i]);
	LIST_INIT(&cs->all);
	cs->adopt = event_new(base, -1, 0, adopt_new, cs);
	cs->sweep = event_new(base, -1, EV_PERSIST, sweep, cs);
	struct timeval tick = { 0, 250 * 1000 };
	event_add(cs->sweep, &tick);
	evhttp_set_bevcb(http, make_bufferevent, cs);
	return cs;
}

void
conns_free(struct conns *cs)
{
	struct conn *c;
	while ((c = LIST_FIRST(&cs->all)) != NULL)
		forget(c);
	event_free(cs->adopt);
	event_free(cs->sweep);
	free(cs);
}

struct conn *
conns_of(struct conns *cs, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct conn *c;
	LIST_FOREACH(c, bucket(cs, bev), by_bev)
		if (c->bev == bev)
			return c;
	return NULL;
}

void
conn_set_parked(struct conn *c, bool parked)
{
	c->parked = parked;
}

void
conn_request_arrived(struct conn *c)
{
	/* bytes of a pipelined next request already in: its clock starts now */
	c->started = evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 ? now_ms() : 0;
}

void
conns_release(struct conns *cs, struct evhttp_request *req)
{
	struct conn *c = conns_of(cs, req);
	if (c == NULL)
		return;
	evbuffer_remove_cb(bufferevent_get_input(c->bev), input_added, c);
	if (c->adopted)
		evhttp_connection_set_closecb(evhttp_request_get_connection(req), NULL, NULL);
	forget(c);
}
