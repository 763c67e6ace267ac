/*
 * test_wire.c - the strict reader of request bytes (src/http/wire.c): sound
 * requests pass whole and byte by byte (pipelined, chunked, with trailers),
 * chunk extensions are reported for dropping at the right offsets, and each
 * hostile framing is refused with its status: a header name that is not a
 * token (the smuggling case), obs-fold, a missing or second Host, both
 * framings, disagreeing lengths, other transfer codings, bad chunks, a bare
 * CR, oversized heads and bodies, unknown methods and versions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/wire.h"
#include "limits.h"

struct drops {
	uint64_t	 offset[8];
	size_t		 len[8];
	int		 n;
};

static void
record(void *arg, uint64_t offset, size_t len)
{
	struct drops *d = arg;
	d->offset[d->n] = offset;
	d->len[d->n++] = len;
}

/* Feeds s whole (or byte by byte); the status it ends with (0 when sound). */
static int
feed(const char *s, bool bytewise, struct drops *d)
{
	struct wire w;
	struct drops none = { .n = 0 };
	wire_init(&w);
	size_t n = strlen(s);
	bool ok = true;
	for (size_t i = 0; ok && i < n; i += bytewise ? 1 : n)
		ok = wire_feed(&w, s + i, bytewise ? 1 : n, record, d ? d : &none);
	int status = ok ? 0 : w.status;
	if (ok)
		assert_int_equal(w.state, WIRE_REQUEST_LINE);	/* every request was whole */
	wire_free(&w);
	return status;
}

static void
both(const char *s, int want)
{
	assert_int_equal(feed(s, false, NULL), want);
	assert_int_equal(feed(s, true, NULL), want);
}

#define H "Host: a\r\n"

static void
test_sound_requests(void **state)
{
	(void)state;
	both("GET / HTTP/1.1\r\n" H "\r\n", 0);
	both("\r\nGET / HTTP/1.0\r\n\r\n", 0);			/* 1.0 needs no Host */
	both("GET /x?y=1 HTTP/1.1\n" H "\n", 0);		/* bare LF line ends */
	both("POST /p HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n" H "\r\n", 0);
	both("POST /p HTTP/1.1\r\n" H "Content-Length: 3\r\ncontent-length: 3\r\n\r\nabc", 0);
	both("POST /p HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", 0);
	both("PATCH /p HTTP/1.1\r\n" H "X-A:b\r\nX-B:  spaced \t\r\n\r\n", 0);
}

static void
test_chunk_extensions_dropped(void **state)
{
	(void)state;
	const char *head = "POST /p HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n";
	char req[256];
	snprintf(req, sizeof req, "%s5;name=\"v\"\r\nhello\r\n0 ;last\r\n\r\n", head);
	for (int bytewise = 0; bytewise <= 1; bytewise++) {
		struct drops d = { .n = 0 };
		assert_int_equal(feed(req, bytewise, &d), 0);
		assert_int_equal(d.n, 2);
		size_t first = strlen(head) + 1;
		assert_int_equal(d.offset[0], first);
		assert_int_equal(d.len[0], strlen(";name=\"v\""));
		size_t second = first + strlen(";name=\"v\"\r\nhello\r\n0");
		assert_int_equal(d.offset[1], second);
		assert_int_equal(d.len[1], strlen(" ;last"));
	}
}

static void
test_smuggling_and_framing_refused(void **state)
{
	(void)state;
	both("POST /p HTTP/1.1\r\n" H "Transfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc",
	    400);
	both("POST /p HTTP/1.1\r\n" H "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
	both("POST /p HTTP/1.1\r\n" H "Content-Length: 3\r\nContent-Length: 4\r\n\r\n", 400);
	both("POST /p HTTP/1.1\r\n" H "Content-Length: +3\r\n\r\n", 400);
	both("POST /p HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n", 501);
	both("POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
	both("GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n" H "\r\n", 400);
	both("GET / HTTP/1.1\r\n\r\n", 400);				/* no Host */
	both("GET / HTTP/1.1\r\n" H H "\r\n", 400);			/* two */
	both("GET / HTTP/1.1\r\n" H "Bad Name: 1\r\n\r\n", 400);
	both("GET / HTTP/1.1\r\n" H "X-A: a\x01" "b\r\n\r\n", 400);
	both("GET / HTTP/1.1\r\n" H "X-A: a\rb\r\n\r\n", 400);		/* a bare CR */
}

static void
test_bad_chunks_refused(void **state)
{
	(void)state;
	const char *head = "POST /p HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n";
	const char *bodies[] = { "zz\r\nab\r\n0\r\n\r\n", "2\r\nabXX0\r\n\r\n", "2 x\r\nab\r\n0\r\n\r\n",
	    "\r\nab\r\n0\r\n\r\n" };
	char req[256];
	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		snprintf(req, sizeof req, "%s%s", head, bodies[i]);
		both(req, 400);
	}
	snprintf(req, sizeof req, "%sfffffffffffffffffffff\r\n", head);	/* past 64 bits */
	both(req, 400);
	snprintf(req, sizeof req, "%sffffffffffff\r\n", head);		/* a body too big */
	both(req, 413);
}

static void
test_limits_and_unknowns_refused(void **state)
{
	(void)state;
	static char big[LIMIT_HEADER_BYTES + 200];
	snprintf(big, sizeof big, "GET / HTTP/1.1\r\n" H "X-Big: %0*d\r\n\r\n",
	    LIMIT_HEADER_BYTES, 0);
	both(big, 431);
	snprintf(big, sizeof big, "POST /p HTTP/1.1\r\n" H "Content-Length: %d\r\n\r\n",
	    LIMIT_BODY_BYTES + 1);
	both(big, 413);
	both("TRACE / HTTP/1.1\r\n" H "\r\n", 501);
	both("GET / HTTP/2.0\r\n" H "\r\n", 505);
	both("GET / HTTX/1.1\r\n" H "\r\n", 400);
	both("GET  / HTTP/1.1\r\n" H "\r\n", 400);
	both("GARBAGE\r\n\r\n", 400);
	both("GET http://[ HTTP/1.1\r\n" H "\r\n", 400);
	both("GET noslash HTTP/1.1\r\n" H "\r\n", 400);
	both("GET * HTTP/1.1\r\n" H "\r\n", 400);
	both("OPTIONS * HTTP/1.1\r\n" H "\r\n", 0);
	both("GET http://127.0.0.1:8080/healthz HTTP/1.1\r\n" H "\r\n", 0);
	both("GET http://[::1]:8080/x?y HTTP/1.1\r\n" H "\r\n", 0);
	both("GET http://a:b@c/ HTTP/1.1\r\n" H "\r\n", 400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sound_requests),
		cmocka_unit_test(test_chunk_extensions_dropped),
		cmocka_unit_test(test_smuggling_and_framing_refused),
		cmocka_unit_test(test_bad_chunks_refused),
		cmocka_unit_test(test_limits_and_unknowns_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
