/*
 * stream.c - a subscriber's event stream; see stream.h for the contract.
 * Must never block or copy a frame per subscriber on the send path.
 */
#include "sse/stream.h"
#include "sse/frame.h"
#include "http/conns.h"
#include "metrics.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct sse_stream {
	struct evhttp_request	*req;		/* NULL once evhttp owns its fate */
	struct evhttp_connection *evcon;
	struct bufferevent	*bev;
	int			 fd;
	bool			 chunked;
	bool			 ending;	/* sse_stream_end() was called */
	bool			 closed;	/* the connection is gone */
	bool			 aborted;	/* shut down by us; evhttp will notice */
	bool			 req_ours;	/* evhttp left the request to us */
	struct sse_stream_opts	 opts;
	bool			 live;		/* past the snapshot or replay */
	size_t			 limit;		/* unsent bytes that cut the stream off */
	time_t			 last_sent;	/* monotonic seconds */
	struct event		*keepalive;
	struct event		*teardown;
};

static time_t
now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static void
frame_release(const void *data, size_t len, void *frame)
{
	(void)data;
	(void)len;
	sse_frame_unref(frame);
}

/* Closes the socket both ways; the read side then sees EOF and evhttp tears down. */
static void
stream_abort(struct sse_stream *s)
{
	if (!s->closed && !s->aborted)
		shutdown(s->fd, SHUT_RDWR);
	s->aborted = true;
}

/* Writes what the kernel takes now and queues the rest by reference. */
static void
stream_write(struct sse_stream *s, const char *p, size_t n, struct frame *f)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (evbuffer_get_length(out) == 0) {
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			stream_abort(s);
			return;
		}
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		}
		if (n == 0)
			return;
	}
	size_t before = evbuffer_get_length(out);
	if (before <= s->opts.output_cap)
		s->limit = s->opts.output_cap;	/* the first burst has drained */
	evbuffer_add_reference(out, p, n, frame_release, sse_frame_ref(f));
	bufferevent_enable(s->bev, EV_WRITE);
	if (s->live && before + n > s->limit) {
		log_info("stream cut off: %zu bytes unsent", before + n);
		metrics_add(METRIC_SSE_DROPPED_SLOW, 1);
		stream_abort(s);
	}
}

void
sse_stream_send(struct sse_stream *s, struct frame *f)
{
	if (s->closed || s->ending || s->aborted)
		return;
	if (s->chunked)
		stream_write(s, f->chunk, f->chunk_len, f);
	else
		stream_write(s, f->body, f->body_len, f);
	s->last_sent = now_seconds();
	metrics_add(METRIC_SSE_FRAMES_SENT, 1);
}

static void
keepalive_arm(struct sse_stream *s, time_t seconds)
{
	struct timeval tv = { seconds, 0 };
	evtimer_add(s->keepalive, &tv);
}

/* Sends a comment when nothing went out for keepalive_seconds; re-arms lazily. */
static void
keepalive_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sse_stream *s = arg;
	(void)fd;
	(void)what;

	time_t idle = now_seconds() - s->last_sent;
	time_t period = (time_t)s->opts.keepalive_seconds;
	if (idle >= period) {
		struct frame *f = sse_frame_comment("keepalive");
		sse_stream_send(s, f);
		sse_frame_unref(f);
		idle = 0;
	}
	if (!sse_stream_closing(s))
		keepalive_arm(s, period - idle);
}

static void
teardown_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sse_stream *s = arg;
	(void)fd;
	(void)what;

	if (s->opts.on_close)
		s->opts.on_close(s, s->opts.arg);
	if (s->req_ours)
		evhttp_request_free(s->req);
	event_free(s->keepalive);
	event_free(s->teardown);
	metrics_add(METRIC_SSE_SUBSCRIBERS, -1);
	free(s);
}

/*
 * Runs (through conns.c) as evhttp is about to free the connection. On a
 * client's EOF evhttp has detached our unfinished request and will not free
 * it; after a finished reply it has freed the request already.
 */
static void
connection_closed(void *arg)
{
	struct sse_stream *s = arg;

	s->closed = true;
	s->req_ours = !s->ending && evhttp_request_get_connection(s->req) == NULL;
	if (!s->req_ours)
		s->req = NULL;
	evtimer_del(s->keepalive);
	event_active(s->teardown, 0, 0);
}

/* Input after the request is ignored: read and dropped, so close is still seen. */
static void
discard_input(struct bufferevent *bev, void *arg)
{
	(void)arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
send_head(struct sse_stream *s)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(s->req);
	evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "X-Accel-Buffering", "no");
	evhttp_add_header(h, "Connection", "close");
	evhttp_send_reply_start(s->req, 200, "OK");
	metrics_count_http(200);

	const char *te = evhttp_find_header(h, "Transfer-Encoding");
	s->chunked = te != NULL && strcmp(te, "chunked") == 0;
}

struct sse_stream *
sse_stream_open(struct evhttp_request *req, struct conn *c, const struct sse_stream_opts *opts)
{
	struct sse_stream *s = xcalloc(1, sizeof *s);
	s->req = req;
	s->opts = *opts;
	s->evcon = evhttp_request_get_connection(req);
	s->bev = evhttp_connection_get_bufferevent(s->evcon);
	s->fd = bufferevent_getfd(s->bev);
	struct event_base *base = bufferevent_get_base(s->bev);
	s->keepalive = evtimer_new(base, keepalive_fire, s);
	s->teardown = event_new(base, -1, 0, teardown_fire, s);
	s->last_sent = now_seconds();

	send_head(s);
	bufferevent_data_cb writecb;
	bufferevent_event_cb eventcb;
	void *cbarg;
	bufferevent_getcb(s->bev, NULL, &writecb, &eventcb, &cbarg);
	bufferevent_setcb(s->bev, discard_input, writecb, eventcb, cbarg);
	bufferevent_set_timeouts(s->bev, NULL, NULL);
	conn_on_close(c, connection_closed, s);
	keepalive_arm(s, (time_t)opts->keepalive_seconds);
	metrics_add(METRIC_SSE_SUBSCRIBERS, 1);
	return s;
}

void
sse_stream_go_live(struct sse_stream *s)
{
	s->live = true;
	s->limit = s->opts.output_cap;
	if (!s->closed)
		s->limit += evbuffer_get_length(bufferevent_get_output(s->bev));
}

void
sse_stream_end(struct sse_stream *s)
{
	if (s->closed || s->ending)
		return;
	s->ending = true;
	evtimer_del(s->keepalive);
	evhttp_send_reply_end(s->req);
}

enum stream_kind
sse_stream_kind(const struct sse_stream *s)
{
	return s->opts.kind;
}

bool
sse_stream_closing(const struct sse_stream *s)
{
	return s->closed || s->ending || s->aborted;
}

void *
sse_stream_arg(const struct sse_stream *s)
{
	return s->opts.arg;
}

void
sse_stream_set_arg(struct sse_stream *s, void *arg)
{
	s->opts.arg = arg;
}
