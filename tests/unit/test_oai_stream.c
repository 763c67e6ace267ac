/*
 * test_oai_stream.c - the OpenAI-compatible SSE parser (src/bots/oai_stream.c).
 * Every stream is fed whole, byte by byte and in random-sized pieces (several
 * seeds), and each way must give the same deltas, status and error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/oai_stream.h"
#include "util/buf.h"

#define NSEEDS	8
#define NMODES	(2 + NSEEDS)		/* whole, byte by byte, random pieces */

/* The deltas seen, each followed by "|" so their boundaries show. */
static void
on_delta(void *arg, const char *text, size_t len)
{
	struct buf *b = arg;
	assert_non_null(text);
	assert_true(len > 0);
	assert_int_equal(strlen(text), len);	/* NUL-terminated at len */
	buf_add(b, text, len);
	buf_addc(b, '|');
}

struct outcome {
	char		*deltas;	/* "a|b|" */
	enum oai_status	 fed;		/* after the last feed */
	enum oai_status	 finished;	/* after oai_stream_finish */
	char		 error[160];
	char		 finish_reason[32];
};

static uint32_t
lcg(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

/* Feeds input in the given mode; 0 whole, 1 byte by byte, 2.. random pieces. */
static void
run(const char *input, size_t len, int mode, bool finish, struct outcome *o)
{
	struct buf got = BUF_INIT;
	struct oai_stream p;
	oai_stream_init(&p, on_delta, &got);
	assert_int_equal(p.status, OAI_MORE);

	enum oai_status st = OAI_MORE;
	bool ended = false;
	uint32_t seed = 0x1234u + (uint32_t)mode * 7919u;
	for (size_t off = 0; off < len || (mode == 0 && off == 0);) {
		size_t n = mode == 0 ? len : mode == 1 ? 1 : 1 + lcg(&seed) % 23;
		if (n > len - off)
			n = len - off;
		st = oai_stream_feed(&p, input + off, n);
		/* once over, it stays over */
		if (ended)
			assert_int_equal(st, o->fed);
		if (st != OAI_MORE && !ended) {
			ended = true;
			o->fed = st;
		}
		off += n;
		if (n == 0)
			break;
	}
	o->fed = st;
	o->finished = finish ? oai_stream_finish(&p) : st;
	/* finish is idempotent */
	if (finish)
		assert_int_equal(oai_stream_finish(&p), o->finished);
	snprintf(o->error, sizeof o->error, "%s", p.error);
	snprintf(o->finish_reason, sizeof o->finish_reason, "%s", p.finish_reason);
	o->deltas = buf_steal(&got);
	oai_stream_free(&p);
}

struct expect {
	const char	*deltas;
	enum oai_status	 fed;
	enum oai_status	 finished;
	const char	*error;		/* a substring of p.error, or NULL for none */
	const char	*finish_reason;	/* NULL: not checked */
};

/* Runs every mode and checks each against want. */
static void
check_len(const char *input, size_t len, const struct expect *want)
{
	for (int mode = 0; mode < NMODES; mode++) {
		struct outcome o;
		memset(&o, 0, sizeof o);
		run(input, len, mode, true, &o);
		if (strcmp(o.deltas, want->deltas) != 0)
			fail_msg("mode %d: deltas \"%s\", want \"%s\"", mode, o.deltas,
			    want->deltas);
		if (o.fed != want->fed || o.finished != want->finished)
			fail_msg("mode %d: status %d/%d, want %d/%d (error \"%s\")", mode,
			    o.fed, o.finished, want->fed, want->finished, o.error);
		if (want->error == NULL)
			assert_string_equal(o.error, "");
		else if (strstr(o.error, want->error) == NULL)
			fail_msg("mode %d: error \"%s\", want \"%s\"", mode, o.error, want->error);
		if (want->finish_reason != NULL)
			assert_string_equal(o.finish_reason, want->finish_reason);
		free(o.deltas);
	}
}

static void
check(const char *input, const struct expect *want)
{
	check_len(input, strlen(input), want);
}

#define ROLE	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n"
#define DELTA(s) "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" s "\"},\"finish_reason\":null}]}\n\n"
#define STOP	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
#define USAGE	"data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n"
#define DONE	"data: [DONE]\n\n"

static void
test_normal_stream(void **state)
{
	(void)state;
	const struct expect want = { "Hel|lo|, world|", OAI_DONE, OAI_DONE, NULL, "stop" };
	check(ROLE DELTA("Hel") DELTA("lo") DELTA(", world") STOP USAGE DONE, &want);
}

static void
test_role_only_first_chunk(void **state)
{
	(void)state;
	/* a role-only delta gives no text, and is not an error */
	const struct expect more = { "", OAI_MORE, OAI_ERROR, "ended early", "" };
	check(ROLE, &more);
	const struct expect done = { "", OAI_DONE, OAI_DONE, NULL, "" };
	check(ROLE DONE, &done);
	/* role and content in the same delta */
	const struct expect both = { "Hi|", OAI_DONE, OAI_DONE, NULL, NULL };
	check("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\n\n" DONE,
	    &both);
}

static void
test_data_without_space(void **state)
{
	(void)state;
	const struct expect want = { "a|b| c|", OAI_DONE, OAI_DONE, NULL, "stop" };
	check("data:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n"
	    /* only one space is taken off; JSON does not mind the second */
	    "data:  {\"choices\":[{\"delta\":{\"content\":\" c\"}}]}\n\n"
	    "data:{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
	    "data:[DONE]\n\n", &want);
}

static void
test_crlf(void **state)
{
	(void)state;
	const struct expect want = { "one|two|", OAI_DONE, OAI_DONE, NULL, "stop" };
	check("data: {\"choices\":[{\"delta\":{\"content\":\"one\"}}]}\r\n\r\n"
	    ": keepalive\r\n\r\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"two\"}}]}\r\n\r\n"
	    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\r\n\r\n"
	    "data: [DONE]\r\n\r\n", &want);
	/* [DONE] with CRLF must still be recognised: nothing after it counts */
	const struct expect done = { "", OAI_DONE, OAI_DONE, NULL, NULL };
	check("data: [DONE]\r\n\r\ndata: {oops\r\n\r\n", &done);
}

static void
test_comments(void **state)
{
	(void)state;
	const struct expect want = { "x|y|", OAI_DONE, OAI_DONE, NULL, NULL };
	check(": keepalive\n\n"
	    ": OPENROUTER PROCESSING\n\n"
	    DELTA("x")
	    ":\n"
	    ": {\"choices\":[{\"delta\":{\"content\":\"not me\"}}]}\n\n"
	    DELTA("y")
	    DONE, &want);
	/* a comment inside an event does not break it */
	const struct expect inner = { "z|", OAI_DONE, OAI_DONE, NULL, NULL };
	check(": before\ndata: {\"choices\":[{\"delta\":{\"content\":\"z\"}}]}\n: after\n\n" DONE,
	    &inner);
}

static void
test_event_and_id_lines(void **state)
{
	(void)state;
	const struct expect want = { "ok|", OAI_DONE, OAI_DONE, NULL, NULL };
	check("event: message\nid: 7\nretry: 3000\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n"
	    "event: done\nid: 8\n\n"
	    "dat: {\"choices\":[{\"delta\":{\"content\":\"typo\"}}]}\n\n"
	    DONE, &want);
}

static void
test_usage_chunk(void **state)
{
	(void)state;
	/* an empty choices array is skipped, and is no finish */
	const struct expect want = { "a|", OAI_MORE, OAI_ERROR, "ended early", "" };
	check(DELTA("a") USAGE, &want);
	const struct expect done = { "a|", OAI_DONE, OAI_DONE, NULL, "" };
	check(DELTA("a") USAGE DONE, &done);
}

static void
test_done_ignores_rest(void **state)
{
	(void)state;
	const struct expect want = { "a|", OAI_DONE, OAI_DONE, NULL, "" };
	check(DELTA("a") DONE DELTA("late") "garbage\n\ndata: {broken\n\n"
	    "data: {\"error\":{\"message\":\"boom\"}}\n\n", &want);
	/* no blank line after [DONE] yet: the stream may end there */
	const struct expect tail = { "a|", OAI_MORE, OAI_DONE, NULL, NULL };
	check(DELTA("a") "data: [DONE]", &tail);
}

static void
test_error_object(void **state)
{
	(void)state;
	const struct expect want = { "Hi|", OAI_ERROR, OAI_ERROR, "boom", NULL };
	check(ROLE DELTA("Hi") "data: {\"error\":{\"message\":\"boom\"}}\n\n"
	    DELTA("after") DONE, &want);
	/* with more fields, as real servers send it */
	const struct expect full = { "", OAI_ERROR, OAI_ERROR, "rate limit exceeded", NULL };
	check("data: {\"error\":{\"message\":\"rate limit exceeded\",\"type\":\"requests\","
	    "\"code\":429}}\n\n", &full);
	/* an error that is a plain string */
	const struct expect plain = { "", OAI_ERROR, OAI_ERROR, "overloaded", NULL };
	check("data: {\"error\":\"overloaded\"}\n\n", &plain);
	/* an error without a message still is one */
	const struct expect bare = { "", OAI_ERROR, OAI_ERROR, "error", NULL };
	check("data: {\"error\":{\"code\":500}}\n\n", &bare);
}

/* llama.cpp's "error:" line, and "event: error", end the stream with their message. */
static void
test_error_lines_and_events(void **state)
{
	(void)state;
	const struct expect llama = { "", OAI_ERROR, OAI_ERROR,
	    "model server error: the request exceeds the available context size", NULL };
	check("error: {\"code\":400,\"message\":\"the request exceeds the available context"
	    " size\",\"type\":\"exceed_context_size_error\"}\n\n" DONE, &llama);
	check(ROLE "error: {\"code\":400,\"message\":\"the request exceeds the available context"
	    " size\"}\r\n\r\ndata: [DONE]\r\n\r\n", &llama);
	const struct expect event = { "a|", OAI_ERROR, OAI_ERROR, "model server error: overloaded",
	    NULL };
	check(DELTA("a") "event: error\ndata: {\"message\":\"overloaded\"}\n\n" DONE, &event);
	check(DELTA("a") "event: error\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\n", &event);
	check(DELTA("a") "event: error\ndata: overloaded\n\n", &event);
	/* another event's name changes nothing; the next event is data again */
	const struct expect named = { "a|b|", OAI_DONE, OAI_DONE, NULL, NULL };
	check(DELTA("a") "event: error\n\n" "event: delta\n" DELTA("b") DONE, &named);
}

/* [DONE] ends the stream without its blank line; a leading byte order mark is skipped. */
static void
test_done_line_and_bom(void **state)
{
	(void)state;
	const struct expect done = { "a|", OAI_DONE, OAI_DONE, NULL, NULL };
	check(DELTA("a") "data: [DONE]\n", &done);
	check(DELTA("a") "data: [DONE]\r\n", &done);
	check("\xef\xbb\xbf" DELTA("a") DONE, &done);
	/* reasoning is no part of the answer, and is noted */
	struct buf got = BUF_INIT;
	struct oai_stream p;
	oai_stream_init(&p, on_delta, &got);
	const char *thinking = "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}\n\n";
	assert_int_equal(oai_stream_feed(&p, thinking, strlen(thinking)), OAI_MORE);
	assert_true(p.reasoned);
	assert_int_equal(p.content_bytes, 0);
	assert_string_equal(p.finish_reason, "length");
	assert_null(got.data);
	oai_stream_free(&p);
}

static void
test_malformed_json(void **state)
{
	(void)state;
	const struct expect want = { "a|", OAI_ERROR, OAI_ERROR, "malformed", NULL };
	check(DELTA("a") "data: {\"choices\":[{\"delta\":\n\n" DELTA("b") DONE, &want);
	const struct expect e = { "", OAI_ERROR, OAI_ERROR, "malformed", NULL };
	check("data: not json\n\n", &e);
	check("data: [1, 2]\n\n", &e);		/* JSON, but no object */
	check("data: \"text\"\n\n", &e);
	check("data: {}x\n\n", &e);
	check("data: [DONE] \n\n", &e);		/* not quite [DONE] */
	/* a NUL in the text is dropped, the text around it kept */
	const struct expect nul = { "a|b|", OAI_DONE, OAI_DONE, NULL, NULL };
	check("data: {\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\\u0000\"}}]}\n\n" DONE,
	    &nul);
}

static void
test_finish_reason_without_done(void **state)
{
	(void)state;
	/* the connection closes after a finish reason: a complete answer */
	const struct expect whole = { "a|b|", OAI_MORE, OAI_DONE, NULL, "stop" };
	check(ROLE DELTA("a") DELTA("b") STOP, &whole);
	check(ROLE DELTA("a") DELTA("b") STOP USAGE, &whole);
	/* a finish reason on every chunk (some proxies): the text goes on */
	const struct expect every = { "a|b|", OAI_DONE, OAI_DONE, NULL, "stop" };
	check("data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\n\n"
	    DONE, &every);
	/* an empty or null finish reason is none */
	const struct expect not_yet = { "a|", OAI_MORE, OAI_ERROR, "ended early", "" };
	check(DELTA("a") "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"\"}]}\n\n",
	    &not_yet);
	const struct expect want = { "a|b|", OAI_MORE, OAI_DONE, NULL, "stop" };
	/* the last event without its blank line, or without any line end */
	check(DELTA("a") DELTA("b")
	    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n", &want);
	check(DELTA("a") DELTA("b")
	    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}", &want);
	/* content and the finish reason in one chunk */
	const struct expect len = { "end|", OAI_MORE, OAI_DONE, NULL, "length" };
	check("data: {\"choices\":[{\"delta\":{\"content\":\"end\"},\"finish_reason\":\"length\"}]}",
	    &len);
}

static void
test_ended_early(void **state)
{
	(void)state;
	const struct expect want = { "a|b|", OAI_MORE, OAI_ERROR, "ended early", "" };
	check(ROLE DELTA("a") DELTA("b"), &want);
	check(ROLE DELTA("a") DELTA("b") ": keepalive\n", &want);
	const struct expect empty = { "", OAI_MORE, OAI_ERROR, "ended early", "" };
	check("", &empty);
	check("\n\n\n", &empty);
	/* cut in the middle of an event's JSON: malformed */
	const struct expect cut = { "a|", OAI_MORE, OAI_ERROR, "malformed", NULL };
	check(DELTA("a") "data: {\"choices\":[{\"del", &cut);
}

static void
test_multiline_data(void **state)
{
	(void)state;
	/* an event's data lines are joined with "\n" (whitespace to JSON) */
	const struct expect want = { "joined|", OAI_DONE, OAI_DONE, NULL, NULL };
	check("data: {\"choices\":[{\"delta\":\n"
	    "data: {\"content\":\"joined\"}}]\n"
	    "data: }\n\n" DONE, &want);
	/* ... so a token cut across lines does not join up: "[DO\nNE]" is no [DONE] */
	const struct expect split = { "", OAI_ERROR, OAI_ERROR, "malformed", NULL };
	check("data: [DO\ndata: NE]\n\n", &split);
	/* nor does a number: "1\n2" */
	check("data: {\"choices\":[],\"n\":1\ndata: 2}\n\n", &split);
	/* an empty data line adds just the "\n" */
	const struct expect gap = { "g|", OAI_DONE, OAI_DONE, NULL, NULL };
	check("data: {\"choices\":[{\"delta\":{\"content\":\"g\"}}]\ndata:\ndata: }\n\n" DONE, &gap);
}

static void
test_oversize_line(void **state)
{
	(void)state;
	size_t n = LIMIT_MODEL_EVENT_BYTES + 64;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memcpy(big, "data: ", 6);
	memset(big + 6, 'a', n - 6);
	big[n] = '\0';
	/* the error comes before any line end: the stream need not end */
	const struct expect want = { "", OAI_ERROR, OAI_ERROR, "line over", NULL };
	check_len(big, n, &want);
	/* a long comment line too */
	big[0] = ':';
	check_len(big, n, &want);
	free(big);
}

static void
test_oversize_event(void **state)
{
	(void)state;
	/* two data lines under the line limit that together pass the event limit */
	size_t half = LIMIT_MODEL_EVENT_BYTES / 2 + 16;
	size_t n = 2 * (6 + half + 1) + 1;
	char *big = malloc(n + 1);
	assert_non_null(big);
	char *p = big;
	for (int k = 0; k < 2; k++) {
		memcpy(p, "data: ", 6);
		memset(p + 6, ' ', half);
		p[6 + half] = '\n';
		p += 6 + half + 1;
	}
	*p++ = '\n';
	*p = '\0';
	assert_int_equal((size_t)(p - big), n);
	const struct expect want = { "", OAI_ERROR, OAI_ERROR, "event over", NULL };
	check_len(big, n, &want);
	free(big);

	/* just under the limit is fine: whitespace and a small object */
	size_t m = LIMIT_MODEL_EVENT_BYTES - 200;
	n = 6 + m + 64;
	big = malloc(n + 1);
	memcpy(big, "data: ", 6);
	memset(big + 6, ' ', m);
	int tail = snprintf(big + 6 + m, 64, "{\"choices\":[]}\n\n" DONE);
	const struct expect ok = { "", OAI_DONE, OAI_DONE, NULL, NULL };
	check_len(big, 6 + m + (size_t)tail, &ok);
	free(big);
}

static void
test_unicode(void **state)
{
	(void)state;
	/* escapes decoded to UTF-8: é, a surrogate pair (😀), 中, and raw UTF-8 */
	const struct expect want = { "caf\xc3\xa9 |\xf0\x9f\x98\x80|\xe4\xb8\xad|\xe2\x82\xac \"q\"\\|",
	    OAI_DONE, OAI_DONE, NULL, NULL };
	check(DELTA("caf\\u00e9 ") DELTA("\\ud83d\\ude00") DELTA("\\u4E2D")
	    DELTA("\xe2\x82\xac \\\"q\\\"\\\\") DONE, &want);
	/* newlines and tabs in content */
	const struct expect nl = { "a\nb\tc|", OAI_DONE, OAI_DONE, NULL, NULL };
	check(DELTA("a\\nb\\tc") DONE, &nl);
	/* a lone surrogate is no valid JSON string */
	const struct expect bad = { "", OAI_ERROR, OAI_ERROR, "malformed", NULL };
	check(DELTA("\\ud83d") DONE, &bad);
}

static void
test_empty_and_odd_content(void **state)
{
	(void)state;
	/* empty, null or non-string content gives no delta */
	const struct expect want = { "x|", OAI_DONE, OAI_DONE, NULL, NULL };
	check("data: {\"choices\":[{\"delta\":{\"content\":\"\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":null}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":42}}]}\n\n"
	    "data: {\"choices\":[{\"text\":\"legacy\"}]}\n\n"
	    "data: {\"choices\":{}}\n\n"
	    "data: {}\n\n"
	    DELTA("x") DONE, &want);
}

static void
test_feed_after_end(void **state)
{
	(void)state;
	struct buf got = BUF_INIT;
	struct oai_stream p;
	oai_stream_init(&p, on_delta, &got);
	assert_int_equal(oai_stream_feed(&p, DELTA("a") DONE, strlen(DELTA("a") DONE)), OAI_DONE);
	assert_int_equal(oai_stream_feed(&p, DELTA("b"), strlen(DELTA("b"))), OAI_DONE);
	assert_int_equal(oai_stream_feed(&p, "", 0), OAI_DONE);
	assert_int_equal(oai_stream_finish(&p), OAI_DONE);
	assert_string_equal(got.data, "a|");
	oai_stream_free(&p);

	buf_reset(&got);
	oai_stream_init(&p, on_delta, &got);
	const char *err = "data: {\"error\":{\"message\":\"boom\"}}\n\n";
	assert_int_equal(oai_stream_feed(&p, err, strlen(err)), OAI_ERROR);
	char saved[sizeof p.error];
	memcpy(saved, p.error, sizeof saved);
	assert_int_equal(oai_stream_feed(&p, DELTA("b") DONE, strlen(DELTA("b") DONE)), OAI_ERROR);
	assert_int_equal(oai_stream_finish(&p), OAI_ERROR);
	assert_string_equal(p.error, saved);		/* the first error is kept */
	assert_int_equal(got.len, 0);
	oai_stream_free(&p);
	oai_stream_free(&p);				/* freeing twice is harmless */
	buf_free(&got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal_stream),
		cmocka_unit_test(test_role_only_first_chunk),
		cmocka_unit_test(test_data_without_space),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_event_and_id_lines),
		cmocka_unit_test(test_usage_chunk),
		cmocka_unit_test(test_done_ignores_rest),
		cmocka_unit_test(test_error_object),
		cmocka_unit_test(test_error_lines_and_events),
		cmocka_unit_test(test_done_line_and_bom),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_finish_reason_without_done),
		cmocka_unit_test(test_ended_early),
		cmocka_unit_test(test_multiline_data),
		cmocka_unit_test(test_oversize_line),
		cmocka_unit_test(test_oversize_event),
		cmocka_unit_test(test_unicode),
		cmocka_unit_test(test_empty_and_odd_content),
		cmocka_unit_test(test_feed_after_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
