/*
 * test_policy.c - @mentions and the turn policies (src/bots/policy.c):
 * policy_parse, mentions_find and policy_select under round-robin, mentions,
 * natural (with a scripted rng) and manual, and the max bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "chat/policy.h"

/* The chat's bots, in chat order. */
static const struct chat_bot bots[] = {
	{ "Eliza", 0.5 },		/* 0 */
	{ "dice-bot", 0.2 },		/* 1 */
	{ "Deep_Thought", 0.9 },	/* 2 */
	{ "Eli", 0.1 },			/* 3 */
};
#define NBOTS (sizeof bots / sizeof *bots)
#define SENTINEL ((size_t)0xdead)

/* Checks out[0..got) == want[0..nwant). */
static void
expect_list(const size_t *out, size_t got, const size_t *want, size_t nwant)
{
	assert_int_equal(got, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_int_equal(out[i], want[i]);
}

#define MENTIONS(text, ...) do { \
	const size_t want_[] = { __VA_ARGS__ }; \
	size_t out_[16]; \
	for (size_t i_ = 0; i_ < 16; i_++) out_[i_] = SENTINEL; \
	size_t got_ = mentions_find((text), bots, NBOTS, out_, 16); \
	expect_list(out_, got_, want_ + 1, sizeof want_ / sizeof *want_ - 1); \
	assert_int_equal(out_[got_], SENTINEL); \
} while (0)
/* The first value is a placeholder so an empty list can be written. */
#define NONE ((size_t)-1)

static void
test_policy_parse(void **state)
{
	(void)state;
	enum policy p = POLICY_MANUAL;
	assert_int_equal(policy_parse("round-robin", &p), 0);
	assert_int_equal(p, POLICY_ROUND_ROBIN);
	assert_int_equal(policy_parse("mentions", &p), 0);
	assert_int_equal(p, POLICY_MENTIONS);
	assert_int_equal(policy_parse("natural", &p), 0);
	assert_int_equal(p, POLICY_NATURAL);
	assert_int_equal(policy_parse("manual", &p), 0);
	assert_int_equal(p, POLICY_MANUAL);

	p = POLICY_NATURAL;
	const char *bad[] = { "", "Natural", "round_robin", "roundrobin", "manual ",
	    " manual", "mention", "naturally", "MANUAL" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(policy_parse(bad[i], &p), -1);
		assert_int_equal(p, POLICY_NATURAL);	/* untouched */
	}
}

static void
test_mentions_basic(void **state)
{
	(void)state;
	MENTIONS("@Eliza hello", NONE, 0);
	MENTIONS("hello @eliza", NONE, 0);
	MENTIONS("HELLO @ELIZA", NONE, 0);
	MENTIONS("@eLiZa", NONE, 0);
	MENTIONS("", NONE);
	MENTIONS("no mentions at all", NONE);
	MENTIONS("Eliza without the at sign", NONE);
	MENTIONS("@", NONE);
	MENTIONS("@ Eliza", NONE);
	MENTIONS("@nobody here", NONE);
}

static void
test_mentions_whole_names(void **state)
{
	(void)state;
	MENTIONS("@Eli", NONE, 3);		/* not Eliza */
	MENTIONS("@Eliz", NONE);
	MENTIONS("@Elizabeth", NONE);
	MENTIONS("@Eliza2", NONE);
	MENTIONS("@Eliza_", NONE);
	MENTIONS("@dice", NONE);
	MENTIONS("@dice-bots", NONE);
	MENTIONS("@Deep", NONE);
	MENTIONS("@Deep_", NONE);
}

static void
test_mentions_punctuation(void **state)
{
	(void)state;
	MENTIONS("@eliza, what do you think?", NONE, 0);
	MENTIONS("ask @eliza.", NONE, 0);
	MENTIONS("(@eliza)", NONE, 0);
	MENTIONS("@eliza: hi", NONE, 0);
	MENTIONS("hi @eliza!", NONE, 0);
	MENTIONS("\"@eliza\"", NONE, 0);
	MENTIONS("line\n@eliza\tthere", NONE, 0);
	MENTIONS("@Eliza's idea", NONE, 0);
}

static void
test_mentions_not_emails(void **state)
{
	(void)state;
	MENTIONS("x@Eliza", NONE);
	MENTIONS("mail me at someone@eliza", NONE);
	MENTIONS("a_@eliza 1@eliza z-@eliza", NONE);
	MENTIONS("x@Eliza but @Eli", NONE, 3);
}

static void
test_mentions_order_and_duplicates(void **state)
{
	(void)state;
	MENTIONS("@eliza @ELIZA @Eliza", NONE, 0);
	MENTIONS("@Deep_Thought and @dice-bot then @eliza", NONE, 2, 1, 0);
	MENTIONS("@eli @dice-bot @eli @eliza @dice-bot", NONE, 3, 1, 0);
	MENTIONS("@dice-bot,@deep_thought", NONE, 1, 2);
}

static void
test_mentions_max(void **state)
{
	(void)state;
	size_t out[4] = { SENTINEL, SENTINEL, SENTINEL, SENTINEL };
	size_t got = mentions_find("@eliza @eli @dice-bot", bots, NBOTS, out, 2);
	assert_int_equal(got, 2);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 3);
	assert_int_equal(out[2], SENTINEL);

	got = mentions_find("@eliza", bots, NBOTS, out, 0);
	assert_int_equal(got, 0);
	assert_int_equal(out[0], 0);	/* left as it was above */
	assert_int_equal(out[2], SENTINEL);

	/* no bots: nothing, whatever the text */
	got = mentions_find("@eliza", bots, 0, out, 4);
	assert_int_equal(got, 0);
}

/* A scripted rng: vals in order, then `after`; counts calls. */
struct script {
	const double	*vals;
	size_t		 nvals;
	double		 after;
	size_t		 calls;
};

static double
scripted(void *arg)
{
	struct script *s = arg;
	double v = s->calls < s->nvals ? s->vals[s->calls] : s->after;
	s->calls++;
	return v;
}

/* Never to be called. */
static double
no_rng(void *arg)
{
	(void)arg;
	fail_msg("the rng was called");
	return 0;
}

static size_t
select_bots(enum policy policy, const char *text, int speaker, policy_rng_fn rng,
    void *st, size_t out[], size_t max)
{
	for (size_t i = 0; i < 16; i++)
		out[i] = SENTINEL;
	size_t got = policy_select(policy, bots, NBOTS, text, speaker, rng, st, out, max);
	assert_true(got <= max);
	/* out[got..max) is the callee's scratch space; nothing past max is written */
	for (size_t i = max; i < 16; i++)
		assert_int_equal(out[i], SENTINEL);
	return got;
}

#define SELECT(policy, text, speaker, rng, st, max, ...) do { \
	const size_t want_[] = { __VA_ARGS__ }; \
	size_t out_[16]; \
	size_t got_ = select_bots((policy), (text), (speaker), (rng), (st), out_, (max)); \
	expect_list(out_, got_, want_ + 1, sizeof want_ / sizeof *want_ - 1); \
} while (0)

static void
test_round_robin(void **state)
{
	(void)state;
	SELECT(POLICY_ROUND_ROBIN, "hello", -1, no_rng, NULL, 8, NONE, 0, 1, 2, 3);
	SELECT(POLICY_ROUND_ROBIN, "@dice-bot only", -1, no_rng, NULL, 8, NONE, 0, 1, 2, 3);
	SELECT(POLICY_ROUND_ROBIN, "hello", -1, no_rng, NULL, 2, NONE, 0, 1);
	SELECT(POLICY_ROUND_ROBIN, "hello", -1, no_rng, NULL, 0, NONE);
	/* bots answer no bot */
	SELECT(POLICY_ROUND_ROBIN, "hello", 0, no_rng, NULL, 8, NONE);
	SELECT(POLICY_ROUND_ROBIN, "@eli hi", 2, no_rng, NULL, 8, NONE);
}

static void
test_mentions_policy(void **state)
{
	(void)state;
	SELECT(POLICY_MENTIONS, "@dice-bot roll, @eliza listen", -1, no_rng, NULL, 8, NONE, 1, 0);
	SELECT(POLICY_MENTIONS, "nobody named", -1, no_rng, NULL, 8, NONE);
	SELECT(POLICY_MENTIONS, "@eli @eliza @deep_thought", -1, no_rng, NULL, 2, NONE, 3, 0);
	/* a bot's mentions pull nobody in */
	SELECT(POLICY_MENTIONS, "@dice-bot roll", 0, no_rng, NULL, 8, NONE);
}

static void
test_natural_mentioned_first(void **state)
{
	(void)state;
	/* dice-bot is mentioned; then Eliza (0.4 < 0.5) yes, Deep_Thought
	 * (0.95 >= 0.9) no, Eli (0.05 < 0.1) yes */
	const double vals[] = { 0.4, 0.95, 0.05 };
	struct script s = { vals, 3, 0.99, 0 };
	SELECT(POLICY_NATURAL, "@dice-bot hello", -1, scripted, &s, 8, NONE, 1, 0, 3);
	assert_int_equal(s.calls, 3);	/* once per bot not mentioned */
}

static void
test_natural_talkativeness(void **state)
{
	(void)state;
	/* the same draw 0.3 lets in exactly the bots above 0.3, in chat order */
	struct script s = { NULL, 0, 0.3, 0 };
	SELECT(POLICY_NATURAL, "hello all", -1, scripted, &s, 8, NONE, 0, 2);
	assert_int_equal(s.calls, 4);

	/* a draw equal to the talkativeness does not count */
	const double vals[] = { 0.5, 0.2, 0.9, 0.1 };
	struct script eq = { vals, 4, 0.99, 0 };
	SELECT(POLICY_NATURAL, "hello all", -1, scripted, &eq, 8, NONE, 2);
	assert_int_equal(eq.calls, 4);

	/* everyone keen */
	struct script zero = { NULL, 0, 0.0, 0 };
	SELECT(POLICY_NATURAL, "hello all", -1, scripted, &zero, 8, NONE, 0, 1, 2, 3);
}

static void
test_natural_at_least_one(void **state)
{
	(void)state;
	/* nobody picked: the most talkative (Deep_Thought) answers */
	struct script s = { NULL, 0, 0.999, 0 };
	SELECT(POLICY_NATURAL, "anyone?", -1, scripted, &s, 8, NONE, 2);
	assert_int_equal(s.calls, 4);

	/* the tie goes to the first in chat order */
	static const struct chat_bot tie[] = { { "a", 0.3 }, { "b", 0.7 }, { "c", 0.7 } };
	size_t out[4] = { SENTINEL, SENTINEL, SENTINEL, SENTINEL };
	struct script s2 = { NULL, 0, 0.999, 0 };
	size_t got = policy_select(POLICY_NATURAL, tie, 3, "hm", -1, scripted, &s2, out, 4);
	assert_int_equal(got, 1);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], SENTINEL);

	/* all silent bots (talkativeness 0): still one, the first */
	static const struct chat_bot mute[] = { { "a", 0.0 }, { "b", 0.0 } };
	struct script s3 = { NULL, 0, 0.0, 0 };
	got = policy_select(POLICY_NATURAL, mute, 2, "hm", -1, scripted, &s3, out, 4);
	assert_int_equal(got, 1);
	assert_int_equal(out[0], 0);

	/* no bots, or no room: nobody */
	struct script s4 = { NULL, 0, 0.999, 0 };
	assert_int_equal(policy_select(POLICY_NATURAL, bots, 0, "hm", -1, scripted, &s4, out, 4), 0);
	SELECT(POLICY_NATURAL, "anyone?", -1, scripted, &s4, 0, NONE);
}

static void
test_natural_bot_speaker(void **state)
{
	(void)state;
	/* only the bots it mentions, never itself, no rng and no fallback */
	SELECT(POLICY_NATURAL, "@eliza @dice-bot what now", 0, no_rng, NULL, 8, NONE, 1);
	SELECT(POLICY_NATURAL, "@Deep_Thought, @eli?", 1, no_rng, NULL, 8, NONE, 2, 3);
	SELECT(POLICY_NATURAL, "I talk to myself, @dice-bot", 1, no_rng, NULL, 8, NONE);
	SELECT(POLICY_NATURAL, "no one named", 2, no_rng, NULL, 8, NONE);
	SELECT(POLICY_NATURAL, "@eli @eliza @deep_thought", 3, no_rng, NULL, 8, NONE, 0, 2);
	/* the speaker naming itself first does not use up the room */
	SELECT(POLICY_NATURAL, "@eliza @dice-bot", 0, no_rng, NULL, 1, NONE, 1);
}

static void
test_natural_max(void **state)
{
	(void)state;
	/* mentions fill the room first */
	SELECT(POLICY_NATURAL, "@eli @eliza @dice-bot", -1, no_rng, NULL, 2, NONE, 3, 0);
	/* then the rng, and it is not asked once the room is full */
	struct script s = { NULL, 0, 0.0, 0 };
	SELECT(POLICY_NATURAL, "@deep_thought hi", -1, scripted, &s, 2, NONE, 2, 0);
	assert_int_equal(s.calls, 1);
	struct script s1 = { NULL, 0, 0.0, 0 };
	SELECT(POLICY_NATURAL, "hi", -1, scripted, &s1, 1, NONE, 0);
	assert_int_equal(s1.calls, 1);
	/* LIMIT_BOT_TURNS bounds a big chat */
	struct chat_bot many[20];
	char names[20][8];
	for (int i = 0; i < 20; i++) {
		names[i][0] = 'b';
		names[i][1] = (char)('a' + i);
		names[i][2] = '\0';
		many[i] = (struct chat_bot){ names[i], 1.0 };
	}
	size_t out[LIMIT_BOT_TURNS + 1];
	out[LIMIT_BOT_TURNS] = SENTINEL;
	struct script s2 = { NULL, 0, 0.5, 0 };
	size_t got = policy_select(POLICY_NATURAL, many, 20, "@bt @bs", -1, scripted, &s2,
	    out, LIMIT_BOT_TURNS);
	assert_int_equal(got, LIMIT_BOT_TURNS);
	assert_int_equal(out[0], 19);
	assert_int_equal(out[1], 18);
	for (size_t i = 2; i < LIMIT_BOT_TURNS; i++)
		assert_int_equal(out[i], i - 2);
	assert_int_equal(out[LIMIT_BOT_TURNS], SENTINEL);
	got = policy_select(POLICY_ROUND_ROBIN, many, 20, "", -1, no_rng, NULL, out,
	    LIMIT_BOT_TURNS);
	assert_int_equal(got, LIMIT_BOT_TURNS);
	assert_int_equal(out[LIMIT_BOT_TURNS], SENTINEL);
}

static void
test_manual(void **state)
{
	(void)state;
	SELECT(POLICY_MANUAL, "hello", -1, no_rng, NULL, 8, NONE);
	SELECT(POLICY_MANUAL, "@eliza @dice-bot", -1, no_rng, NULL, 8, NONE);
	SELECT(POLICY_MANUAL, "@eliza", 1, no_rng, NULL, 8, NONE);
}

/* Auto mode: one bot at a time, never a person's turn, the speaker last. */
static void
test_auto(void **state)
{
	(void)state;
	assert_int_equal(policy_auto(POLICY_ROUND_ROBIN, bots, NBOTS, "", -1, no_rng, NULL), 0);
	assert_int_equal(policy_auto(POLICY_ROUND_ROBIN, bots, NBOTS, "", 1, no_rng, NULL), 2);
	assert_int_equal(policy_auto(POLICY_ROUND_ROBIN, bots, NBOTS, "", 3, no_rng, NULL), 0);
	assert_int_equal(policy_auto(POLICY_MENTIONS, bots, NBOTS, "@Eli, @eliza", 0, no_rng,
	    NULL), 3);
	assert_int_equal(policy_auto(POLICY_MENTIONS, bots, NBOTS, "nobody", 0, no_rng, NULL), -1);
	assert_int_equal(policy_auto(POLICY_MANUAL, bots, NBOTS, "@Eli", 0, no_rng, NULL), -1);
	assert_int_equal(policy_auto(POLICY_ROUND_ROBIN, bots, 0, "", -1, no_rng, NULL), -1);
	/* natural: the named first; else drawn by talkativeness, never the speaker */
	assert_int_equal(policy_auto(POLICY_NATURAL, bots, NBOTS, "@dice-bot", 0, no_rng, NULL), 1);
	const double low[] = { 0.0 }, high[] = { 0.999 };
	struct script s1 = { low, 1, 0, 0 }, s2 = { high, 1, 0, 0 };
	assert_int_equal(policy_auto(POLICY_NATURAL, bots, NBOTS, "hm", 0, scripted, &s1), 1);
	assert_int_equal(policy_auto(POLICY_NATURAL, bots, NBOTS, "hm", 3, scripted, &s2), 2);
	/* a lone bot goes on by itself */
	assert_int_equal(policy_auto(POLICY_NATURAL, bots, 1, "hm", 0, scripted, &s2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_parse),
		cmocka_unit_test(test_mentions_basic),
		cmocka_unit_test(test_mentions_whole_names),
		cmocka_unit_test(test_mentions_punctuation),
		cmocka_unit_test(test_mentions_not_emails),
		cmocka_unit_test(test_mentions_order_and_duplicates),
		cmocka_unit_test(test_mentions_max),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_mentions_policy),
		cmocka_unit_test(test_natural_mentioned_first),
		cmocka_unit_test(test_natural_talkativeness),
		cmocka_unit_test(test_natural_at_least_one),
		cmocka_unit_test(test_natural_bot_speaker),
		cmocka_unit_test(test_natural_max),
		cmocka_unit_test(test_manual),
		cmocka_unit_test(test_auto),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
