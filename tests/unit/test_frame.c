/*
 * test_frame.c - SSE framing (src/sse/frame.c): the SSE text, the HTTP/1.1
 * chunk around it, and reference counting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse/frame.h"

/* Checks every byte of f: body == expected, chunk == hex(len) CRLF body CRLF. */
static void
assert_frame(const struct frame *f, const char *expected)
{
	size_t n = strlen(expected);
	char head[32];
	int hl = snprintf(head, sizeof head, "%zx\r\n", n);

	assert_non_null(f);
	assert_int_equal(f->body_len, n);
	assert_memory_equal(f->body, expected, n);
	assert_int_equal(f->chunk_len, (size_t)hl + n + 2);
	assert_ptr_equal(f->chunk, f->bytes);
	assert_memory_equal(f->chunk, head, (size_t)hl);
	assert_ptr_equal(f->body, f->chunk + hl);
	assert_memory_equal(f->chunk + hl + n, "\r\n", 2);
}

static struct frame *
ev(bool has_id, uint64_t id, const char *event, const char *payload)
{
	return sse_frame_event(has_id, id, event, payload, strlen(payload));
}

static void
test_with_id(void **state)
{
	(void)state;
	struct frame *f = ev(true, 42, "message", "{\"a\":1}");
	assert_frame(f, "id: 42\nevent: message\ndata: {\"a\":1}\n\n");
	assert_int_equal(f->id, 42);
	sse_frame_unref(f);
}

static void
test_without_id(void **state)
{
	(void)state;
	struct frame *f = ev(false, 42, "token", "hi");
	assert_frame(f, "event: token\ndata: hi\n\n");
	sse_frame_unref(f);
}

static void
test_id_zero_with_has_id(void **state)
{
	(void)state;
	struct frame *f = ev(true, 0, "snapshot", "x");
	assert_frame(f, "id: 0\nevent: snapshot\ndata: x\n\n");
	assert_int_equal(f->id, 0);
	sse_frame_unref(f);
}

static void
test_id_max(void **state)
{
	(void)state;
	struct frame *f = ev(true, UINT64_MAX, "e", "x");
	assert_frame(f, "id: 18446744073709551615\nevent: e\ndata: x\n\n");
	assert_true(f->id == UINT64_MAX);
	sse_frame_unref(f);
}

static void
test_multiline_lf(void **state)
{
	(void)state;
	struct frame *f = ev(false, 0, "m", "one\ntwo\nthree");
	assert_frame(f, "event: m\ndata: one\ndata: two\ndata: three\n\n");
	sse_frame_unref(f);
}

static void
test_multiline_crlf(void **state)
{
	(void)state;
	struct frame *f = ev(false, 0, "m", "one\r\ntwo\r\nthree");
	assert_frame(f, "event: m\ndata: one\ndata: two\ndata: three\n\n");
	sse_frame_unref(f);
}

static void
test_multiline_cr(void **state)
{
	(void)state;
	struct frame *f = ev(false, 0, "m", "one\rtwo\rthree");
	assert_frame(f, "event: m\ndata: one\ndata: two\ndata: three\n\n");
	sse_frame_unref(f);
}

static void
test_multiline_mixed(void **state)
{
	(void)state;
	/* LF CR is two line ends (an empty line between), CR LF is one. */
	struct frame *f = ev(false, 0, "m", "a\n\rb\r\nc\rd\n\ne");
	assert_frame(f, "event: m\ndata: a\ndata: \ndata: b\ndata: c\ndata: d\n"
	    "data: \ndata: e\n\n");
	sse_frame_unref(f);
}

static void
test_empty_payload(void **state)
{
	(void)state;
	struct frame *f = sse_frame_event(true, 1, "e", "", 0);
	assert_frame(f, "id: 1\nevent: e\ndata: \n\n");
	sse_frame_unref(f);
}

static void
test_trailing_newline(void **state)
{
	(void)state;
	struct frame *f = ev(false, 0, "e", "a\n");
	assert_frame(f, "event: e\ndata: a\ndata: \n\n");
	sse_frame_unref(f);
	f = ev(false, 0, "e", "a\r\n");
	assert_frame(f, "event: e\ndata: a\ndata: \n\n");
	sse_frame_unref(f);
	f = ev(false, 0, "e", "a\r");
	assert_frame(f, "event: e\ndata: a\ndata: \n\n");
	sse_frame_unref(f);
	f = ev(false, 0, "e", "\n");
	assert_frame(f, "event: e\ndata: \ndata: \n\n");
	sse_frame_unref(f);
}

static void
test_payload_length_respected(void **state)
{
	(void)state;
	/* only payload_len bytes are framed, and an embedded NUL is not an end */
	struct frame *f = sse_frame_event(false, 0, "e", "abcdef", 3);
	assert_frame(f, "event: e\ndata: abc\n\n");
	sse_frame_unref(f);
	f = sse_frame_event(false, 0, "e", "a\0b", 3);
	assert_int_equal(f->body_len, strlen("event: e\ndata: ") + 3 + 2);
	assert_memory_equal(f->body, "event: e\ndata: a\0b\n\n", f->body_len);
	sse_frame_unref(f);
}

static void
test_chunk_header_hex(void **state)
{
	(void)state;
	/* 300-byte payload: body is 9 + 6 + 300 + 2 = 317 = 0x13d bytes */
	char payload[301];
	memset(payload, 'x', 300);
	payload[300] = '\0';
	struct frame *f = ev(false, 0, "e", payload);
	assert_int_equal(f->body_len, 317);
	assert_memory_equal(f->chunk, "13d\r\nevent: e\ndata: xxx", 23);
	assert_int_equal(f->chunk_len, 5 + 317 + 2);
	assert_memory_equal(f->chunk + f->chunk_len - 4, "\n\n\r\n", 4);

	/* a 16-byte body has the two-digit header "10" */
	struct frame *g = sse_frame_comment("abcdefghijkl");	/* ": " + 12 + "\n\n" = 16 */
	assert_int_equal(g->body_len, 16);
	assert_memory_equal(g->chunk, "10\r\n: abcdefghijkl\n\n\r\n", 22);
	assert_int_equal(g->chunk_len, 22);
	sse_frame_unref(g);
	sse_frame_unref(f);
}

static void
test_large_payload(void **state)
{
	(void)state;
	size_t n = 100000;
	char *payload = malloc(n);
	assert_non_null(payload);
	memset(payload, 'y', n);
	struct frame *f = sse_frame_event(true, 7, "big", payload, n);
	size_t body = strlen("id: 7\nevent: big\ndata: ") + n + 2;
	assert_int_equal(f->body_len, body);	/* 100025 = 0x186b9 */
	assert_memory_equal(f->chunk, "186b9\r\n", 7);
	assert_memory_equal(f->body + body - 3, "y\n\n", 3);
	assert_int_equal(f->chunk_len, 7 + body + 2);
	free(payload);
	sse_frame_unref(f);
}

static void
test_comment(void **state)
{
	(void)state;
	struct frame *f = sse_frame_comment("keepalive");
	assert_frame(f, ": keepalive\n\n");
	assert_int_equal(f->id, 0);
	sse_frame_unref(f);
	f = sse_frame_comment("");
	assert_frame(f, ": \n\n");
	sse_frame_unref(f);
}

static void
test_refcount(void **state)
{
	(void)state;
	struct frame *f = ev(true, 3, "e", "x");
	assert_int_equal(f->refs, 1);
	assert_ptr_equal(sse_frame_ref(f), f);
	assert_ptr_equal(sse_frame_ref(f), f);
	assert_int_equal(f->refs, 3);
	sse_frame_unref(f);
	assert_int_equal(f->refs, 2);
	sse_frame_unref(f);
	assert_int_equal(f->refs, 1);
	/* still intact while referenced */
	assert_frame(f, "id: 3\nevent: e\ndata: x\n\n");
	sse_frame_unref(f);	/* freed; ASan reports a leak or double free otherwise */
	sse_frame_unref(NULL);	/* allowed */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_with_id),
		cmocka_unit_test(test_without_id),
		cmocka_unit_test(test_id_zero_with_has_id),
		cmocka_unit_test(test_id_max),
		cmocka_unit_test(test_multiline_lf),
		cmocka_unit_test(test_multiline_crlf),
		cmocka_unit_test(test_multiline_cr),
		cmocka_unit_test(test_multiline_mixed),
		cmocka_unit_test(test_empty_payload),
		cmocka_unit_test(test_trailing_newline),
		cmocka_unit_test(test_payload_length_respected),
		cmocka_unit_test(test_chunk_header_hex),
		cmocka_unit_test(test_large_payload),
		cmocka_unit_test(test_comment),
		cmocka_unit_test(test_refcount),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
