/*
 * test_hub.c - the hub (src/hub/hub.c) with real SSE streams
 * (src/sse/stream.c): an evhttp server on 127.0.0.1:0 whose handler opens a
 * stream and subscribes it, and evhttp (or raw socket) clients in the same
 * event loop. Every loop run is bounded by a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/conns.h"
#include "hub/hub.h"
#include "sse/stream.h"
#include "util/log.h"

#define CHAT_X "xxxxxxxxxxxx"
#define CHAT_Y "yyyyyyyyyyyy"
#define WAIT_MS 3000

struct harness {
	struct event_base	*base;
	struct evhttp		*http;
	struct conns		*conns;
	struct hub		*hub;
	struct event		*tick;
	uint16_t		 port;
	unsigned		 keepalive;	/* for streams opened from now on */
	size_t			 output_cap;
	int			 opened;
	int			 closed;
};

/* One server-side stream's subscription. */
struct server_sub {
	struct harness		*h;
	struct subscription	*sub;
};

struct client {
	struct harness		*h;
	struct evhttp_connection *conn;
	struct evbuffer		*got;
	int			 status;
	char			 ctype[64];
	char			 te[32];
	bool			 headers;
	bool			 done;
};

/* ---------- server side ---------- */

static void
stream_closed(struct sse_stream *s, void *arg)
{
	struct server_sub *ss = arg;
	(void)s;
	hub_unsubscribe(ss->sub);
	ss->h->closed++;
	free(ss);
}

static void
server_cb(struct evhttp_request *req, void *arg)
{
	struct harness *h = arg;
	const char *uri = evhttp_request_get_uri(req);
	enum stream_kind kind;

	if (strncmp(uri, "/json/", 6) == 0)
		kind = STREAM_JSON;
	else if (strncmp(uri, "/html/", 6) == 0)
		kind = STREAM_HTML;
	else {
		evhttp_send_error(req, 404, NULL);
		return;
	}
	struct server_sub *ss = calloc(1, sizeof *ss);
	assert_non_null(ss);
	ss->h = h;
	struct sse_stream_opts opts = { .kind = kind, .keepalive_seconds = h->keepalive,
	    .output_cap = h->output_cap, .on_close = stream_closed, .arg = ss };
	struct conn *c = conns_of(h->conns, req);
	assert_non_null(c);
	struct sse_stream *s = sse_stream_open(req, c, &opts);
	sse_stream_go_live(s);
	assert_int_equal(sse_stream_kind(s), kind);
	assert_ptr_equal(sse_stream_arg(s), ss);
	assert_false(sse_stream_closing(s));
	ss->sub = hub_subscribe(h->hub, uri + 6, s);
	h->opened++;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static int
setup(void **state)
{
	struct harness *h = calloc(1, sizeof *h);
	assert_non_null(h);
	h->base = event_base_new();
	h->http = evhttp_new(h->base);
	h->conns = conns_new(h->base, h->http, 10);
	h->hub = hub_new();
	h->tick = event_new(h->base, -1, EV_PERSIST, tick_cb, NULL);
	h->keepalive = 3600;
	h->output_cap = 1024 * 1024;
	evhttp_set_gencb(h->http, server_cb, h);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(h->http, "127.0.0.1", 0);
	assert_non_null(bs);
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin,
	    &len), 0);
	h->port = ntohs(sin.sin_port);
	assert_true(h->port != 0);
	*state = h;
	return 0;
}

static int
teardown(void **state)
{
	struct harness *h = *state;
	if (h->hub != NULL)
		hub_free(h->hub);
	evhttp_free(h->http);
	conns_free(h->conns);
	event_free(h->tick);
	/* let deferred teardowns run before the base goes */
	event_base_loop(h->base, EVLOOP_NONBLOCK);
	event_base_free(h->base);
	free(h);
	return 0;
}

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Runs the loop until pred holds or ms pass; returns whether it held. */
static bool
run_until(struct harness *h, bool (*pred)(void *), void *arg, long ms)
{
	struct timeval tv = { 0, 5000 };
	long deadline = now_ms() + ms;
	bool ok = true;

	event_add(h->tick, &tv);
	while (!pred(arg)) {
		if (now_ms() > deadline) {
			ok = false;
			break;
		}
		event_base_loop(h->base, EVLOOP_ONCE);
	}
	event_del(h->tick);
	return ok;
}

/* Runs the loop for ms regardless (to show that nothing more arrives). */
static bool
never(void *arg)
{
	(void)arg;
	return false;
}

static void
run_for(struct harness *h, long ms)
{
	run_until(h, never, NULL, ms);
}

/* ---------- evhttp clients ---------- */

static int
client_headers(struct evhttp_request *req, void *arg)
{
	struct client *c = arg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *ct = evhttp_find_header(in, "Content-Type");
	const char *te = evhttp_find_header(in, "Transfer-Encoding");
	c->status = evhttp_request_get_response_code(req);
	snprintf(c->ctype, sizeof c->ctype, "%s", ct ? ct : "");
	snprintf(c->te, sizeof c->te, "%s", te ? te : "");
	c->headers = true;
	return 0;
}

static void
client_chunk(struct evhttp_request *req, void *arg)
{
	struct client *c = arg;
	evbuffer_add_buffer(c->got, evhttp_request_get_input_buffer(req));
}

static void
client_done(struct evhttp_request *req, void *arg)
{
	struct client *c = arg;
	if (req != NULL) {
		c->status = evhttp_request_get_response_code(req);
		evbuffer_add_buffer(c->got, evhttp_request_get_input_buffer(req));
	}
	c->done = true;
}

static void
client_open(struct harness *h, struct client *c, const char *path)
{
	memset(c, 0, sizeof *c);
	c->h = h;
	c->got = evbuffer_new();
	c->conn = evhttp_connection_base_new(h->base, NULL, "127.0.0.1", h->port);
	assert_non_null(c->conn);
	struct evhttp_request *req = evhttp_request_new(client_done, c);
	evhttp_request_set_header_cb(req, client_headers);
	evhttp_request_set_chunked_cb(req, client_chunk);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
	assert_int_equal(evhttp_make_request(c->conn, req, EVHTTP_REQ_GET, path), 0);
}

/* Drops the client's connection (the server then sees EOF). */
static void
client_close(struct client *c)
{
	if (c->conn != NULL)
		evhttp_connection_free(c->conn);
	c->conn = NULL;
}

static void
client_free(struct client *c)
{
	client_close(c);
	if (c->got != NULL)
		evbuffer_free(c->got);
	c->got = NULL;
}

/* The client has received exactly expected so far. */
static void
assert_got(struct client *c, const char *expected)
{
	size_t n = evbuffer_get_length(c->got);
	const char *p = (const char *)evbuffer_pullup(c->got, -1);
	if (n != strlen(expected) || (n > 0 && memcmp(p, expected, n) != 0))
		fail_msg("client got %zu bytes:\n%.*s\nexpected %zu bytes:\n%s", n, (int)n,
		    p ? p : "", strlen(expected), expected);
}

struct wait_clients {
	struct client	*c;
	size_t		 n;
	size_t		 bytes;		/* each has at least this many */
	struct harness	*h;
	size_t		 subscribers;
	int		 closed;
};

static bool
all_headers(void *arg)
{
	struct wait_clients *w = arg;
	for (size_t i = 0; i < w->n; i++)
		if (!w->c[i].headers)
			return false;
	return hub_subscriber_count(w->h->hub) == w->subscribers;
}

static bool
all_have_bytes(void *arg)
{
	struct wait_clients *w = arg;
	for (size_t i = 0; i < w->n; i++)
		if (evbuffer_get_length(w->c[i].got) < w->bytes)
			return false;
	return true;
}

static bool
all_done(void *arg)
{
	struct wait_clients *w = arg;
	for (size_t i = 0; i < w->n; i++)
		if (!w->c[i].done)
			return false;
	return w->h->closed == w->closed;
}

static bool
closed_reached(void *arg)
{
	struct wait_clients *w = arg;
	return w->h->closed == w->closed &&
	    (w->h->hub == NULL || hub_subscriber_count(w->h->hub) == w->subscribers);
}

/* ---------- tests ---------- */

static void
test_hub_alone(void **state)
{
	(void)state;
	struct hub *hub = hub_new();
	assert_non_null(hub);
	assert_int_equal(hub_subscriber_count(hub), 0);
	json_t *data = json_pack("{s:s}", "chat_id", CHAT_X);
	hub_publish(hub, CHAT_X, 1, "message", data);
	hub_publish(hub, CHAT_Y, 0, "token", data);
	hub_chat_deleted(hub, CHAT_X);
	assert_int_equal(hub_end_all(hub), 0);
	assert_int_equal(hub_subscriber_count(hub), 0);
	hub_unsubscribe(NULL);
	json_decref(data);
	hub_free(hub);
}

static void
test_fanout_and_unsubscribe_on_close(void **state)
{
	struct harness *h = *state;
	struct client c[3];
	for (int i = 0; i < 3; i++)
		client_open(h, &c[i], "/json/" CHAT_X);

	struct wait_clients w = { .c = c, .n = 3, .h = h, .subscribers = 3 };
	assert_true(run_until(h, all_headers, &w, WAIT_MS));
	assert_int_equal(h->opened, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c[i].status, 200);
		assert_string_equal(c[i].ctype, "text/event-stream; charset=utf-8");
		assert_string_equal(c[i].te, "chunked");
		assert_got(&c[i], "");
	}

	/* one durable event to the chat, and one to a chat nobody watches */
	json_t *m = json_pack("{s:s, s:I, s:s}", "chat_id", CHAT_X, "seq", (json_int_t)1,
	    "body", "hi <there>\nline two");
	hub_publish(h->hub, CHAT_X, 5, "message", m);
	hub_publish(h->hub, CHAT_Y, 6, "message", m);
	json_decref(m);
	const char *e1 = "id: 5\nevent: message\n"
	    "data: {\"chat_id\":\"" CHAT_X "\",\"seq\":1,\"body\":\"hi <there>\\nline two\"}\n\n";
	w.bytes = strlen(e1);
	assert_true(run_until(h, all_have_bytes, &w, WAIT_MS));
	for (int i = 0; i < 3; i++)
		assert_got(&c[i], e1);

	/* the first client goes away: its subscription goes with it */
	client_close(&c[0]);
	w.closed = 1;
	w.subscribers = 2;
	assert_true(run_until(h, closed_reached, &w, WAIT_MS));
	assert_int_equal(hub_subscriber_count(h->hub), 2);

	/* an ephemeral event (id 0) reaches the two left, without an id line */
	json_t *t = json_pack("{s:I, s:s}", "seq", (json_int_t)2, "delta", "x");
	hub_publish(h->hub, CHAT_X, 0, "token", t);
	json_decref(t);
	char both[512];
	snprintf(both, sizeof both, "%sevent: token\ndata: {\"seq\":2,\"delta\":\"x\"}\n\n", e1);
	struct wait_clients rest = { .c = c + 1, .n = 2, .h = h, .bytes = strlen(both) };
	assert_true(run_until(h, all_have_bytes, &rest, WAIT_MS));
	assert_got(&c[1], both);
	assert_got(&c[2], both);
	assert_got(&c[0], e1);

	/* shutdown: every open stream ends cleanly and unsubscribes */
	assert_int_equal(hub_end_all(h->hub), 2);
	rest.closed = 3;
	assert_true(run_until(h, all_done, &rest, WAIT_MS));
	assert_int_equal(hub_subscriber_count(h->hub), 0);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(c[i].status, 200);
		assert_got(&c[i], both);	/* nothing after the last event */
	}
	assert_false(c[0].done);
	for (int i = 0; i < 3; i++)
		client_free(&c[i]);
}

static void
test_kinds_and_chat_deleted(void **state)
{
	struct harness *h = *state;
	struct client c[3];
	client_open(h, &c[0], "/json/" CHAT_X);
	client_open(h, &c[1], "/html/" CHAT_X);
	client_open(h, &c[2], "/json/" CHAT_Y);
	struct wait_clients w = { .c = c, .n = 3, .h = h, .subscribers = 3 };
	assert_true(run_until(h, all_headers, &w, WAIT_MS));

	json_t *m = json_pack("{s:s, s:I, s:s, s:s, s:n, s:s, s:s, s:n, s:s}",
	    "chat_id", CHAT_X, "seq", (json_int_t)3, "kind", "person", "author", "<Ann>",
	    "bot_id", "body", "a & b", "state", "complete", "error",
	    "created_at", "2026-01-02T03:04:05Z");
	hub_publish(h->hub, CHAT_X, 7, "message", m);
	json_decref(m);
	/* an event the HTML stream does not carry */
	json_t *empty = json_object();
	hub_publish(h->hub, CHAT_X, 8, "typing", empty);
	json_decref(empty);

	const char *json_exp = "id: 7\nevent: message\ndata: {\"chat_id\":\"" CHAT_X "\","
	    "\"seq\":3,\"kind\":\"person\",\"author\":\"<Ann>\",\"bot_id\":null,"
	    "\"body\":\"a & b\",\"state\":\"complete\",\"error\":null,"
	    "\"created_at\":\"2026-01-02T03:04:05Z\"}\n\n"
	    "id: 8\nevent: typing\ndata: {}\n\n";
	const char *html_exp = "id: 7\nevent: message\ndata: <article id=\"msg-3\" "
	    "class=\"msg msg-person msg-complete\" data-seq=\"3\"><header>"
	    "<span class=\"msg-author\">&lt;Ann&gt;</span>"
	    "<time datetime=\"2026-01-02T03:04:05Z\">03:04</time></header>"
	    "<div class=\"msg-body\"><p>a &amp; b</p></div></article>\n\n";
	struct wait_clients wj = { .c = &c[0], .n = 1, .h = h, .bytes = strlen(json_exp) };
	struct wait_clients wh = { .c = &c[1], .n = 1, .h = h, .bytes = strlen(html_exp) };
	assert_true(run_until(h, all_have_bytes, &wj, WAIT_MS));
	assert_true(run_until(h, all_have_bytes, &wh, WAIT_MS));
	run_for(h, 50);
	assert_got(&c[0], json_exp);
	assert_got(&c[1], html_exp);
	assert_got(&c[2], "");

	/* the chat is deleted: both its streams get "deleted" and end */
	hub_chat_deleted(h->hub, CHAT_X);
	struct wait_clients wx = { .c = c, .n = 2, .h = h, .closed = 2 };
	assert_true(run_until(h, all_done, &wx, WAIT_MS));
	assert_int_equal(hub_subscriber_count(h->hub), 1);
	char buf[2048];
	snprintf(buf, sizeof buf, "%sevent: deleted\ndata: {\"chat_id\":\"" CHAT_X "\"}\n\n",
	    json_exp);
	assert_got(&c[0], buf);
	snprintf(buf, sizeof buf, "%sevent: deleted\ndata: <p class=\"notice\">"
	    "This chat was deleted.</p>\n\n", html_exp);
	assert_got(&c[1], buf);
	assert_false(c[2].done);
	assert_got(&c[2], "");

	/* deleting it again, or publishing to it, reaches nobody */
	hub_chat_deleted(h->hub, CHAT_X);
	json_t *d = json_object();
	hub_publish(h->hub, CHAT_X, 9, "message", d);
	json_decref(d);

	/* the other chat's stream still works */
	json_t *t = json_pack("{s:I, s:s}", "seq", (json_int_t)1, "delta", "y");
	hub_publish(h->hub, CHAT_Y, 0, "token", t);
	json_decref(t);
	const char *ey = "event: token\ndata: {\"seq\":1,\"delta\":\"y\"}\n\n";
	struct wait_clients wy = { .c = &c[2], .n = 1, .h = h, .bytes = strlen(ey),
	    .closed = 3, .subscribers = 0 };
	assert_true(run_until(h, all_have_bytes, &wy, WAIT_MS));
	assert_got(&c[2], ey);
	client_close(&c[2]);
	assert_true(run_until(h, closed_reached, &wy, WAIT_MS));
	assert_int_equal(hub_subscriber_count(h->hub), 0);
	for (int i = 0; i < 3; i++)
		client_free(&c[i]);
}

static void
test_hub_free_with_open_streams(void **state)
{
	struct harness *h = *state;
	struct client c[2];
	client_open(h, &c[0], "/json/" CHAT_X);
	client_open(h, &c[1], "/html/" CHAT_X);
	struct wait_clients w = { .c = c, .n = 2, .h = h, .subscribers = 2 };
	assert_true(run_until(h, all_headers, &w, WAIT_MS));

	/* the hub goes first; the streams keep detached subscriptions */
	hub_free(h->hub);
	h->hub = NULL;
	client_close(&c[0]);
	client_close(&c[1]);
	w.closed = 2;
	assert_true(run_until(h, closed_reached, &w, WAIT_MS));
	for (int i = 0; i < 2; i++)
		client_free(&c[i]);
}

static void
test_keepalive(void **state)
{
	struct harness *h = *state;
	struct client c;
	h->keepalive = 1;
	client_open(h, &c, "/json/" CHAT_X);
	const char *ka = ": keepalive\n\n";
	struct wait_clients w = { .c = &c, .n = 1, .h = h, .bytes = strlen(ka),
	    .closed = 1, .subscribers = 0 };
	assert_true(run_until(h, all_have_bytes, &w, 4000));
	assert_got(&c, ka);
	client_close(&c);
	assert_true(run_until(h, closed_reached, &w, WAIT_MS));
	client_free(&c);
}

/* ---------- raw socket clients ---------- */

static int
raw_connect(struct harness *h, const char *request, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(h->port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	return fd;
}

struct raw_read {
	int	 fd;
	char	 buf[8192];
	size_t	 len;
	bool	 eof;
	const char *until;	/* stop once this is in buf */
};

static bool
raw_poll(void *arg)
{
	struct raw_read *r = arg;
	for (;;) {
		if (r->len + 1 >= sizeof r->buf)
			break;
		ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
		if (n > 0) {
			r->len += (size_t)n;
			r->buf[r->len] = '\0';
			continue;
		}
		if (n == 0)
			r->eof = true;
		break;
	}
	return r->eof || (r->until != NULL && strstr(r->buf, r->until) != NULL);
}

static void
test_http10_close_delimited(void **state)
{
	struct harness *h = *state;
	struct raw_read r = { .len = 0 };
	r.fd = raw_connect(h, "GET /json/" CHAT_X " HTTP/1.0\r\n\r\n", 0);
	r.until = "\r\n\r\n";
	assert_true(run_until(h, raw_poll, &r, WAIT_MS));
	struct wait_clients w = { .c = NULL, .n = 0, .h = h, .subscribers = 1 };
	assert_true(run_until(h, all_headers, &w, WAIT_MS));
	assert_non_null(strstr(r.buf, "HTTP/1.0 200 OK\r\n"));
	assert_non_null(strstr(r.buf, "Content-Type: text/event-stream; charset=utf-8\r\n"));
	assert_null(strstr(r.buf, "Transfer-Encoding"));
	size_t head = (size_t)(strstr(r.buf, "\r\n\r\n") + 4 - r.buf);

	json_t *d = json_pack("{s:I}", "n", (json_int_t)1);
	hub_publish(h->hub, CHAT_X, 3, "message", d);
	json_decref(d);
	const char *exp = "id: 3\nevent: message\ndata: {\"n\":1}\n\n";
	r.until = "{\"n\":1}\n\n";
	assert_true(run_until(h, raw_poll, &r, WAIT_MS));
	/* the bare SSE text: no chunk header or trailer */
	assert_string_equal(r.buf + head, exp);

	/* ending the stream closes the connection */
	assert_int_equal(hub_end_all(h->hub), 1);
	r.until = NULL;
	assert_true(run_until(h, raw_poll, &r, WAIT_MS));
	assert_true(r.eof);
	assert_string_equal(r.buf + head, exp);
	close(r.fd);
	w.closed = 1;
	w.subscribers = 0;
	assert_true(run_until(h, closed_reached, &w, WAIT_MS));
}

static void
test_slow_subscriber_cut_off(void **state)
{
	struct harness *h = *state;
	h->output_cap = 64 * 1024;
	log_set_level(LOG_ERROR);	/* the cut-off is logged at info */

	/* a client that never reads, with a small receive buffer */
	int slow = raw_connect(h, "GET /json/" CHAT_X " HTTP/1.1\r\nHost: x\r\n\r\n", 4096);
	struct client fast;
	client_open(h, &fast, "/json/" CHAT_X);
	struct wait_clients w = { .c = &fast, .n = 1, .h = h, .subscribers = 2 };
	assert_true(run_until(h, all_headers, &w, WAIT_MS));

	size_t big = 32 * 1024;
	char *body = malloc(big + 1);
	assert_non_null(body);
	memset(body, 'z', big);
	body[big] = '\0';
	json_t *d = json_pack("{s:s}", "b", body);
	free(body);
	int sent = 0;
	w.closed = 1;
	w.subscribers = 1;
	while (h->closed == 0 && sent < 2000) {
		hub_publish(h->hub, CHAT_X, (uint64_t)sent + 1, "message", d);
		sent++;
		run_for(h, 2);
	}
	json_decref(d);
	assert_int_equal(h->closed, 1);
	assert_true(run_until(h, closed_reached, &w, WAIT_MS));
	/* the fast reader was not held back */
	assert_false(fast.done);
	close(slow);

	client_close(&fast);
	w.closed = 2;
	w.subscribers = 0;
	assert_true(run_until(h, closed_reached, &w, WAIT_MS));
	client_free(&fast);
	log_set_level(LOG_INFO);
}

int
main(void)
{
	/* as main.c does: a peer gone mid-write is an error return, not a signal */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hub_alone),
		cmocka_unit_test_setup_teardown(test_fanout_and_unsubscribe_on_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kinds_and_chat_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_free_with_open_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http10_close_delimited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_subscriber_cut_off, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
