/*
 * sub.c - a subscriber process (forked by procs.c, which calls child_main):
 * its share of the subscriber connections, opened from the source addresses
 * 127.0.0.2... with at most --concurrency attempts in flight, retried with
 * backoff, given up after --connect-timeout; with --storm, reopened after the
 * server closes them (a random delay, then Last-Event-ID on --resume-port);
 * their reads, handed to sse.c; and the process's event loop, which answers
 * the parent's commands and reports to it (the messages in loadgen.h).
 */
#define _GNU_SOURCE
#include "sub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

struct child C;
int64_t cur_ns;

static char rbuf[1 << 16];
static uint64_t rng;	/* --storm's delays: xorshift64*, seeded per process */

/*
 * --storm: the streams waiting to resume, a binary heap by retry_at_ns (soonest
 * first). They are independent clients: --concurrency does not hold them back.
 */
static struct sub **heap;
static int heap_n;

static bool
heap_before(int a, int b)
{
	return heap[a]->retry_at_ns < heap[b]->retry_at_ns;
}

static void
heap_swap(int a, int b)
{
	struct sub *t = heap[a];
	heap[a] = heap[b];
	heap[b] = t;
}

static void
heap_push(struct sub *s)
{
	int i = heap_n++;
	heap[i] = s;
	for (; i > 0 && heap_before(i, (i - 1) / 2); i = (i - 1) / 2)
		heap_swap(i, (i - 1) / 2);
}

static struct sub *
heap_pop(void)
{
	struct sub *top = heap[0];
	heap[0] = heap[--heap_n];
	for (int i = 0;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		if (l < heap_n && heap_before(l, m))
			m = l;
		if (r < heap_n && heap_before(r, m))
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
	return top;
}

/* A random number in [0, 1). */
static double
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 0x2545F4914F6CDD1DULL) >> 11) / (double)(1ULL << 53);
}

static void sub_fail(struct sub *s, bool retry);

static void
sub_close_fd(struct sub *s)
{
	if (s->fd >= 0) {
		epoll_ctl(C.ep, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
		s->fd = -1;
	}
}

/* A connection attempt: non-blocking, from the subscriber's source address. */
static void
sub_start(struct sub *s)
{
	sub_reset_parser(s);
	if (s->attempts++ > 0)
		C.r.reconnects++;
	s->started_ns = now_ns();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			die("socket: %s (too many subscribers per process: raise --procs)",
			    strerror(errno));
		die("socket: %s", strerror(errno));
	}
	int one = 1;
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	struct sockaddr_in src = { .sin_family = AF_INET };
	src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(s->idx % O.src_addrs));
	if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0)
		die("bind 127.0.0.%d: %s", 2 + s->idx % O.src_addrs, strerror(errno));
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port) };
	inet_pton(AF_INET, O.host, &dst.sin_addr);
	s->fd = fd;
	s->state = S_CONNECTING;
	C.inflight++;
	int rc = connect(fd, (struct sockaddr *)&dst, sizeof dst);
	if (rc != 0 && errno != EINPROGRESS) {
		logv("connect: %s", strerror(errno));
		sub_fail(s, true);
		return;
	}
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = s };
	if (epoll_ctl(C.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl: %s", strerror(errno));
}

/*
 * --storm: the server closed a stream; as EventSource, it reopens after a
 * while, here on its --resume-port, with the last event id it saw.
 */
static void
sub_resume_later(struct sub *s)
{
	s->ready = false;
	C.connected--;
	C.r.resumed++;
	s->resuming = true;
	s->cross = false;
	s->port = resume_port(s->idx);
	s->attempts = 0;
	s->closed_ns = cur_ns;
	s->state = S_WAIT;
	s->retry_at_ns = cur_ns + (int64_t)(rnd() * O.resume_delay * 1e9);
	heap_push(s);
}

/*
 * The connection ended or failed. A ready subscriber is closed early (with
 * --storm, once posting began: reopened later); one that was not ready yet is
 * retried later (retry) or given up.
 */
static void
sub_fail(struct sub *s, bool retry)
{
	bool was_ready = s->ready;
	sub_close_fd(s);
	if (was_ready && O.storm && s->counted && retry) {
		sub_resume_later(s);
		return;
	}
	if (was_ready) {
		s->ready = false;
		s->state = S_DEAD;
		C.connected--;
		C.r.closed_early++;
		if (s->counted && !s->complete)
			C.dead_counted++;
		return;
	}
	if (s->state == S_CONNECTING || s->state == S_HEAD || s->state == S_BODY)
		C.inflight--;
	if (retry && s->attempts <= O.retries &&
	    cur_ns - s->started_ns < (int64_t)(O.connect_timeout * 1e9)) {
		s->state = S_WAIT;
		C.waiting++;
		s->retry_at_ns = now_ns() + (int64_t)(50e6 * (1 << (s->attempts - 1)));
		return;
	}
	s->state = S_FAILED;
	C.failed++;
}

/* Parley's snapshot or nchan's 200 arrived: the subscriber is connected. */
void
sub_ready(struct sub *s)
{
	if (s->ready)
		return;
	s->ready = true;
	C.inflight--;
	C.connected++;
}

void
sub_check_complete(struct sub *s)
{
	if (s->complete || !s->counted)
		return;
	int want = posts_for_chat(s->chat);
	if (s->ngot >= want && s->bot_done >= want * O.bot_replies) {
		s->complete = true;
		C.complete++;
		if (s->resuming) {	/* --storm: live again */
			h_add(&C.r.relive, cur_ns - s->closed_ns);
			if (cur_ns > C.r.last_live_ns)
				C.r.last_live_ns = cur_ns;
		}
	}
}

/* --storm: has the subscriber every post sent before the kill? */
void
sub_check_synced(struct sub *s)
{
	if (O.storm && s->counted && !s->synced && s->ngot >= posts_before(s->chat, O.posts)) {
		s->synced = true;
		C.synced++;
	}
}

static void
sub_readable(struct sub *s)
{
	for (int rounds = 0; rounds < 8; rounds++) {
		ssize_t r = read(s->fd, rbuf, sizeof rbuf);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			logv("subscriber %d: read: %s", s->idx, strerror(errno));
			sub_fail(s, true);
			return;
		}
		if (r == 0) {
			logv("subscriber %d: closed by server", s->idx);
			sub_fail(s, true);
			return;
		}
		cur_ns = now_ns();
		const char *p = rbuf;
		size_t n = (size_t)r;
		if (s->state == S_HEAD) {
			size_t used;
			if (!head_feed(s, p, n, &used)) {
				sub_fail(s, true);
				return;
			}
			p += used;
			n -= used;
		}
		if (s->state == S_BODY && n > 0) {
			if (!body_feed(s, p, n)) {
				logv("subscriber %d: bad chunk", s->idx);
				C.r.bad_events++;
				sub_fail(s, false);
				return;
			}
		}
		if ((size_t)r < sizeof rbuf)
			return;
	}
}

/* Connected (or not): send the request. */
static void
sub_writable(struct sub *s)
{
	int err = 0;
	socklen_t el = sizeof err;
	getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err != 0) {
		logv("subscriber %d: connect: %s", s->idx, strerror(err));
		sub_fail(s, true);
		return;
	}
	char req[640 + HEADERS_MAX];
	char resume[96] = "";
	int n;
	if (s->resuming && s->have_id)	/* as EventSource: the last id it saw */
		snprintf(resume, sizeof resume, "Last-Event-ID: %" PRIu64 "\r\n", s->last_hi);
	if (O.target == T_PARLEY)
		n = snprintf(req, sizeof req,
		    "GET /api/v1/chats/%s/events HTTP/1.1\r\nHost: %s:%d\r\n%s%s"
		    "Accept: text/event-stream\r\n\r\n", chat_name(s->chat), O.host, s->port,
		    O.headers, resume);
	else
		n = snprintf(req, sizeof req,
		    "GET /sub/%s HTTP/1.1\r\nHost: %s:%d\r\n%s"
		    "Accept: text/event-stream\r\n\r\n", chat_name(s->chat), O.host, s->port,
		    O.headers);
	ssize_t w = send(s->fd, req, (size_t)n, MSG_NOSIGNAL);
	if (w != n) {
		sub_fail(s, true);
		return;
	}
	s->state = S_HEAD;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = s };
	epoll_ctl(C.ep, EPOLL_CTL_MOD, s->fd, &ev);
}

/* ------------------------------------------------------ the process's loop */

static void
child_send_ready(void)
{
	struct ready_msg m = { MSG_READY, C.connected, C.failed };
	write_all(C.to_parent, &m, sizeof m);
}

static void
child_finish(void)
{
	C.r.type = MSG_RESULT;
	C.r.subscribers = C.n;
	C.r.failed = C.failed;
	int open = 0, counted = 0;
	for (int i = 0; i < C.n; i++) {
		struct sub *s = &C.subs[i];
		if (s->ready)
			open++;
		if (!s->counted)
			continue;
		counted++;
		int want = posts_for_chat(s->chat);
		C.r.expected += (uint64_t)want;
		C.r.lost += (uint64_t)(want - s->ngot);
	}
	C.r.connected = O.idle ? open : counted;
	C.r.connected_end = open;
	C.r.complete = C.complete;
	write_all(C.to_parent, &C.r, sizeof C.r);
}

/* This process's share: subscribers k, k + procs, ... */
static void
child_init(int k)
{
	int total = O.chats * O.subs_per_chat;
	C.n = 0;
	C.subs = xcalloc((size_t)(total / O.procs + 1), sizeof(struct sub));
	for (int i = k; i < total; i += O.procs) {
		struct sub *s = &C.subs[C.n++];
		s->fd = -1;
		s->idx = i;
		s->chat = i % O.chats;
		s->last_seq = -1;
		s->port = sub_port(i);
		s->cross = s->port != O.port;
	}
	heap = O.storm ? xcalloc((size_t)C.n + 1, sizeof *heap) : NULL;
	rng = ((uint64_t)getpid() << 32) ^ (uint64_t)now_ns() ^ (uint64_t)k;
	rng = rng ? rng : 1;
	/* one post per chat in flight at a time: client order = server order */
	C.check_client_order = O.rate <= 0 && O.publishers <= O.chats;
	C.ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event pev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(C.ep, EPOLL_CTL_ADD, C.from_parent, &pev);
}

/* Due retries, then new connections, at most --concurrency in flight. */
static void
start_due(void)
{
	while (heap_n > 0 && heap[0]->retry_at_ns <= cur_ns)
		sub_start(heap_pop());		/* --storm: resumes that are due */
	if (C.waiting > 0) {
		for (int i = 0; i < C.next_start && C.inflight < O.connect_concurrency; i++) {
			struct sub *s = &C.subs[i];
			if (s->state == S_WAIT && s->retry_at_ns <= cur_ns) {
				C.waiting--;
				sub_start(s);
			}
		}
	}
	while (C.inflight < O.connect_concurrency && C.next_start < C.n)
		sub_start(&C.subs[C.next_start++]);
}

/* Gives up the subscribers stuck waiting for a response. */
static void
give_up_stuck(void)
{
	for (int i = 0; i < C.next_start; i++) {
		struct sub *s = &C.subs[i];
		if ((s->state == S_CONNECTING || s->state == S_HEAD ||
		     (s->state == S_BODY && !s->ready)) &&
		    cur_ns - s->started_ns > (int64_t)(O.connect_timeout * 1e9)) {
			logv("subscriber %d: no response", s->idx);
			s->attempts = O.retries + 1;
			sub_fail(s, false);
		}
	}
}

/* A command from the parent (loadgen.h). */
static void
child_command(void)
{
	char cmd;
	ssize_t r = read(C.from_parent, &cmd, 1);
	if (r <= 0)
		exit(1);	/* parent gone */
	if (cmd == 'G') {
		for (int j = 0; j < C.n; j++) {
			if (C.subs[j].ready) {
				C.subs[j].counted = true;
				C.counted++;
				sub_check_complete(&C.subs[j]);
			}
		}
	} else if (cmd == 'S') {
		C.syncing = true;
		C.deadline = now_ns() + (int64_t)(O.drain_timeout * 1e9);
	} else if (cmd == 'D') {
		C.draining = true;
		C.deadline = now_ns() + (int64_t)(O.drain_timeout * 1e9);
	} else if (cmd == 'H') {
		C.hold_done = true;
	}
}

static void
child_event(const struct epoll_event *ev)
{
	if (ev->data.ptr == NULL) {
		child_command();
		return;
	}
	struct sub *s = ev->data.ptr;
	if (s->fd < 0)
		return;
	uint32_t e = ev->events;
	if (s->state == S_CONNECTING) {
		if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			sub_writable(s);
		return;
	}
	if (e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		sub_readable(s);
}

_Noreturn void
child_main(int k, int from_parent, int to_parent)
{
	C.from_parent = from_parent;
	C.to_parent = to_parent;
	child_init(k);
	int64_t t0 = now_ns();
	int64_t last_scan = t0;
	bool ready_sent = false;
	struct epoll_event evs[512];
	for (;;) {
		cur_ns = now_ns();
		start_due();
		if (cur_ns - last_scan > 250000000) {
			last_scan = cur_ns;
			give_up_stuck();
		}
		bool all_tried = C.next_start >= C.n && C.inflight == 0 && C.waiting == 0;
		if (!ready_sent && (all_tried || cur_ns - t0 > (int64_t)(O.connect_timeout * 1e9))) {
			child_send_ready();
			ready_sent = true;
		}
		if (C.syncing && (C.synced + C.dead_counted >= C.counted || cur_ns >= C.deadline)) {
			struct ready_msg m = { MSG_SYNCED, C.synced, 0 };
			write_all(C.to_parent, &m, sizeof m);
			C.syncing = false;
		}
		if (C.draining && (C.complete + C.dead_counted >= C.counted || cur_ns >= C.deadline))
			break;
		if (C.hold_done)
			break;
		int wait_ms = 50;
		if (heap_n > 0 && heap[0]->retry_at_ns - cur_ns < 50000000)
			wait_ms = (int)((heap[0]->retry_at_ns - cur_ns + 999999) / 1000000);
		int n = epoll_wait(C.ep, evs, 512, wait_ms > 0 ? wait_ms : 0);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			child_event(&evs[i]);
	}
	child_finish();
	/* keep the connections open until the parent has sampled the server */
	char cmd;
	while (read(C.from_parent, &cmd, 1) < 0 && errno == EINTR)
		;
	exit(0);
}
