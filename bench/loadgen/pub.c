/*
 * pub.c - the publishers, run in the parent by main.c (and storm.c) once every
 * subscriber is connected: --publishers keep-alive connections on one epoll,
 * spread over the given ports, in closed loop (each sends its next post when
 * the previous one is acknowledged) or at a fixed --rate. Also the HTTP client
 * pieces setup.c shares: a blocking connect and the check for a whole response.
 */
#define _GNU_SOURCE
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { P_DOWN, P_IDLE, P_BUSY };

struct pub {
	int	 fd;
	int	 port;
	int	 state;
	char	*req;
	size_t	 reqlen, reqoff;
	char	 rb[16384];
	size_t	 rlen;
	int	 post;
};

static struct {
	struct pub *p;
	int	 n;
	int	 ep;
	int	 next;
	int	 first;		/* the posts are first .. end-1 */
	int	 end;
	int	 acked;
	int	 errors;
	int64_t	 t_first;
	int64_t	 t_progress;
} P;

static const char *const words[] = {
	"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit",
	"sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore",
	"magna", "aliqua", "enim",
};

int
tcp_connect_blocking(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, O.host, &dst.sin_addr) != 1)
		die("bad --host %s", O.host);
	if (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0)
		die("connect %s:%d: %s", O.host, port, strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Returns 1 when a whole response is in, 0 if more is needed, -1 if malformed. */
int
http_response_complete(const char *b, size_t n, int *status, bool *close_after, size_t *total)
{
	const char *e = memmem_s(b, n, "\r\n\r\n");
	if (e == NULL)
		return 0;
	size_t hl = (size_t)(e - b) + 4;
	if (sscanf(b, "HTTP/1.%*d %d", status) != 1)
		return -1;
	long cl = -1;
	bool chunked = false;
	*close_after = strncmp(b, "HTTP/1.0", 8) == 0;
	for (const char *l = memmem_s(b, hl, "\r\n"); l != NULL && l < e;
	    l = memmem_s(l + 2, (size_t)(e + 2 - (l + 2)), "\r\n")) {
		const char *h = l + 2;
		if (strncasecmp(h, "Content-Length:", 15) == 0)
			cl = strtol(h + 15, NULL, 10);
		else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 &&
		    strncasecmp(h + 18 + strspn(h + 18, " "), "chunked", 7) == 0)
			chunked = true;
		else if (strncasecmp(h, "Connection:", 11) == 0 &&
		    strncasecmp(h + 11 + strspn(h + 11, " "), "close", 5) == 0)
			*close_after = true;
	}
	if (chunked) {
		const char *z = memmem_s(e + 2, n - hl + 2, "0\r\n\r\n");
		if (z == NULL)
			return 0;
		*total = (size_t)(z - b) + 5;
		return 1;
	}
	if (cl < 0)
		cl = 0;
	if (n < hl + (size_t)cl)
		return 0;
	*total = hl + (size_t)cl;
	return 1;
}

static void
pub_connect(struct pub *p)
{
	p->fd = tcp_connect_blocking(p->port);
	fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = p };
	epoll_ctl(P.ep, EPOLL_CTL_ADD, p->fd, &ev);
	p->state = P_IDLE;
	p->rlen = 0;
}

static void
pub_down(struct pub *p)
{
	if (p->fd >= 0) {
		epoll_ctl(P.ep, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
	}
	p->fd = -1;
	p->state = P_DOWN;
}

static void
pub_flush(struct pub *p)
{
	while (p->reqoff < p->reqlen) {
		ssize_t w = send(p->fd, p->req + p->reqoff, p->reqlen - p->reqoff, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = p };
				epoll_ctl(P.ep, EPOLL_CTL_MOD, p->fd, &ev);
				return;
			}
			return;	/* the read side sees the error */
		}
		p->reqoff += (size_t)w;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = p };
	epoll_ctl(P.ep, EPOLL_CTL_MOD, p->fd, &ev);
}

/* Sends post j, stamped with ts (CLOCK_MONOTONIC ns). */
static void
pub_send(struct pub *p, int j, int64_t ts)
{
	if (p->state == P_DOWN)
		pub_connect(p);
	int chat = j % O.chats;
	int seq = j / O.chats;
	char body[4096];
	int bl = snprintf(body, sizeof body, "%" PRId64 " %d", ts, seq);
	for (int w = 2; w < O.body_words && bl < (int)sizeof body - 32; w++)
		bl += snprintf(body + bl, sizeof body - (size_t)bl, " %s",
		    words[(w * 7 + seq) % (int)(sizeof words / sizeof words[0])]);
	char payload[4200];
	int pl;
	if (O.target == T_PARLEY)
		pl = snprintf(payload, sizeof payload, "{\"author\":\"bench\",\"body\":\"%s\"}", body);
	else
		pl = snprintf(payload, sizeof payload, "%s", body);
	free(p->req);
	size_t cap = (size_t)pl + 512 + sizeof O.headers;
	p->req = xmalloc(cap);
	if (O.target == T_PARLEY)
		p->reqlen = (size_t)snprintf(p->req, cap,
		    "POST /api/v1/chats/%s/messages HTTP/1.1\r\nHost: %s:%d\r\n%s"
		    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		    chat_name(chat), O.host, p->port, O.headers, pl, payload);
	else
		p->reqlen = (size_t)snprintf(p->req, cap,
		    "POST /pub/%s HTTP/1.1\r\nHost: %s:%d\r\n%s"
		    "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		    chat_name(chat), O.host, p->port, O.headers, pl, payload);
	p->reqoff = 0;
	p->post = j;
	p->state = P_BUSY;
	p->rlen = 0;
	if (P.t_first == 0)
		P.t_first = now_ns();
	pub_flush(p);
}

/* Closed loop: the connection's next post, if any is left. */
static void
pub_next(struct pub *p)
{
	if (O.rate > 0 || P.next >= P.end)
		return;
	pub_send(p, P.next++, now_ns());
}

static void
pub_event(struct pub *p, uint32_t e)
{
	if ((e & EPOLLOUT) && p->state == P_BUSY)
		pub_flush(p);
	if (!(e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
		return;
	for (;;) {
		if (p->rlen == sizeof p->rb)
			p->rlen = 0;	/* response too large: its body does not matter */
		ssize_t r = read(p->fd, p->rb + p->rlen, sizeof p->rb - p->rlen);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			bool busy = p->state == P_BUSY;
			pub_down(p);
			if (busy) {
				fprintf(stderr, "loadgen: post %d: connection closed\n", p->post);
				P.errors++;
				pub_next(p);
			}
			return;
		}
		p->rlen += (size_t)r;
		int status = 0;
		bool close_after = false;
		size_t total = 0;
		int rc = http_response_complete(p->rb, p->rlen, &status, &close_after, &total);
		if (rc == 0)
			continue;
		P.t_progress = now_ns();
		bool ok = O.target == T_PARLEY ? status == 201 : (status >= 200 && status < 300);
		if (rc < 0 || !ok) {
			if (P.errors < 5)
				fprintf(stderr, "loadgen: post %d: HTTP %d: %.200s\n", p->post, status, p->rb);
			P.errors++;
		} else {
			P.acked++;
		}
		p->rlen = 0;
		p->state = P_IDLE;
		if (close_after || rc < 0)
			pub_down(p);
		pub_next(p);
		return;
	}
}

/*
 * --rate: sends the posts that are due (post j at t0 + j / rate) on idle
 * connections; returns how many ms epoll may wait for the next.
 */
static int
send_due(int64_t t0)
{
	int64_t now = now_ns();
	while (P.next < P.end) {
		int64_t due = t0 + (int64_t)((double)(P.next - P.first) * 1e9 / O.rate);
		if (due > now) {
			int64_t ms = (due - now) / 1000000;
			return ms < 200 ? (int)ms : 200;
		}
		struct pub *idle = NULL;
		for (int i = 0; i < P.n; i++)
			if (P.p[i].state != P_BUSY) {
				idle = &P.p[i];
				break;
			}
		if (idle == NULL)
			return 1;
		pub_send(idle, P.next++, due);
	}
	return 200;
}

/*
 * Publishes posts first .. end-1 over --publishers connections, connection i
 * to ports[i % nports]; returns when each is acknowledged or refused.
 */
struct pub_result
publish(int first, int end, const int *ports, int nports)
{
	memset(&P, 0, sizeof P);
	P.first = P.next = first;
	P.end = end;
	P.ep = epoll_create1(EPOLL_CLOEXEC);
	P.n = O.publishers;
	P.p = xcalloc((size_t)P.n, sizeof(struct pub));
	for (int i = 0; i < P.n; i++) {
		P.p[i].fd = -1;
		P.p[i].port = ports[i % nports];
		pub_connect(&P.p[i]);
	}
	int64_t t0 = now_ns();
	P.t_progress = t0;
	if (O.rate <= 0)
		for (int i = 0; i < P.n && P.next < P.end; i++)
			pub_next(&P.p[i]);
	struct epoll_event evs[64];
	while (P.acked + P.errors < end - first) {
		int timeout = O.rate > 0 ? send_due(t0) : 200;
		int n = epoll_wait(P.ep, evs, 64, timeout);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			pub_event(evs[i].data.ptr, evs[i].events);
		if (now_ns() - P.t_progress > 30000000000LL) {
			fprintf(stderr, "loadgen: no publish acknowledged for 30 s; giving up\n");
			P.errors += end - first - P.acked - P.errors;
			break;
		}
	}
	for (int i = 0; i < P.n; i++) {
		pub_down(&P.p[i]);
		free(P.p[i].req);
	}
	free(P.p);
	close(P.ep);
	return (struct pub_result){ P.acked, P.errors, P.t_first };
}
