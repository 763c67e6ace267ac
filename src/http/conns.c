/*
 * conns.c - per-connection deadlines, close hooks and the strict reading of
 * request bytes on evhttp; see conns.h.
 *
 * Every byte a client sends passes through wire.c before evhttp parses it
 * (an input-buffer callback runs before the bufferevent's read callback):
 * a refusal is answered with Parley's own JSON, the rest of what the client
 * sends is dropped unread, and the connection ends once the answer is out;
 * chunk extensions, which evhttp cannot read, are cut out of the buffer.
 *
 * Each tracked bufferevent carries one extra reference of ours, so the
 * sweep may look at it even after evhttp let go; the reference is dropped
 * in evhttp's close callback (the normal way) or by the sweep when it finds
 * the bufferevent's callbacks cleared (evhttp freed it without calling back).
 */
#include "http/conns.h"
#include "http/exchange.h"
#include "http/wire.h"
#include "limits.h"
#include "metrics.h"
#include "metrics.h"
#include "util/clock.h"
#include "util/xmalloc.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	size_t			 unsent;	/* answer bytes the client had not taken, last sweep */
	int64_t			 stalled;	/* ms: since when they stopped shrinking, or 0 */
	struct wire		 wire;		/* what the client sent so far, read strictly */
	int64_t			 refused;	/* ms: when wire refused it, or 0 */
	bool			 editing;	/* changing the input ourselves: not new bytes */
	uint64_t		*drops;		/* (offset, length) pairs wire reported */
	size_t			 ndrops, drops_cap;
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
	wire_free(&c->wire);
	free(c->drops);
	free(c);
}

/* evhttp is freeing the connection: drop our reference. */
static void
closed(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	forget(arg);
}

/* wire found a chunk extension: it is cut out once this read is done. */
static void
drop_later(void *arg, uint64_t offset, size_t len)
{
	struct conn *c = arg;
	if (c->ndrops + 2 > c->drops_cap) {
		c->drops_cap = c->drops_cap ? 2 * c->drops_cap : 16;
		c->drops = xreallocarray(c->drops, c->drops_cap, sizeof *c->drops);
	}
	c->drops[c->ndrops++] = offset;
	c->drops[c->ndrops++] = len;
}

/* Empties the input without taking it for new bytes. */
static void
drain_all(struct conn *c, struct evbuffer *buf)
{
	c->editing = true;
	evbuffer_drain(buf, evbuffer_get_length(buf));
	c->editing = false;
}

/*
 * Cuts the reported stretches out of the input. They all lie in what wire
 * read last, which evhttp has not touched: counted back from the end of the
 * buffer, where nothing was cut before.
 */
static void
cut_drops(struct conn *c, struct evbuffer *buf)
{
	size_t len = evbuffer_get_length(buf), out = 0, from = 0;
	char *bytes = xmalloc(len), *kept = xmalloc(len);
	evbuffer_copyout(buf, bytes, len);
	for (size_t i = 0; i < c->ndrops; i += 2) {
		size_t at = len - (size_t)(c->wire.offset - c->drops[i]);
		memcpy(kept + out, bytes + from, at - from);
		out += at - from;
		from = at + (size_t)c->drops[i + 1];
	}
	memcpy(kept + out, bytes + from, len - from);
	out += len - from;
	drain_all(c, buf);
	c->editing = true;
	evbuffer_add(buf, kept, out);
	c->editing = false;
	c->ndrops = 0;
	free(bytes);
	free(kept);
}

/*
 * Sends bytes after whatever evhttp is still writing: straight to the
 * socket when nothing is queued (evhttp is reading then, with writes off),
 * else behind its output.
 */
static void
send_after_evhttp(struct conn *c, const char *p, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	ssize_t w = 0;
	if (evbuffer_get_length(out) == 0)
		w = send(bufferevent_getfd(c->bev), p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0)
		w = 0;
	if ((size_t)w < n)
		bufferevent_write(c->bev, p + w, n - (size_t)w);
}

/* wire refused the request: Parley's answer goes after anything evhttp is sending. */
static void
answer_refusal(struct conn *c, struct evbuffer *buf)
{
	char body[160], head[256];
	int n = snprintf(body, sizeof body, "{\"detail\":\"%s\"}", c->wire.reason);
	int h = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "X-Content-Type-Options: nosniff\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", c->wire.status,
	    http_reason(c->wire.status), n);
	metrics_count_http(c->wire.status);
	send_after_evhttp(c, head, (size_t)h);
	send_after_evhttp(c, body, (size_t)n);
	c->refused = now_ms();
	drain_all(c, buf);	/* evhttp reads none of it */
}

/* Reads the n new bytes of buf, from offset from, with wire. */
static bool
read_new(struct conn *c, struct evbuffer *buf, size_t from, size_t n)
{
	struct evbuffer_ptr at;
	struct evbuffer_iovec v[16];
	evbuffer_ptr_set(buf, &at, from, EVBUFFER_PTR_SET);
	while (n > 0) {
		int k = evbuffer_peek(buf, (ev_ssize_t)n, &at, v, 16);
		size_t got = 0;
		for (int i = 0; i < k && i < 16 && got < n; i++) {
			size_t len = v[i].iov_len < n - got ? v[i].iov_len : n - got;
			if (!wire_feed(&c->wire, v[i].iov_base, len, drop_later, c))
				return false;
			got += len;
		}
		n -= got;
		evbuffer_ptr_set(buf, &at, got, EVBUFFER_PTR_ADD);
	}
	return true;
}

/* Bytes arrived: the first of a request starts its clock; wire reads them all before evhttp. */
static void
input_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	if (info->n_added == 0 || c->editing)
		return;
	if (c->refused != 0) {
		drain_all(c, buf);
		return;
	}
	if (c->started == 0)
		c->started = now_ms();
	if (!read_new(c, buf, info->orig_size, info->n_added))
		answer_refusal(c, buf);
	else if (c->ndrops > 0)
		cut_drops(c, buf);
}

static struct bufferevent *
make_bufferevent(struct event_base *base, void *arg)
{
	struct conns *cs = arg;
	struct conn *c = xcalloc(1, sizeof *c);
	c->cs = cs;
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_set_max_single_write(c->bev, WRITE_AT_ONCE);
	/*
	 * Requests piled up behind an answer the client does not read (evhttp
	 * keeps reading while it writes) stop being read past one request's worth.
	 */
	bufferevent_setwatermark(c->bev, EV_READ, 0, LIMIT_UPLOAD_BYTES + LIMIT_HEADER_BYTES);
	bufferevent_incref(c->bev);
	wire_init(&c->wire);
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

/*
 * An answer the client does not read is dropped with its connection once
 * more than LIMIT_CONN_UNSENT_BYTES of it have stopped moving for
 * LIMIT_CONN_STALL_SECONDS: clients that never read cannot hold memory.
 */
static bool
stalled(struct conn *c, int64_t now)
{
	size_t unsent = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (unsent <= LIMIT_CONN_UNSENT_BYTES || unsent < c->unsent)
		c->stalled = 0;
	else if (c->stalled == 0)
		c->stalled = now;
	c->unsent = unsent;
	return c->stalled != 0 && now - c->stalled >= LIMIT_CONN_STALL_SECONDS * 1000;
}

/*
 * A refused connection ends once its answer is out: the client sees the
 * answer, then the end of the stream (what it sends meanwhile is dropped).
 */
static bool
refusal_sent(struct conn *c, int64_t now)
{
	if (c->refused == 0)
		return false;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	return now - c->refused >= LIMIT_REFUSED_LINGER_SECONDS * 1000;
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
		else if ((!c->parked && c->started != 0 &&
		    now - c->started >= (int64_t)cs->timeout_s * 1000) || stalled(c, now) ||
		    refusal_sent(c, now))
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
