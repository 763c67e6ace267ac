/*
 * test_server.c - the HTTP server's admission (src/http/admission.c) over real
 * sockets: while the application says it is behind, requests that write
 * wait unanswered and in order, reads are answered at once; when it catches
 * up the waiting ones go on, oldest first; none waits longer than
 * LIMIT_ADMIT_WAIT_MS; unknown paths are refused at once; a client that
 * leaves while its request waits, and a server freed with requests waiting,
 * leave nothing behind (the sanitizers check); event streams taken over in a
 * burst need one descriptor each, not two, so a burst fits under the limit.
 * Every wait has a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/exchange.h"
#include "http/respond.h"
#include "http/server.h"
#include "limits.h"
#include "util/log.h"

static bool app_behind;
static int writes_handled;
static int taken[64];
static size_t ntaken, nrefused;

static bool
behind(void *ctx)
{
	(void)ctx;
	return app_behind;
}

/* POST /w answers "w<n>", n counting the writes handled so far. */
static void
handle_write(struct exchange *x, void *ctx)
{
	(void)ctx;
	char body[16];
	int n = snprintf(body, sizeof body, "w%d", ++writes_handled);
	respond_bytes(x, 200, "text/plain", body, (size_t)n);
}

static void
handle_read(struct exchange *x, void *ctx)
{
	(void)ctx;
	respond_bytes(x, 200, "text/plain", "read", 4);
}

/* GET /s takes the socket, as an event stream does, and writes to it. */
static void
handle_stream(struct exchange *x, void *ctx)
{
	(void)ctx;
	int fd = exchange_take_socket(x);
	if (fd < 0) {
		nrefused++;
		return;
	}
	assert_int_equal(write(fd, "taken", 5), 5);
	taken[ntaken++] = fd;
}

static void
refuse(struct exchange *x, const struct problem *p, void *ctx)
{
	(void)ctx;
	respond_problem(x, p);
}

static const struct route table[] = {
	{ "/w", { { HTTP_POST, handle_write } }, 0 },
	{ "/r", { { HTTP_GET, handle_read } }, 0 },
	{ "/s", { { HTTP_GET, handle_stream } }, 0 },
};

struct client {
	int	 fd;
	char	 got[4096];
	size_t	 len;
};

struct harness {
	struct event_base	*base;
	struct server		*srv;
};

static void
harness_start(struct harness *h)
{
	app_behind = false;
	writes_handled = 0;
	ntaken = nrefused = 0;
	h->base = event_base_new();
	struct server_routes routes = { .table = table, .count = 3, .ctx = NULL,
	    .refuse = refuse, .behind = behind };
	char *err = NULL;
	h->srv = server_start(h->base, "127.0.0.1", 0, 10, &routes, &err);
	assert_non_null(h->srv);
}

static void
harness_stop(struct harness *h)
{
	server_free(h->srv);
	event_base_free(h->base);
}

static void
send_request(struct harness *h, struct client *c, const char *request)
{
	memset(c, 0, sizeof *c);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)server_port(h->srv)) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(c->fd, (struct sockaddr *)&sa, sizeof sa);	/* EINPROGRESS */
	for (int i = 0; i < 100; i++) {
		event_base_loop(h->base, EVLOOP_NONBLOCK);
		if (write(c->fd, request, strlen(request)) == (ssize_t)strlen(request))
			return;
		usleep(1000);
	}
	fail_msg("could not send the request");
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the loop for about seconds, reading every client. */
static void
pump(struct harness *h, struct client **cs, size_t n, double seconds)
{
	double end = now() + seconds;
	do {
		event_base_loop(h->base, EVLOOP_NONBLOCK);
		for (size_t i = 0; i < n; i++) {
			ssize_t r = read(cs[i]->fd, cs[i]->got + cs[i]->len,
			    sizeof cs[i]->got - 1 - cs[i]->len);
			if (r > 0)
				cs[i]->len += (size_t)r;
		}
		usleep(1000);
	} while (now() < end);
}

static const char post_w[] = "POST /w HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n";
static const char get_r[] = "GET /r HTTP/1.1\r\nHost: t\r\n\r\n";

static void
test_writes_wait_while_behind(void **state)
{
	(void)state;
	struct harness h;
	harness_start(&h);
	struct client first, read_, second;
	struct client *all[3] = { &first, &read_, &second };

	app_behind = true;
	send_request(&h, &first, post_w);
	send_request(&h, &read_, get_r);
	pump(&h, all, 2, 0.1);
	assert_non_null(strstr(read_.got, "\r\n\r\nread"));	/* reads go on */
	assert_int_equal(first.len, 0);				/* the write waits */
	assert_int_equal(writes_handled, 0);

	app_behind = false;
	send_request(&h, &second, post_w);	/* arrives behind the waiting one */
	pump(&h, all, 3, 0.1);
	assert_non_null(strstr(first.got, "\r\n\r\nw1"));
	assert_non_null(strstr(second.got, "\r\n\r\nw2"));
	for (int i = 0; i < 3; i++)
		close(all[i]->fd);
	harness_stop(&h);
}

static void
test_waits_are_bounded(void **state)
{
	(void)state;
	struct harness h;
	harness_start(&h);
	struct client w, unknown;
	struct client *all[2] = { &w, &unknown };

	app_behind = true;
	double start = now();
	send_request(&h, &w, post_w);
	send_request(&h, &unknown, "POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
	pump(&h, all, 2, 0.1);
	assert_non_null(strstr(unknown.got, "404"));	/* refused without waiting */
	assert_int_equal(w.len, 0);
	pump(&h, all, 1, LIMIT_ADMIT_WAIT_MS / 1000.0 + 0.2);
	assert_non_null(strstr(w.got, "\r\n\r\nw1"));	/* still behind, but waited enough */
	assert_true(now() - start >= LIMIT_ADMIT_WAIT_MS / 1000.0);
	close(w.fd);
	close(unknown.fd);
	harness_stop(&h);
}

static void
test_client_leaves_while_waiting(void **state)
{
	(void)state;
	struct harness h;
	harness_start(&h);
	struct client gone, stays;
	struct client *all[2] = { &gone, &stays };

	app_behind = true;
	send_request(&h, &gone, post_w);
	send_request(&h, &stays, post_w);
	pump(&h, all, 2, 0.05);
	close(gone.fd);
	pump(&h, all + 1, 1, 0.05);
	app_behind = false;
	pump(&h, all + 1, 1, 0.1);
	assert_non_null(strstr(stays.got, "\r\n\r\nw"));
	close(stays.fd);
	harness_stop(&h);
}

static void
test_freed_with_writes_waiting(void **state)
{
	(void)state;
	struct harness h;
	harness_start(&h);
	struct client c;
	struct client *all[1] = { &c };

	app_behind = true;
	send_request(&h, &c, post_w);
	pump(&h, all, 1, 0.05);
	assert_int_equal(c.len, 0);
	harness_stop(&h);	/* the waiting request is dropped with its connection */
	assert_int_equal(writes_handled, 0);
	close(c.fd);
}

static int
open_descriptors(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = -1;	/* the directory's own */
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * A burst of streams read in one loop iteration, with the limit just above
 * the clients and their taken sockets: a stand-in left per take-over until
 * the iteration's end would not fit.
 */
static void
test_stream_burst_under_the_limit(void **state)
{
	(void)state;
	enum { N = 48 };
	struct harness h;
	harness_start(&h);
	struct rlimit saved, tight;
	getrlimit(RLIMIT_NOFILE, &saved);
	tight = saved;
	tight.rlim_cur = (rlim_t)(open_descriptors() + 2 * N + 4);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);

	struct client c[N];
	for (int i = 0; i < N; i++) {
		memset(&c[i], 0, sizeof c[i]);
		c[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET,
		    .sin_port = htons((uint16_t)server_port(h.srv)) };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		connect(c[i].fd, (struct sockaddr *)&sa, sizeof sa);	/* EINPROGRESS */
	}
	static const char get_s[] = "GET /s HTTP/1.1\r\nHost: t\r\n\r\n";
	for (int i = 0; i < N; i++) {	/* the kernel completes them: no loop needed */
		struct pollfd p = { .fd = c[i].fd, .events = POLLOUT };
		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(write(c[i].fd, get_s, sizeof get_s - 1), (ssize_t)sizeof get_s - 1);
	}
	struct client *all[N];
	for (int i = 0; i < N; i++)
		all[i] = &c[i];
	for (double end = now() + 2; ntaken + nrefused < N && now() < end;)
		pump(&h, all, N, 0.01);
	assert_int_equal(nrefused, 0);
	assert_int_equal(ntaken, N);
	pump(&h, all, N, 0.01);
	for (int i = 0; i < N; i++) {
		assert_string_equal(c[i].got, "taken");
		close(c[i].fd);
		close(taken[i]);
	}
	harness_stop(&h);
	setrlimit(RLIMIT_NOFILE, &saved);
}

int
main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes_wait_while_behind),
		cmocka_unit_test(test_waits_are_bounded),
		cmocka_unit_test(test_client_leaves_while_waiting),
		cmocka_unit_test(test_freed_with_writes_waiting),
		cmocka_unit_test(test_stream_burst_under_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
