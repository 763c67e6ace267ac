/*
 * test_hub.c - the hub, its shards and the streams they write, over real
 * sockets (socketpairs): fan-out of shared frames to several subscribers in
 * one and in two shards (threads), unsubscribe when a client goes away,
 * payload kinds, a deleted chat, streams whose access went, shutdown, keepalive, HTTP/1.0 streams, the
 * slow-subscriber cut-off, token events coalesced (a durable event takes
 * them along at once, in order), and one batch of writes to more streams than
 * one system call takes, one of them gone. Every wait has a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hub/hub.h"
#include "limits.h"
#include "sse/frame.h"
#include "sse/send_batch.h"
#include "sse/stream.h"
#include "util/log.h"
#include "web/render.h"

#define CHAT_A "aaaaaaaaaaaa"
#define CHAT_B "bbbbbbbbbbbb"

struct client {
	int	 fd;
	char	 got[1 << 16];
	size_t	 len;
	bool	 eof;
};

struct harness {
	struct event_base	*base;
	struct hub		*hub;
};

static struct harness *
harness_new(unsigned shards)
{
	struct harness *h = calloc(1, sizeof *h);
	h->base = event_base_new();
	h->hub = hub_new(h->base, shards, render_event_frame);
	return h;
}

static void
harness_free(struct harness *h)
{
	hub_free(h->hub);
	event_base_free(h->base);
	free(h);
}

/* Attaches a stream of kind to the chats for owner; the client end comes back in c. */
static void
attach_many(struct harness *h, struct client *c, const char *const *chats, size_t n,
    const struct stream_owner *owner, enum stream_kind kind, bool chunked, unsigned keepalive,
    size_t cap)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	memset(c, 0, sizeof *c);
	c->fd = sv[0];
	struct sse_stream_opts opts = { .kind = kind, .chunked = chunked,
	    .keepalive_seconds = keepalive, .output_cap = cap };
	struct sse_frame_list initial = { NULL, 0, 0 };
	struct frame *f = sse_frame_event(true, 0, "snapshot", "{}", 2);
	sse_frame_list_add(&initial, f);
	sse_frame_unref(f);
	hub_attach(h->hub, chats, n, owner, sv[1], &opts, &initial);
	assert_null(initial.v);
}

static void
attach_as(struct harness *h, struct client *c, const char *chat, const struct stream_owner *owner,
    enum stream_kind kind, bool chunked, unsigned keepalive, size_t cap)
{
	attach_many(h, c, &chat, 1, owner, kind, chunked, keepalive, cap);
}

static void
attach(struct harness *h, struct client *c, const char *chat, enum stream_kind kind,
    bool chunked, unsigned keepalive, size_t cap)
{
	static const struct stream_owner anyone = { "", "", true, 0 };
	attach_as(h, c, chat, &anyone, kind, chunked, keepalive, cap);
}

static void
client_read(struct client *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->got + c->len, sizeof c->got - 1 - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			c->got[c->len] = '\0';
			continue;
		}
		if (n == 0)
			c->eof = true;
		return;
	}
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the main loop and reads every client until pred holds or seconds pass. */
static bool
run_until(struct harness *h, struct client **cs, size_t n, bool (*pred)(struct client **, size_t),
    double seconds)
{
	double end = now() + seconds;
	while (now() < end) {
		event_base_loop(h->base, EVLOOP_NONBLOCK);
		for (size_t i = 0; i < n; i++)
			client_read(cs[i]);
		if (pred(cs, n))
			return true;
		usleep(2000);
	}
	return false;
}

static const char *want_text;

static bool
all_contain(struct client **cs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(cs[i]->got, want_text) == NULL)
			return false;
	return true;
}

static bool
all_eof(struct client **cs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!cs[i]->eof)
			return false;
	return true;
}

static bool
never(struct client **cs, size_t n)
{
	(void)cs;
	(void)n;
	return false;
}

static void
wait_for(struct harness *h, struct client **cs, size_t n, const char *text)
{
	want_text = text;
	if (!run_until(h, cs, n, all_contain, 5.0))
		fail_msg("no \"%s\" within 5 s; first client has:\n%s", text, cs[0]->got);
}

static void
publish_json(struct harness *h, const char *chat, uint64_t id, const char *name, const char *json)
{
	json_t *data = json_loads(json, 0, NULL);
	assert_non_null(data);
	hub_publish(h->hub, chat, id, name, data);
	json_decref(data);
}

static const char head11[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n"
    "X-Content-Type-Options: nosniff\r\nTransfer-Encoding: chunked\r\n";

static void
fanout(unsigned shards)
{
	struct harness *h = harness_new(shards);
	struct client c[3], d;
	struct client *all[4] = { &c[0], &c[1], &c[2], &d };
	for (int i = 0; i < 3; i++)
		attach(h, &c[i], CHAT_A, STREAM_JSON, true, 3600, 1 << 20);
	attach(h, &d, CHAT_B, STREAM_JSON, true, 3600, 1 << 20);
	assert_int_equal(hub_subscriber_count(h->hub), 4);
	wait_for(h, all, 4, "event: snapshot");
	for (int i = 0; i < 4; i++)
		assert_memory_equal(all[i]->got, head11, sizeof head11 - 1);

	publish_json(h, CHAT_A, 7, "message", "{\"seq\":1}");
	wait_for(h, all, 3, "id: 7\nevent: message\ndata: {\"seq\":1}\n\n");
	assert_null(strstr(d.got, "event: message"));
	/* every subscriber got the same bytes */
	assert_string_equal(c[0].got + strlen(c[0].got) - 40, c[1].got + strlen(c[1].got) - 40);

	/* a client goes away: the hub hears of it and the others carry on */
	close(c[2].fd);
	double end = now() + 5;
	while (hub_subscriber_count(h->hub) != 3 && now() < end) {
		event_base_loop(h->base, EVLOOP_NONBLOCK);
		usleep(2000);
	}
	assert_int_equal(hub_subscriber_count(h->hub), 3);
	publish_json(h, CHAT_A, 0, "token", "{\"seq\":1,\"delta\":\"hi\"}");
	wait_for(h, all, 2, "event: token\ndata: {\"seq\":1,\"delta\":\"hi\"}\n\n");
	assert_null(strstr(c[0].got, "id: 0\nevent: token"));

	hub_end_all(h->hub);
	struct client *left[3] = { &c[0], &c[1], &d };
	if (!run_until(h, left, 3, all_eof, 5.0))
		fail_msg("streams did not end");
	assert_non_null(strstr(c[0].got, "0\r\n\r\n"));
	for (int i = 0; i < 2; i++)
		close(c[i].fd);
	close(d.fd);
	harness_free(h);
}

static void
test_fanout_one_shard(void **state)
{
	(void)state;
	fanout(1);
}

static void
test_fanout_two_shards(void **state)
{
	(void)state;
	fanout(2);
}

static void
test_kinds_and_chat_deleted(void **state)
{
	(void)state;
	struct harness *h = harness_new(2);
	struct client j, x, other;
	struct client *all[3] = { &j, &x, &other };
	attach(h, &j, CHAT_A, STREAM_JSON, true, 3600, 1 << 20);
	attach(h, &x, CHAT_A, STREAM_HTML, true, 3600, 1 << 20);
	attach(h, &other, CHAT_B, STREAM_JSON, true, 3600, 1 << 20);
	wait_for(h, all, 3, "event: snapshot");

	publish_json(h, CHAT_A, 3, "message", "{\"seq\":1,\"kind\":\"person\",\"author\":\"<A>\","
	    "\"body\":\"a & b\",\"state\":\"complete\",\"created_at\":\"\"}");
	wait_for(h, all, 1, "\"author\":\"<A>\"");
	wait_for(h, all + 1, 1, "<span class=\"msg-author\" dir=\"auto\">&lt;A&gt;</span>");
	publish_json(h, CHAT_A, 0, "snapshot-ish", "{}");	/* HTML does not carry it */

	publish_json(h, CHAT_A, 0, "deleted", "{\"chat_id\":\"" CHAT_A "\"}");
	hub_end_chat(h->hub, CHAT_A);
	struct client *a[2] = { &j, &x };
	if (!run_until(h, a, 2, all_eof, 5.0))
		fail_msg("the deleted chat's streams did not end");
	assert_non_null(strstr(j.got, "event: deleted\ndata: {\"chat_id\":\"" CHAT_A "\"}"));
	assert_non_null(strstr(x.got, "event: deleted\ndata: <p class=\"notice\">"));
	assert_null(strstr(x.got, "snapshot-ish"));

	/* the other chat still works */
	publish_json(h, CHAT_B, 9, "message", "{\"seq\":4}");
	wait_for(h, all + 2, 1, "id: 9\nevent: message");
	close(j.fd);
	close(x.fd);
	close(other.fd);
	harness_free(h);
}

/*
 * Access taken away: only the streams of that session (any chat) or of that
 * user in that chat get the reason and end; the rest go on.
 */
static void
test_end_streams_matching(void **state)
{
	(void)state;
	struct harness *h = harness_new(2);
	static const struct stream_owner ada1 = { "u1", "c1", false, 0 }, ada2 = { "u1", "c2", false, 0 },
	    bob = { "u2", "c3", false, 0 };
	struct client a1, a2, b;
	struct client *all[3] = { &a1, &a2, &b };
	attach_as(h, &a1, CHAT_A, &ada1, STREAM_JSON, true, 3600, 1 << 20);
	attach_as(h, &a2, CHAT_B, &ada2, STREAM_HTML, true, 3600, 1 << 20);
	attach_as(h, &b, CHAT_A, &bob, STREAM_JSON, true, 3600, 1 << 20);
	wait_for(h, all, 3, "event: snapshot");

	hub_end_streams(h->hub, &(struct bus_match){ .credential = "c1", .reason = "signed-out" });
	if (!run_until(h, all, 1, all_eof, 5.0))
		fail_msg("the signed-out session's stream did not end");
	assert_non_null(strstr(a1.got, "event: deleted\ndata: {\"reason\":\"signed-out\"}"));

	hub_end_streams(h->hub, &(struct bus_match){ .chat_id = CHAT_A, .user_id = "u1",
	    .reason = "removed" });		/* Ada has no stream of A left: nothing ends */
	hub_end_streams(h->hub, &(struct bus_match){ .chat_id = CHAT_B, .user_id = "u1",
	    .reason = "removed" });
	if (!run_until(h, all + 1, 1, all_eof, 5.0))
		fail_msg("the removed member's stream did not end");
	assert_non_null(strstr(a2.got, "event: deleted\ndata: <p class=\"notice\">"));

	publish_json(h, CHAT_A, 5, "message", "{\"seq\":2}");
	wait_for(h, all + 2, 1, "id: 5\nevent: message");
	assert_false(b.eof);
	assert_null(strstr(b.got, "event: deleted"));
	close(a1.fd);
	close(a2.fd);
	close(b.fd);
	harness_free(h);
}

/*
 * Ends that came while a stream was being opened (before it was attached)
 * are told to its opener, which refuses it: those of its chats and owner
 * only, not another's; a chat deleted; more than are kept.
 */
static void
test_ends_while_opening(void **state)
{
	(void)state;
	struct harness *h = harness_new(1);
	static const struct stream_owner ada = { "u1", "c1", false, 0 }, bob = { "u2", "c2", false, 0 };
	const char *a[1] = { CHAT_A }, *both[2] = { CHAT_B, CHAT_A }, *b[1] = { CHAT_B };
	uint64_t mark = hub_ends(h->hub);
	assert_false(hub_ended_since(h->hub, mark, a, 1, &ada));
	hub_end_streams(h->hub, &(struct bus_match){ .chat_id = CHAT_A, .user_id = "u1",
	    .reason = "removed" });
	assert_true(hub_ended_since(h->hub, mark, a, 1, &ada));		/* hers, of chat A */
	assert_true(hub_ended_since(h->hub, mark, both, 2, &ada));	/* a stream of A and B */
	assert_false(hub_ended_since(h->hub, mark, a, 1, &bob));	/* not Bob's */
	assert_false(hub_ended_since(h->hub, mark, b, 1, &ada));	/* not her stream of B */
	assert_false(hub_ended_since(h->hub, hub_ends(h->hub), a, 1, &ada));	/* opened after */
	hub_end_streams(h->hub, &(struct bus_match){ .credential = "c2", .reason = "signed-out" });
	assert_true(hub_ended_since(h->hub, mark, b, 1, &bob));		/* his session, any chat */
	uint64_t gone = hub_ends(h->hub);
	hub_end_chat(h->hub, CHAT_B);
	assert_true(hub_ended_since(h->hub, gone, both, 2, &bob));	/* chat B deleted */
	assert_false(hub_ended_since(h->hub, gone, a, 1, &bob));
	for (int i = 0; i < LIMIT_ENDS_KEPT; i++)
		hub_end_chat(h->hub, CHAT_B);
	assert_true(hub_ended_since(h->hub, gone, a, 1, &bob));	/* more than are kept */
	harness_free(h);
}

/*
 * A browser's one stream of several chats: each event named and numbered
 * with its chat; a chat that ends leaves the stream open for the others.
 */
static void
test_many_chats_one_stream(void **state)
{
	(void)state;
	struct harness *h = harness_new(2);
	static const struct stream_owner anyone = { "", "", true, 0 };
	const char *chats[2] = { CHAT_A, CHAT_B };
	struct client m, single;
	struct client *both[2] = { &m, &single };
	attach_many(h, &m, chats, 2, &anyone, STREAM_MUX, true, 3600, 1 << 20);
	attach(h, &single, CHAT_A, STREAM_HTML, true, 3600, 1 << 20);
	wait_for(h, both, 2, "event: snapshot");
	publish_json(h, CHAT_A, 3, "message", "{\"seq\":1,\"kind\":\"person\",\"author\":\"A\","
	    "\"body\":\"x\",\"state\":\"complete\",\"created_at\":\"\"}");
	publish_json(h, CHAT_B, 7, "turn", "{\"state\":\"idle\",\"speaker\":null,\"queue\":[]}");
	wait_for(h, both, 1, "id: " CHAT_B ":7\nevent: " CHAT_B ":turn");
	assert_non_null(strstr(m.got, "id: " CHAT_A ":3\nevent: " CHAT_A ":message\ndata: <article"));
	wait_for(h, both + 1, 1, "id: 3\nevent: message");	/* a chat's own stream: as before */

	publish_json(h, CHAT_A, 0, "deleted", "{\"chat_id\":\"" CHAT_A "\"}");
	hub_end_chat(h->hub, CHAT_A);
	if (!run_until(h, both + 1, 1, all_eof, 5.0))
		fail_msg("the chat's own stream did not end");
	publish_json(h, CHAT_B, 8, "turn", "{\"state\":\"idle\",\"speaker\":null,\"queue\":[]}");
	wait_for(h, both, 1, "id: " CHAT_B ":8");
	assert_non_null(strstr(m.got, "event: " CHAT_A ":deleted"));
	assert_false(m.eof);
	publish_json(h, CHAT_A, 4, "turn", "{\"state\":\"idle\",\"speaker\":null,\"queue\":[]}");
	publish_json(h, CHAT_B, 9, "turn", "{\"state\":\"idle\",\"speaker\":null,\"queue\":[]}");
	wait_for(h, both, 1, "id: " CHAT_B ":9");
	assert_null(strstr(m.got, CHAT_A ":4"));		/* it left chat A */
	close(m.fd);
	close(single.fd);
	harness_free(h);
}

/*
 * A chat's streams that cannot be brought up to date in order (hub_resync)
 * end, a browser's stream of several chats too: it reconnects and resumes
 * each chat from its own last id, rather than go deaf to that chat.
 */
static void
test_resync_ends_streams_of_several_chats(void **state)
{
	(void)state;
	struct harness *h = harness_new(2);
	static const struct stream_owner anyone = { "", "", true, 0 };
	const char *chats[2] = { CHAT_A, CHAT_B };
	struct client m, other;
	struct client *both[2] = { &m, &other };
	attach_many(h, &m, chats, 2, &anyone, STREAM_MUX, true, 3600, 1 << 20);
	attach(h, &other, CHAT_B, STREAM_JSON, true, 3600, 1 << 20);
	wait_for(h, both, 2, "event: snapshot");
	publish_json(h, CHAT_A, 3, "turn", "{\"state\":\"idle\",\"speaker\":null,\"queue\":[]}");
	wait_for(h, both, 1, "id: " CHAT_A ":3");
	hub_resync(h->hub, CHAT_A);
	if (!run_until(h, both, 1, all_eof, 5.0))
		fail_msg("the stream of several chats did not end for a resync of one");
	publish_json(h, CHAT_B, 4, "turn", "{\"state\":\"idle\",\"speaker\":null,\"queue\":[]}");
	wait_for(h, both + 1, 1, "id: 4\nevent: turn");	/* another chat's streams go on */
	assert_false(other.eof);
	close(m.fd);
	close(other.fd);
	harness_free(h);
}

/* The chat lists' changes reach the owners in their audience, and who sees all. */
static void
test_lists_audience(void **state)
{
	(void)state;
	struct harness *h = harness_new(2);
	static const struct stream_owner ada = { "u1", "c1", false, 0 }, bob = { "u2", "c2", false, 0 },
	    admin = { "u3", "c3", true, 0 };
	const char *lists[1] = { HUB_LISTS };
	struct client a, b, c;
	struct client *all[3] = { &a, &b, &c };
	attach_many(h, &a, lists, 1, &ada, STREAM_MUX, true, 3600, 1 << 20);
	attach_many(h, &b, lists, 1, &bob, STREAM_MUX, true, 3600, 1 << 20);
	attach_many(h, &c, lists, 1, &admin, STREAM_MUX, true, 3600, 1 << 20);
	wait_for(h, all, 3, "event: snapshot");
	json_t *audience = json_pack("[s]", "u1"), *item = json_pack("{s:s, s:s, s:n}", "id",
	    CHAT_A, "title", "Ada's <chat>", "last");
	hub_publish_list(h->hub, audience, false, "list-chat", item);
	/* a person's own: not to an administrator, who sees the chat anyway */
	json_t *read = json_pack("{s:s, s:i}", "id", CHAT_A, "seq", 7);
	hub_publish_list(h->hub, audience, true, "list-read", read);
	json_t *gone = json_pack("{s:s}", "id", CHAT_B);
	hub_publish_list(h->hub, NULL, true, "list-gone", gone);
	wait_for(h, all, 3, "event: list:gone\ndata: " CHAT_B);
	assert_non_null(strstr(a.got, "event: list:chat\ndata: <li id=\"chat-" CHAT_A "\""));
	assert_non_null(strstr(a.got, "Ada&#39;s &lt;chat&gt;"));
	assert_non_null(strstr(a.got, "event: list:read\ndata: " CHAT_A " 7\n"));
	assert_non_null(strstr(c.got, "event: list:chat"));
	assert_null(strstr(c.got, "event: list:read"));
	assert_null(strstr(b.got, "event: list:chat"));
	assert_null(strstr(b.got, "event: list:read"));
	json_decref(read);
	json_decref(audience);
	json_decref(item);
	json_decref(gone);
	close(a.fd);
	close(b.fd);
	close(c.fd);
	harness_free(h);
}

static void
test_hub_free_with_open_streams(void **state)
{
	(void)state;
	struct harness *h = harness_new(2);
	struct client c[4];
	struct client *all[4] = { &c[0], &c[1], &c[2], &c[3] };
	for (int i = 0; i < 4; i++)
		attach(h, &c[i], i % 2 ? CHAT_A : CHAT_B, STREAM_JSON, true, 3600, 1 << 20);
	wait_for(h, all, 4, "event: snapshot");
	harness_free(h);	/* streams are cut, sockets closed: clients see EOF */
	for (int i = 0; i < 4; i++) {
		client_read(&c[i]);
		assert_true(c[i].eof);
		close(c[i].fd);
	}
}

static void
test_keepalive(void **state)
{
	(void)state;
	struct harness *h = harness_new(1);
	struct client c;
	struct client *all[1] = { &c };
	attach(h, &c, CHAT_A, STREAM_JSON, true, 1, 1 << 20);
	wait_for(h, all, 1, "event: snapshot");
	double t0 = now();
	wait_for(h, all, 1, ": keepalive\n\n");
	assert_true(now() - t0 < 2.5);
	close(c.fd);
	harness_free(h);
}

static void
test_http10_close_delimited(void **state)
{
	(void)state;
	struct harness *h = harness_new(1);
	struct client c;
	struct client *all[1] = { &c };
	attach(h, &c, CHAT_A, STREAM_JSON, false, 3600, 1 << 20);
	wait_for(h, all, 1, "event: snapshot");
	assert_memory_equal(c.got, "HTTP/1.0 200 OK\r\n", 17);
	assert_null(strstr(c.got, "chunked"));
	const char *body = strstr(c.got, "\r\n\r\n") + 4;
	assert_string_equal(body, "id: 0\nevent: snapshot\ndata: {}\n\n");
	hub_end_all(h->hub);
	if (!run_until(h, all, 1, all_eof, 5.0))
		fail_msg("the stream did not end");
	assert_string_equal(strstr(c.got, "\r\n\r\n") + 4, "id: 0\nevent: snapshot\ndata: {}\n\n");
	close(c.fd);
	harness_free(h);
}

static void
test_slow_subscriber_cut_off(void **state)
{
	(void)state;
	struct harness *h = harness_new(2);
	struct client slow, fast;
	struct client *readers[1] = { &fast };
	attach(h, &slow, CHAT_A, STREAM_JSON, true, 3600, 64 * 1024);
	attach(h, &fast, CHAT_A, STREAM_JSON, true, 3600, 64 * 1024);
	wait_for(h, readers, 1, "event: snapshot");

	char body[8192 + 32];
	memset(body, 'x', sizeof body);
	snprintf(body, sizeof body, "{\"pad\":\"");
	memset(body + 8, 'x', 8192);
	strcpy(body + 8 + 8192, "\"}");
	/* the slow client never reads; the fast one does, between publishes */
	for (int i = 1; i <= 400 && hub_subscriber_count(h->hub) == 2; i++) {
		publish_json(h, CHAT_A, (uint64_t)i, "message", body);
		run_until(h, readers, 1, never, 0.003);
	}
	double end = now() + 5;
	while (hub_subscriber_count(h->hub) != 1 && now() < end) {
		event_base_loop(h->base, EVLOOP_NONBLOCK);
		client_read(&fast);
		usleep(2000);
	}
	assert_int_equal(hub_subscriber_count(h->hub), 1);
	/* the slow client's connection was closed by the server */
	char sink[65536];
	while (read(slow.fd, sink, sizeof sink) > 0)
		;
	assert_int_equal(read(slow.fd, sink, sizeof sink), 0);
	close(slow.fd);
	close(fast.fd);
	harness_free(h);
}

static bool
all_have_three(struct client **cs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(cs[i]->got, "id: 3\n") == NULL)
			return false;
	return true;
}

/*
 * Three events published together are one batch, written to more streams than
 * one submission takes: each stream gets all three, whole and in order; a
 * stream whose client has gone fails alone.
 */
static void
test_batch_over_one_submission(void **state)
{
	(void)state;
	enum { N = SEND_BATCH_MAX + 44, GONE = 100 };
	struct harness *h = harness_new(1);
	struct client *c = calloc(N, sizeof *c), *all[N], *left[N - 1];
	for (size_t i = 0; i < N; i++) {
		attach(h, &c[i], CHAT_A, STREAM_JSON, true, 3600, 1 << 20);
		all[i] = &c[i];
	}
	wait_for(h, all, N, "event: snapshot");
	close(c[GONE].fd);
	for (size_t i = 0, k = 0; i < N; i++)
		if (i != GONE)
			left[k++] = &c[i];

	for (uint64_t id = 1; id <= 3; id++)
		publish_json(h, CHAT_A, id, "message", "{\"seq\":1}");
	if (!run_until(h, left, N - 1, all_have_three, 5.0))
		fail_msg("not every stream got the batch");
	char want[256];
	size_t len = 0;
	for (int id = 1; id <= 3; id++) {
		char one[64];
		int n = snprintf(one, sizeof one, "id: %d\nevent: message\ndata: {\"seq\":1}\n\n", id);
		len += (size_t)snprintf(want + len, sizeof want - len, "%x\r\n%s\r\n", n, one);
	}
	for (size_t i = 0; i < N - 1; i++) {
		assert_true(left[i]->len > len);
		assert_string_equal(left[i]->got + left[i]->len - len, want);
	}
	double end = now() + 5;
	while (hub_subscriber_count(h->hub) != N - 1 && now() < end) {
		event_base_loop(h->base, EVLOOP_NONBLOCK);
		usleep(2000);
	}
	assert_int_equal(hub_subscriber_count(h->hub), N - 1);
	for (size_t i = 0; i < N - 1; i++)
		close(left[i]->fd);
	harness_free(h);
	free(c);
}

/*
 * Token events (no id) wait up to LIMIT_TOKEN_COALESCE_MS to share a write;
 * a durable event flushes them at once, before itself; alone they still go.
 */
static void
tokens(unsigned shards)
{
	struct harness *h = harness_new(shards);
	struct client c;
	struct client *all[1] = { &c };
	attach(h, &c, CHAT_A, STREAM_JSON, true, 3600, 1 << 20);
	wait_for(h, all, 1, "event: snapshot");

	double start = now();
	publish_json(h, CHAT_A, 0, "token", "{\"delta\":\"one \"}");
	publish_json(h, CHAT_A, 0, "token", "{\"delta\":\"two \"}");
	if (shards == 1) {
		event_base_loop(h->base, EVLOOP_NONBLOCK);
		client_read(&c);
		/* held for the timer, unless the test itself was that slow */
		assert_true(strstr(c.got, "one") == NULL ||
		    now() - start >= LIMIT_TOKEN_COALESCE_MS / 1000.0);
	}
	publish_json(h, CHAT_A, 9, "message", "{\"seq\":2}");
	wait_for(h, all, 1, "id: 9\nevent: message");
	char *one = strstr(c.got, "one"), *two = strstr(c.got, "two");
	char *msg = strstr(c.got, "id: 9");
	assert_true(one != NULL && two != NULL && one < two && two < msg);

	publish_json(h, CHAT_A, 0, "token", "{\"delta\":\"three\"}");
	wait_for(h, all, 1, "three");
	close(c.fd);
	harness_free(h);
}

/* The gap callback: which chat asked, how often. */
static char gap_chat[16];
static int gaps;

static void
on_gap(void *arg, const char *chat_id)
{
	(void)arg;
	snprintf(gap_chat, sizeof gap_chat, "%s", chat_id);
	gaps++;
}

/* The ids of the events the client got, in order, as "7 8 9" ("-" for an event without id). */
static void
ids_seen(const struct client *c, char *out, size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	for (const char *p = c->got; (p = strstr(p, "event: ")) != NULL; p += 7) {
		n += (size_t)snprintf(out + n, len - n, "%s", n ? " " : "");
		if (strncmp(p, "event: snapshot", 15) == 0) {
			n += (size_t)snprintf(out + n, len - n, "s");
			continue;
		}
		/* the id line is the line before the event line, when there is one */
		const char *prev = p - 1;
		while (prev > c->got && prev[-1] != '\n')
			prev--;
		if (prev < p && strncmp(prev, "id: ", 4) == 0)
			n += (size_t)snprintf(out + n, len - n, "%llu", strtoull(prev + 4, NULL, 10));
		else
			n += (size_t)snprintf(out + n, len - n, "-");
	}
}

static bool
has_ids(struct client **cs, size_t n)
{
	char got[256];
	(void)n;
	ids_seen(cs[0], got, sizeof got);
	return strcmp(got, want_text) == 0;
}

static void
wait_ids(struct harness *h, struct client *c, const char *ids)
{
	struct client *one[1] = { c };
	char got[256];
	want_text = ids;
	if (!run_until(h, one, 1, has_ids, 5.0)) {
		ids_seen(c, got, sizeof got);
		fail_msg("ids \"%s\", want \"%s\"", got, ids);
	}
}

/*
 * Events from other nodes come in any order: a chat's durable events reach
 * its streams in id order and once; one after a gap waits (with the
 * ephemeral ones behind it) while the gap is read, which the hub asks for
 * once; ids the store no longer replays count as delivered when caught up.
 */
static void
test_ids_in_order_once(void **state)
{
	(void)state;
	struct harness *h = harness_new(1);
	struct client c;
	gaps = 0;
	hub_on_gap(h->hub, on_gap, NULL);
	hub_expect(h->hub, CHAT_A);
	uint64_t delivered = 0;
	assert_true(hub_delivered(h->hub, CHAT_A, 5, &delivered));
	assert_int_equal(delivered, 5);
	attach(h, &c, CHAT_A, STREAM_JSON, true, 3600, 1 << 20);
	hub_unexpect(h->hub, CHAT_A);
	publish_json(h, CHAT_A, 5, "message", "{\"seq\":5}");		/* already had: dropped */
	publish_json(h, CHAT_A, 6, "message", "{\"seq\":6}");
	wait_ids(h, &c, "s 6");
	publish_json(h, CHAT_A, 8, "message", "{\"seq\":8}");		/* 7 missing: held */
	publish_json(h, CHAT_A, 0, "token", "{\"seq\":8,\"delta\":\"x\"}");	/* behind it */
	publish_json(h, CHAT_A, 9, "message", "{\"seq\":9}");
	assert_int_equal(gaps, 1);
	assert_string_equal(gap_chat, CHAT_A);
	struct client *one[1] = { &c };
	run_until(h, one, 1, never, 0.05);
	wait_ids(h, &c, "s 6");
	publish_json(h, CHAT_A, 7, "message", "{\"seq\":7}");		/* late: it frees the rest */
	wait_ids(h, &c, "s 6 7 8 - 9");		/* before the repair's read is in */
	hub_caught_up(h->hub, CHAT_A, 7);
	publish_json(h, CHAT_A, 12, "message", "{\"seq\":12}");	/* 10, 11: nothing to replay */
	assert_int_equal(gaps, 2);
	hub_caught_up(h->hub, CHAT_A, 11);
	wait_ids(h, &c, "s 6 7 8 - 9 12");
	publish_json(h, CHAT_A, 9, "message", "{\"seq\":9}");
	publish_json(h, CHAT_A, 13, "message", "{\"seq\":13}");
	wait_ids(h, &c, "s 6 7 8 - 9 12 13");
	/* the first id missing is one the store skips (14, a deleted message): 15 and 16 still go */
	publish_json(h, CHAT_A, 16, "message", "{\"seq\":16}");
	publish_json(h, CHAT_A, 15, "message", "{\"seq\":15}");
	hub_caught_up(h->hub, CHAT_A, 16);
	wait_ids(h, &c, "s 6 7 8 - 9 12 13 15 16");

	/* a chat with no event yet: its first event is 1, and 2 waits for it */
	struct client b;
	hub_expect(h->hub, CHAT_B);
	assert_true(hub_delivered(h->hub, CHAT_B, 0, &delivered));
	attach(h, &b, CHAT_B, STREAM_JSON, true, 3600, 1 << 20);
	hub_unexpect(h->hub, CHAT_B);
	publish_json(h, CHAT_B, 2, "message", "{\"seq\":2}");
	assert_int_equal(gaps, 4);
	publish_json(h, CHAT_B, 1, "message", "{\"seq\":1}");
	hub_caught_up(h->hub, CHAT_B, 1);
	wait_ids(h, &b, "s 1 2");
	/* deleted while a gap is open: its streams still get "deleted", then end */
	publish_json(h, CHAT_B, 4, "message", "{\"seq\":4}");
	publish_json(h, CHAT_B, 0, "deleted", "{\"chat_id\":\"" CHAT_B "\"}");
	hub_end_chat(h->hub, CHAT_B);
	struct client *bs[1] = { &b };
	if (!run_until(h, bs, 1, all_eof, 5.0))
		fail_msg("the deleted chat's stream did not end");
	assert_non_null(strstr(b.got, "event: deleted\ndata: {\"chat_id\":\"" CHAT_B "\"}"));
	assert_null(strstr(b.got, "\"seq\":4"));
	close(b.fd);
	close(c.fd);
	harness_free(h);
}

static void
test_tokens_one_shard(void **state)
{
	(void)state;
	tokens(1);
}

static void
test_tokens_two_shards(void **state)
{
	(void)state;
	tokens(2);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fanout_one_shard),
		cmocka_unit_test(test_fanout_two_shards),
		cmocka_unit_test(test_kinds_and_chat_deleted),
		cmocka_unit_test(test_end_streams_matching),
		cmocka_unit_test(test_ends_while_opening),
		cmocka_unit_test(test_many_chats_one_stream),
		cmocka_unit_test(test_resync_ends_streams_of_several_chats),
		cmocka_unit_test(test_lists_audience),
		cmocka_unit_test(test_ids_in_order_once),
		cmocka_unit_test(test_tokens_one_shard),
		cmocka_unit_test(test_tokens_two_shards),
		cmocka_unit_test(test_hub_free_with_open_streams),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_http10_close_delimited),
		cmocka_unit_test(test_slow_subscriber_cut_off),
		cmocka_unit_test(test_batch_over_one_submission),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	libevent_global_shutdown();
	return rc;
}
