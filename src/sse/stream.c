/*
 * stream.c - a subscriber's event stream; see stream.h for the contract.
 * Must never block or copy a frame per subscriber on the send path.
 */
#include "sse/stream.h"
#include "limits.h"
#include "metrics.h"
#include "sse/frame.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

struct sse_stream {
	struct bufferevent	*bev;		/* owns the socket */
	int			 fd;
	struct sse_stream_opts	 opts;
	bool			 live;		/* past the snapshot or replay */
	bool			 ending;	/* sse_stream_end(): close once flushed */
	bool			 closed;	/* teardown scheduled */
	size_t			 limit;		/* unsent bytes that cut the stream off */
	int64_t			 last_sent;	/* monotonic milliseconds */
	struct frame		*held[SSE_HOLD_MAX];
	unsigned		 nheld;
	struct event		*keepalive;
	struct event		*teardown;
};

/* The coarse clock (a few ms): read at every frame sent, it must cost next to nothing. */
static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
frame_release(const void *data, size_t len, void *frame)
{
	(void)data;
	(void)len;
	sse_frame_unref(frame);
}

/* Schedules the teardown; nothing is written or read after this. */
static void
stream_close(struct sse_stream *s)
{
	if (s->closed)
		return;
	s->closed = true;
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	evtimer_del(s->keepalive);
	event_active(s->teardown, 0, 0);
}

/* Writes what the kernel takes now and queues the rest by reference. */
static void
stream_write(struct sse_stream *s, const char *p, size_t n, struct frame *f)
{
	if (s->closed)
		return;		/* cut off (or gone) while writing held frames */
	struct evbuffer *out = bufferevent_get_output(s->bev);
	size_t before = evbuffer_get_length(out);

	if (before == 0) {
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			stream_close(s);
			return;
		}
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		}
		if (n == 0)
			return;
	}
	if (before <= s->opts.output_cap)
		s->limit = s->opts.output_cap;	/* the first burst has drained */
	if (f != NULL)
		evbuffer_add_reference(out, p, n, frame_release, sse_frame_ref(f));
	else
		evbuffer_add(out, p, n);
	if (s->live && before > s->limit) {	/* one big frame alone is no backlog */
		log_info("stream cut off: %zu bytes unsent", before + n);
		metrics_add(METRIC_SSE_DROPPED_SLOW, 1);
		stream_close(s);
	}
}

/* The bytes of f this stream sends. */
static struct iovec
frame_bytes(const struct sse_stream *s, const struct frame *f)
{
	if (s->opts.chunked)
		return (struct iovec){ (void *)f->chunk, f->chunk_len };
	return (struct iovec){ (void *)f->body, f->body_len };
}

void
sse_stream_send(struct sse_stream *s, struct frame *f)
{
	if (s->closed || s->ending)
		return;
	metrics_add(METRIC_SSE_FRAMES_SENT, sse_stream_flush(s));	/* keep the order */
	struct iovec v = frame_bytes(s, f);
	stream_write(s, v.iov_base, v.iov_len, f);
	s->last_sent = now_ms();
	metrics_add(METRIC_SSE_FRAMES_SENT, 1);
}

bool
sse_stream_hold(struct sse_stream *s, struct frame *f)
{
	if (s->closed || s->ending)
		return false;
	if (s->nheld == SSE_HOLD_MAX)
		sse_stream_flush(s);
	s->held[s->nheld++] = sse_frame_ref(f);
	return s->nheld == 1;
}

/* Queues held frames [from, nheld) whole, and the rest of frame `from` past skip. */
static void
queue_held(struct sse_stream *s, unsigned from, size_t skip)
{
	for (unsigned i = from; i < s->nheld; i++) {
		struct iovec v = frame_bytes(s, s->held[i]);
		size_t off = i == from ? skip : 0;
		stream_write(s, (char *)v.iov_base + off, v.iov_len - off, s->held[i]);
	}
}

unsigned
sse_stream_direct(struct sse_stream *s, struct iovec iov[SSE_HOLD_MAX])
{
	if (s->nheld == 0 || s->closed || evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return 0;
	for (unsigned i = 0; i < s->nheld; i++)
		iov[i] = frame_bytes(s, s->held[i]);
	return s->nheld;
}

int
sse_stream_fd(const struct sse_stream *s)
{
	return s->fd;
}

/* The held frames are done with: sent, queued or dropped. */
static unsigned
held_done(struct sse_stream *s)
{
	unsigned n = s->nheld;
	for (unsigned i = 0; i < n; i++)
		sse_frame_unref(s->held[i]);
	s->nheld = 0;
	s->last_sent = now_ms();
	return n;
}

unsigned
sse_stream_written(struct sse_stream *s, ssize_t result)
{
	if (result < 0 && result != -EAGAIN && result != -EWOULDBLOCK && result != -EINTR)
		stream_close(s);
	size_t done = result > 0 ? (size_t)result : 0;
	unsigned i = 0;
	while (i < s->nheld && done >= frame_bytes(s, s->held[i]).iov_len)
		done -= frame_bytes(s, s->held[i++]).iov_len;
	if (!s->closed && i < s->nheld)
		queue_held(s, i, done);
	return held_done(s);
}

unsigned
sse_stream_flush(struct sse_stream *s)
{
	if (s->nheld == 0)
		return 0;
	struct iovec iov[SSE_HOLD_MAX];
	unsigned n = sse_stream_direct(s, iov);
	if (n > 0) {
		ssize_t w = writev(s->fd, iov, (int)n);
		return sse_stream_written(s, w < 0 ? -errno : w);
	}
	if (s->nheld > 0 && !s->closed)
		queue_held(s, 0, 0);	/* behind what is already waiting */
	return held_done(s);
}

static void
keepalive_arm(struct sse_stream *s, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(s->keepalive, &tv);
}

/* Sends a comment when nothing went out for keepalive_seconds; re-arms lazily. */
static void
keepalive_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sse_stream *s = arg;
	(void)fd;
	(void)what;

	int64_t idle = now_ms() - s->last_sent;
	int64_t period = (int64_t)s->opts.keepalive_seconds * 1000;
	if (idle >= period) {
		struct frame *f = sse_frame_comment("keepalive");
		sse_stream_send(s, f);
		sse_frame_unref(f);
		idle = 0;
	}
	if (!sse_stream_closing(s))
		keepalive_arm(s, period - idle);
}

void
sse_stream_free(struct sse_stream *s)
{
	for (unsigned i = 0; i < s->nheld; i++)
		sse_frame_unref(s->held[i]);
	bufferevent_free(s->bev);
	event_free(s->keepalive);
	event_free(s->teardown);
	metrics_add(METRIC_SSE_SUBSCRIBERS, -1);
	free(s);
}

static void
teardown_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sse_stream *s = arg;
	(void)fd;
	(void)what;

	if (s->opts.on_close)
		s->opts.on_close(s, s->opts.arg);
	sse_stream_free(s);
}

/* Anything the client sends after its request is read and dropped. */
static void
readable(struct bufferevent *bev, void *arg)
{
	(void)arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* The output drained: an ending stream is done. */
static void
written(struct bufferevent *bev, void *arg)
{
	struct sse_stream *s = arg;
	(void)bev;
	if (s->ending)
		stream_close(s);
}

/* The client went away (EOF), the socket failed, or queued output stalled. */
static void
gone(struct bufferevent *bev, short what, void *arg)
{
	struct sse_stream *s = arg;
	(void)bev;
	if ((what & BEV_EVENT_TIMEOUT) && !s->ending) {
		log_info("stream cut off: no write progress for %d s", LIMIT_STREAM_STALL_SECONDS);
		metrics_add(METRIC_SSE_DROPPED_SLOW, 1);
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		stream_close(s);
}

/* Queued output that makes no progress for this long ends the stream. */
static void
write_deadline(struct sse_stream *s, int seconds)
{
	struct timeval tv = { seconds, 0 };
	bufferevent_set_timeouts(s->bev, NULL, &tv);
}

static void
send_head(struct sse_stream *s)
{
	char date[64], head[512];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	int n = snprintf(head, sizeof head, "HTTP/1.%d 200 OK\r\n"
	    "Content-Type: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%sDate: %s\r\n\r\n", s->opts.chunked ? 1 : 0,
	    s->opts.chunked ? "Transfer-Encoding: chunked\r\n" : "", date);
	stream_write(s, head, (size_t)n, NULL);
	metrics_count_http(200);
}

struct sse_stream *
sse_stream_start(struct event_base *base, int fd, const struct sse_stream_opts *opts)
{
	struct sse_stream *s = xcalloc(1, sizeof *s);
	s->fd = fd;
	s->opts = *opts;
	s->limit = opts->output_cap;
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, readable, written, gone, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	write_deadline(s, LIMIT_STREAM_STALL_SECONDS);
	s->keepalive = evtimer_new(base, keepalive_fire, s);
	s->teardown = event_new(base, -1, 0, teardown_fire, s);
	s->last_sent = now_ms();
	metrics_add(METRIC_SSE_SUBSCRIBERS, 1);
	send_head(s);
	keepalive_arm(s, (int64_t)opts->keepalive_seconds * 1000);
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
	metrics_add(METRIC_SSE_FRAMES_SENT, sse_stream_flush(s));	/* what it holds goes first */
	s->ending = true;
	evtimer_del(s->keepalive);
	if (s->opts.chunked)
		stream_write(s, "0\r\n\r\n", 5, NULL);
	if (!s->closed && evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		stream_close(s);
	else if (!s->closed)
		write_deadline(s, LIMIT_STREAM_END_SECONDS);	/* a peer that never reads */
}

enum stream_kind
sse_stream_kind(const struct sse_stream *s)
{
	return s->opts.kind;
}

bool
sse_stream_closing(const struct sse_stream *s)
{
	return s->closed || s->ending;
}
