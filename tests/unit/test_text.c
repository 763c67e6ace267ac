/*
 * test_text.c - UTF-8 checks and trimming (src/util/text.c), ids
 * (src/util/ids.c) and parse_u64 (src/http/request.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/ids.h"
#include "util/text.h"

#define VALID(lit)   assert_true(text_utf8_valid((lit), sizeof(lit) - 1))
#define INVALID(lit) assert_false(text_utf8_valid((lit), sizeof(lit) - 1))

static void
test_utf8_valid(void **state)
{
	(void)state;
	VALID("");
	VALID("plain ASCII ~\x7f");
	VALID("h\xc3\xa9llo");			/* é */
	VALID("\xc2\x80");			/* U+0080, smallest 2-byte */
	VALID("\xdf\xbf");			/* U+07FF */
	VALID("\xe0\xa0\x80");			/* U+0800, smallest 3-byte */
	VALID("\xe2\x82\xac");			/* € */
	VALID("\xed\x9f\xbf");			/* U+D7FF, just below the surrogates */
	VALID("\xee\x80\x80");			/* U+E000, just above */
	VALID("\xef\xbf\xbf");			/* U+FFFF */
	VALID("\xf0\x90\x80\x80");		/* U+10000, smallest 4-byte */
	VALID("\xf0\x9f\x98\x80");		/* 😀 */
	VALID("\xf4\x8f\xbf\xbf");		/* U+10FFFF, the last code point */
	VALID("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z");
}

static void
test_utf8_overlong(void **state)
{
	(void)state;
	INVALID("\xc0\x80");			/* overlong NUL */
	INVALID("\xc0\xaf");
	INVALID("\xc1\xbf");
	INVALID("\xe0\x80\x80");
	INVALID("\xe0\x9f\xbf");		/* overlong U+07FF */
	INVALID("\xf0\x80\x80\x80");
	INVALID("\xf0\x8f\xbf\xbf");		/* overlong U+FFFF */
}

static void
test_utf8_surrogates_and_range(void **state)
{
	(void)state;
	INVALID("\xed\xa0\x80");		/* U+D800 */
	INVALID("\xed\xbf\xbf");		/* U+DFFF */
	INVALID("\xed\xa0\xbd\xed\xb8\x80");	/* CESU-8 pair */
	INVALID("\xf4\x90\x80\x80");		/* U+110000 */
	INVALID("\xf5\x80\x80\x80");
	INVALID("\xf7\xbf\xbf\xbf");
	INVALID("\xf8\x88\x80\x80\x80");	/* 5-byte form */
	INVALID("\xfc\x84\x80\x80\x80\x80");	/* 6-byte form */
	INVALID("\xfe");
	INVALID("\xff");
}

static void
test_utf8_truncated_and_stray(void **state)
{
	(void)state;
	INVALID("\xc3");
	INVALID("ab\xc3");
	INVALID("\xe2\x82");
	INVALID("\xf0\x9f\x98");
	INVALID("\x80");			/* lone continuation */
	INVALID("a\xbfz");
	INVALID("\xe2\x41\xac");		/* continuation replaced by ASCII */
	INVALID("\xc3\xc3\xa9");
	INVALID("\xf0\x9f\x98\x80\x80");	/* one continuation too many */
	/* n bounds the check: a sequence cut by n is truncated ... */
	assert_false(text_utf8_valid("\xe2\x82\xac", 2));
	/* ... and what lies past n is not read */
	assert_true(text_utf8_valid("ab\xff", 2));
	assert_true(text_utf8_valid("anything", 0));
}

static void
test_utf8_nul(void **state)
{
	(void)state;
	INVALID("\0");
	INVALID("a\0b");
	INVALID("abc\0");
	assert_true(text_utf8_valid("abc\0", 3));
}

static void
test_utf8_chars(void **state)
{
	(void)state;
	assert_int_equal(text_utf8_chars(""), 0);
	assert_int_equal(text_utf8_chars("abc"), 3);
	assert_int_equal(text_utf8_chars("h\xc3\xa9llo"), 5);
	assert_int_equal(text_utf8_chars("\xe2\x82\xac"), 1);
	assert_int_equal(text_utf8_chars("\xf0\x9f\x98\x80\xe2\x82\xac"), 2);
	assert_int_equal(text_utf8_chars("a\xf4\x8f\xbf\xbf" "b"), 3);
}

static void
check_trim(const char *in, const char *out)
{
	char *t = text_trim(in);
	assert_non_null(t);
	assert_string_equal(t, out);
	free(t);
}

static void
test_trim(void **state)
{
	(void)state;
	check_trim("", "");
	check_trim("x", "x");
	check_trim("   ", "");
	check_trim(" \t\r\n\f\v", "");
	check_trim("  hello  ", "hello");
	check_trim("\t a  b \n", "a  b");
	check_trim("lead only   ", "lead only");
	check_trim("   trail", "trail");
	check_trim(" h\xc3\xa9 ", "h\xc3\xa9");
	/* a NBSP is not ASCII white space and stays */
	check_trim("\xc2\xa0x\xc2\xa0", "\xc2\xa0x\xc2\xa0");
}

static void
test_blank(void **state)
{
	(void)state;
	assert_true(text_blank(""));
	assert_true(text_blank(" "));
	assert_true(text_blank(" \t\r\n\f\v "));
	assert_false(text_blank("a"));
	assert_false(text_blank("  a  "));
	assert_false(text_blank("\xc2\xa0"));
	assert_false(text_blank(".\n"));
}

static void
test_id_generate(void **state)
{
	(void)state;
	char a[ID_LEN + 1], b[ID_LEN + 1];
	memset(a, '#', sizeof a);
	memset(b, '#', sizeof b);
	id_generate(a);
	id_generate(b);
	assert_int_equal(ID_LEN, 12);
	assert_int_equal(strlen(a), ID_LEN);
	assert_int_equal(strlen(b), ID_LEN);
	for (size_t i = 0; i < ID_LEN; i++) {
		assert_true((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9'));
		assert_true((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9'));
	}
	assert_string_not_equal(a, b);
	assert_true(id_valid(a));
	assert_true(id_valid(b));

	/* over many ids every character of the alphabet turns up */
	int seen[256] = { 0 };
	for (int n = 0; n < 500; n++) {
		id_generate(a);
		for (size_t i = 0; i < ID_LEN; i++)
			seen[(unsigned char)a[i]]++;
	}
	for (int c = 'a'; c <= 'z'; c++)
		assert_true(seen[c] > 0);
	for (int c = '0'; c <= '9'; c++)
		assert_true(seen[c] > 0);
}

static void
test_id_valid(void **state)
{
	(void)state;
	assert_true(id_valid("abcdefghijkl"));
	assert_true(id_valid("0123456789az"));
	assert_false(id_valid(""));
	assert_false(id_valid("abc"));
	assert_false(id_valid("abcdefghijk"));		/* 11 */
	assert_false(id_valid("abcdefghijklm"));	/* 13 */
	assert_false(id_valid("Abcdefghijkl"));
	assert_false(id_valid("abcdefghijk-"));
	assert_false(id_valid("abcdef ghijk"));
	assert_false(id_valid("abcdefghijk\xc3\xa9"));
	assert_false(id_valid("../../etc/pa"));
}

static void
test_parse_u64(void **state)
{
	(void)state;
	uint64_t v;

	v = 99;
	assert_int_equal(text_parse_u64("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(text_parse_u64("42", &v), 0);
	assert_true(v == 42);
	assert_int_equal(text_parse_u64("007", &v), 0);
	assert_true(v == 7);
	assert_int_equal(text_parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);

	const char *bad[] = {
		"", "-1", "+1", "-0", " 1", "1 ", "12a", "a12", "0x10", "1.5", "1e3",
		"18446744073709551616", "99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = 1234;
		if (text_parse_u64(bad[i], &v) != -1)
			fail_msg("parse_u64 accepted '%s'", bad[i]);
		assert_true(v == 1234);	/* untouched on failure */
	}
}

/* Text cut to fit ends on a character boundary, never inside one. */
static void
test_utf8_prefix(void **state)
{
	(void)state;
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";	/* a é € 😀 z: 1+2+3+4+1 */
	size_t n = strlen(s);
	size_t want[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11 };
	for (size_t max = 0; max <= n; max++)
		assert_int_equal(text_utf8_prefix(s, n, max), want[max]);
	assert_int_equal(text_utf8_prefix(s, n, 100), n);
}

/* Foreign text shown as one tidy line: controls become spaces, cut on a boundary. */
static void
test_one_line(void **state)
{
	(void)state;
	char out[8];
	text_one_line(out, sizeof out, "ab\ncd\te\x7f");
	assert_string_equal(out, "ab cd e");
	text_one_line(out, sizeof out, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");	/* 9 bytes into 7 */
	assert_string_equal(out, "\xe2\x82\xac\xe2\x82\xac");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_overlong),
		cmocka_unit_test(test_utf8_surrogates_and_range),
		cmocka_unit_test(test_utf8_truncated_and_stray),
		cmocka_unit_test(test_utf8_nul),
		cmocka_unit_test(test_utf8_chars),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_blank),
		cmocka_unit_test(test_id_generate),
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_utf8_prefix),
		cmocka_unit_test(test_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
