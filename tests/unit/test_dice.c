/*
 * test_dice.c - the dice bot's brain (src/bots/dice.c): expressions found in
 * a message, the exact reply text, the limits, and how the caller's random
 * function is used. The rng is scripted so every reply is known in advance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/dice.h"

#define HINT	"Give me dice to roll, like 2d6+1 or d20."
#define MAX_CALLS 4096

/* Returns vals[0], vals[1], ... (then `fixed` when the script runs out). */
struct script {
	const uint32_t	*vals;
	size_t		 nvals;
	uint32_t	 fixed;
	size_t		 calls;
	uint32_t	 sides[MAX_CALLS];
};

static uint32_t
scripted(void *arg, uint32_t sides)
{
	struct script *s = arg;
	assert_true(s->calls < MAX_CALLS);
	s->sides[s->calls] = sides;
	uint32_t v = s->calls < s->nvals ? s->vals[s->calls] : s->fixed;
	s->calls++;
	/* the script itself must stay a fair die for the sides asked */
	assert_in_range(v, 1, sides);
	return v;
}

#define SCRIPT(...) \
	static const uint32_t vals_[] = { __VA_ARGS__ }; \
	struct script s = { vals_, sizeof vals_ / sizeof *vals_, 1, 0, { 0 } }

/* Rolls text with the script and checks the whole reply. */
static void
expect_reply(const char *text, struct script *s, const char *want)
{
	char *got = dice_reply(text, scripted, s);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_two_d6_plus_one(void **state)
{
	(void)state;
	SCRIPT(3, 5);
	expect_reply("2d6+1", &s, "2d6+1: [3, 5] +1 = 9\n= 9");
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.sides[0], 6);
	assert_int_equal(s.sides[1], 6);
}

static void
test_d20(void **state)
{
	(void)state;
	SCRIPT(17);
	expect_reply("d20", &s, "d20: [17] = 17\n= 17");
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.sides[0], 20);
}

static void
test_minus(void **state)
{
	(void)state;
	SCRIPT(1, 2, 3);
	expect_reply("3d6-2", &s, "3d6-2: [1, 2, 3] -2 = 4\n= 4");
	assert_int_equal(s.calls, 3);
}

static void
test_negative_total(void **state)
{
	(void)state;
	SCRIPT(1);
	expect_reply("d4-10", &s, "d4-10: [1] -10 = -9\n= -9");
}

static void
test_upper_case_and_sentence(void **state)
{
	(void)state;
	SCRIPT(2, 6);
	expect_reply("let's roll 2D6 for damage", &s, "2D6: [2, 6] = 8\n= 8");
}

static void
test_several_and_grand_total(void **state)
{
	(void)state;
	SCRIPT(4, 6, 5, 20, 1, 1);
	expect_reply("roll 2d6 and d8+3, then (d20) and 2d4-1!", &s,
	    "2d6: [4, 6] = 10\n"
	    "d8+3: [5] +3 = 8\n"
	    "d20: [20] = 20\n"
	    "2d4-1: [1, 1] -1 = 1\n"
	    "= 39");
	assert_int_equal(s.calls, 6);
	const uint32_t sides[] = { 6, 6, 8, 20, 4, 4 };
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(s.sides[i], sides[i]);
}

static void
test_bonus_zero_not_printed(void **state)
{
	(void)state;
	SCRIPT(3);
	expect_reply("d6+0", &s, "d6+0: [3] = 3\n= 3");
}

/* Things that are not dice: the hint, and the rng never called. */
static void
expect_hint(const char *text)
{
	struct script s = { NULL, 0, 1, 0, { 0 } };
	char *got = dice_reply(text, scripted, &s);
	assert_non_null(got);
	if (strcmp(got, HINT) != 0)
		fail_msg("\"%s\" rolled: \"%s\"", text, got);
	free(got);
	assert_int_equal(s.calls, 0);
}

static void
test_no_dice_hint(void **state)
{
	(void)state;
	expect_hint("");
	expect_hint("hello there");
	expect_hint("d");
	expect_hint("2d");
	expect_hint("dd6");		/* "d6" follows a letter */
	expect_hint("d-6");
}

static void
test_limits(void **state)
{
	(void)state;
	expect_hint("101d6");
	expect_hint("1000d6");
	expect_hint("0d6");
	expect_hint("d1001");
	expect_hint("d10000");
	expect_hint("2d0");
	expect_hint("d6+10001");
	expect_hint("d6-10001");
	expect_hint("d6+100000");
	expect_hint("101d6 d1001 2d0");
}

static void
test_largest_allowed(void **state)
{
	(void)state;
	/* 100d1000: one hundred rolls of a thousand-sided die */
	struct script s = { NULL, 0, 1000, 0, { 0 } };
	char *got = dice_reply("100d1000", scripted, &s);
	assert_int_equal(s.calls, 100);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(s.sides[i], 1000);
	char want[8192];
	size_t n = (size_t)snprintf(want, sizeof want, "100d1000: [");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(want + n, sizeof want - n, "%s1000", i ? ", " : "");
	snprintf(want + n, sizeof want - n, "] = 100000\n= 100000");
	assert_string_equal(got, want);
	free(got);

}

static void
test_largest_bonus(void **state)
{
	(void)state;
	SCRIPT(7, 1);
	expect_reply("d20+10000 and 1d1-10000", &s,
	    "d20+10000: [7] +10000 = 10007\n"
	    "1d1-10000: [1] -10000 = -9999\n"
	    "= 8");
}

static void
test_inside_words(void **state)
{
	(void)state;
	expect_hint("x2d6");
	expect_hint("2d6x");
	expect_hint("abc2d6 2d6abc 2d6+1x d20d20");
	SCRIPT(4);
	/* only the free-standing one counts */
	expect_reply("x2d6 2d6x d4 2d6+3y", &s, "d4: [4] = 4\n= 4");
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.sides[0], 4);
}

static void
test_punctuation_around(void **state)
{
	(void)state;
	SCRIPT(1, 2, 3);
	expect_reply("(d4), [d6]; d8.", &s,
	    "d4: [1] = 1\nd6: [2] = 2\nd8: [3] = 3\n= 6");
}

static void
test_at_most_max_exprs(void **state)
{
	(void)state;
	/* 25 expressions d1 .. d25: only the first LIMIT_DICE_EXPRS are rolled */
	char text[512] = "";
	size_t n = 0;
	for (int i = 1; i <= LIMIT_DICE_EXPRS + 5; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "d%d ", i);
	struct script s = { NULL, 0, 1, 0, { 0 } };
	char *got = dice_reply(text, scripted, &s);
	assert_int_equal(s.calls, LIMIT_DICE_EXPRS);
	for (size_t i = 0; i < LIMIT_DICE_EXPRS; i++)
		assert_int_equal(s.sides[i], i + 1);
	/* LIMIT_DICE_EXPRS roll lines and the total */
	size_t lines = 0;
	for (const char *c = got; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, LIMIT_DICE_EXPRS);
	assert_non_null(strstr(got, "d20: [1] = 1\n= 20"));
	assert_null(strstr(got, "d21"));
	free(got);
}

/* A fair rng (xorshift) that checks it is asked for the expression's sides. */
struct fair {
	uint64_t	 x;
	uint32_t	 want_sides;
	size_t		 calls;
};

static uint32_t
fair_rng(void *arg, uint32_t sides)
{
	struct fair *f = arg;
	assert_int_equal(sides, f->want_sides);
	f->x ^= f->x << 13;
	f->x ^= f->x >> 7;
	f->x ^= f->x << 17;
	f->calls++;
	return (uint32_t)(f->x % sides) + 1;
}

static void
test_rng_sides_and_range(void **state)
{
	(void)state;
	const uint32_t sides[] = { 1, 2, 3, 6, 20, 100, 999, 1000 };
	for (size_t k = 0; k < sizeof sides / sizeof *sides; k++) {
		char text[32];
		snprintf(text, sizeof text, "100d%u", sides[k]);
		struct fair f = { 0x9e3779b97f4a7c15ULL + k, sides[k], 0 };
		char *got = dice_reply(text, fair_rng, &f);
		assert_int_equal(f.calls, 100);
		/* every value shown lies in [1, sides] and they add up */
		const char *p = strchr(got, '[');
		assert_non_null(p);
		unsigned long sum = 0;
		for (p++; *p != ']'; ) {
			char *end;
			unsigned long v = strtoul(p, &end, 10);
			assert_true(end > p);
			assert_in_range(v, 1, sides[k]);
			sum += v;
			p = end;
			if (*p == ',')
				p += 2;
		}
		char tail[64];
		snprintf(tail, sizeof tail, "] = %lu\n= %lu", sum, sum);
		assert_non_null(strstr(got, tail));
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_d6_plus_one),
		cmocka_unit_test(test_d20),
		cmocka_unit_test(test_minus),
		cmocka_unit_test(test_negative_total),
		cmocka_unit_test(test_upper_case_and_sentence),
		cmocka_unit_test(test_several_and_grand_total),
		cmocka_unit_test(test_bonus_zero_not_printed),
		cmocka_unit_test(test_no_dice_hint),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_largest_allowed),
		cmocka_unit_test(test_largest_bonus),
		cmocka_unit_test(test_inside_words),
		cmocka_unit_test(test_punctuation_around),
		cmocka_unit_test(test_at_most_max_exprs),
		cmocka_unit_test(test_rng_sides_and_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
