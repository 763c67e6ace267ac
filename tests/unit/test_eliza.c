/*
 * test_eliza.c - the therapist (src/bots/eliza.c): exact replies for a known
 * turn, keyword ranks, decomposition with wildcards, reflection, reassembly
 * cycling, fallbacks, dropped @mentions, clauses, and odd input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "backends/eliza.h"

/* The reply to text at the given turn; checks the turn advanced by one. */
static void
expect_at(unsigned turn, const char *text, const char *want)
{
	struct eliza_state st = { turn };
	char *got = eliza_reply(text, &st);
	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("turn %u, \"%s\":\n got \"%s\"\nwant \"%s\"", turn, text, got, want);
	free(got);
	assert_int_equal(st.turn, turn + 1);
}

static void
test_reflection(void **state)
{
	(void)state;
	expect_at(0, "I am sad about my job",
	    "Is it because you are sad about your job that you came to me?");
	expect_at(1, "I am sad about my job", "How long have you been sad about your job?");
	expect_at(0, "I feel I was wrong about myself",
	    "Tell me more about such feelings.");
	expect_at(1, "I feel I was wrong about myself",
	    "Do you often feel you were wrong about yourself?");
	expect_at(1, "I want all of yours and mine", "Why do you want all of mine and yours?");
	expect_at(0, "I think you are rude to me", "What makes you think I am rude to you?");
	expect_at(1, "I think you are mean to my friends",
	    "Does it please you to believe I am mean to your friends?");
	expect_at(1, "you like me", "Oh, I like you?");
	expect_at(1, "I'm tired of myself", "Why do you tell me you're tired of yourself?");
}

static void
test_cycling(void **state)
{
	(void)state;
	const char *text = "I am sad about my job";
	const char *want[] = {
		"Is it because you are sad about your job that you came to me?",
		"How long have you been sad about your job?",
		"Do you believe it is normal to be sad about your job?",
		"Do you enjoy being sad about your job?",
	};
	/* one state over many turns: the four reassemblies in order, then again */
	struct eliza_state st = { 0 };
	for (unsigned t = 0; t < 10; t++) {
		char *got = eliza_reply(text, &st);
		assert_string_equal(got, want[t % 4]);
		free(got);
		assert_int_equal(st.turn, t + 1);
	}
	/* a rule with three reassemblies cycles by three */
	expect_at(0, "my father", "Your father?");
	expect_at(1, "my father", "Does he influence you strongly?");
	expect_at(2, "my father", "What else comes to mind when you think of your father?");
	expect_at(3, "my father", "Your father?");
	/* a rule with a single reassembly always gives it */
	expect_at(0, "mother", "Tell me more about your family.");
	expect_at(7, "mother", "Tell me more about your family.");
	/* a huge turn number wraps without harm */
	expect_at(4294967294u, "my father", "What else comes to mind when you think of your father?");
	struct eliza_state st2 = { 4294967295u };
	char *got = eliza_reply("my father", &st2);
	assert_string_equal(got, "Your father?");	/* 4294967295 % 3 == 0 */
	assert_int_equal(st2.turn, 0);
	free(got);
}

static void
test_keyword_ranks(void **state)
{
	(void)state;
	/* computer (50) beats dream (3) and i (1), wherever it comes */
	expect_at(0, "I dream about my computer", "Do computers worry you?");
	expect_at(0, "computer dreams", "Do computers worry you?");
	/* remember (5) beats dream (3) and i (1) */
	expect_at(0, "I remember my dream", "Do you often think of your dream?");
	/* because (4) beats you (2) and i (1) */
	expect_at(0, "I left because you are cruel", "Is that the real reason?");
	/* father (10) beats always (6) */
	expect_at(0, "my father always shouts", "Your father?");
	/* always (6) beats why (3) */
	expect_at(0, "why do you always do that", "Can you think of a specific example?");
	/* you (2) beats i (1) */
	expect_at(0, "I know you are clever", "What makes you think I am clever?");
	/* a tie within a clause: the first keyword wins (yes and no are both 1) */
	expect_at(0, "yes or no", "You seem quite positive.");
	expect_at(0, "no or yes", "Are you saying no just to be negative?");
	/* a keyword must be a whole word */
	expect_at(0, "computers everywhere", "Please go on.");
	expect_at(0, "hiding", "Please go on.");
}

static void
test_decomposition(void **state)
{
	(void)state;
	/* two wildcards, the second one reassembled */
	expect_at(0, "do you remember the summer we met",
	    "Did you think I would forget the summer we met?");
	expect_at(1, "so do you remember the summer we met", "What about the summer we met?");
	expect_at(1, "well my mother cooks", "Who else in your family cooks?");
	/* the first wildcard is greedy: the last "i am" splits */
	expect_at(1, "I am what I am today", "How long have you been today?");
	/* an empty wildcard */
	expect_at(1, "I am", "How long have you been ?");
	/* the first matching decomposition of the rule wins */
	expect_at(0, "why don't you help me", "Do you believe I don't help you?");
	expect_at(1, "why don't you help me", "Perhaps I will help you in good time.");
	expect_at(2, "why can't I sleep", "Have you any idea why you can't sleep?");
	expect_at(0, "why is the sky blue", "Why do you ask?");
	/* "mother" without "my": the rule's catch-all */
	expect_at(1, "a mother knows", "Tell me more about your family.");
	/* a rule whose decompositions all fail falls back */
	expect_at(0, "I think so", "Please go on.");
	expect_at(2, "I think so", "How does that make you feel?");
}

static void
test_fallbacks(void **state)
{
	(void)state;
	const char *want[] = {
		"Please go on.", "Tell me more about that.", "How does that make you feel?",
		"I see. And what does that suggest to you?", "Does talking about this bother you?",
	};
	for (unsigned t = 0; t < 11; t++)
		expect_at(t, "The weather is nice today", want[t % 5]);
}

static void
test_mentions_dropped(void **state)
{
	(void)state;
	/* the mention is not part of any wildcard */
	expect_at(0, "@eliza I am tired", "Is it because you are tired that you came to me?");
	expect_at(0, "I am talking to @Dice now",
	    "Is it because you are talking to now that you came to me?");
	expect_at(1, "I am @eliza", "How long have you been ?");
	/* a name with - or _ goes whole: "@dice-bot" leaves no "bot" behind */
	expect_at(0, "I am talking to @dice-bot now",
	    "Is it because you are talking to now that you came to me?");
	expect_at(0, "@my_computer I am fine", "Is it because you are fine that you came to me?");
	/* nor a keyword: "@bot" is no "bot" (50), so hi (0) it is */
	expect_at(0, "hi @bot", "Hi. What seems to be your problem?");
	expect_at(0, "@computer @always", "Please go on.");
	/* but a word with @ inside is no mention */
	expect_at(1, "I am x@y", "How long have you been x@y?");
}

static void
test_clauses_and_punctuation(void **state)
{
	(void)state;
	/* the best keyword over all clauses, its own clause decomposed */
	expect_at(0, "I am happy. My computer is broken!", "Do computers worry you?");
	expect_at(0, "I am sad, because it rains", "Is that the real reason?");
	expect_at(0, "It rains; I am sad", "Is it because you are sad that you came to me?");
	expect_at(0, "I am very, very sad", "Is it because you are very that you came to me?");
	/* each of . , ; ! ? ends a clause */
	expect_at(0, "I am sad. yes", "Is it because you are sad that you came to me?");
	expect_at(0, "I am sad, yes", "Is it because you are sad that you came to me?");
	expect_at(0, "I am sad; yes", "Is it because you are sad that you came to me?");
	expect_at(0, "I am sad! yes", "Is it because you are sad that you came to me?");
	expect_at(0, "I am sad? yes", "Is it because you are sad that you came to me?");
	expect_at(0, "I am sad: yes", "Is it because you are sad yes that you came to me?");
	/* equal ranks: the first clause wins */
	expect_at(0, "I am sad. I am tired", "Is it because you are sad that you came to me?");
	expect_at(0, "Why? Why not!", "Why do you ask?");
	/* case and punctuation inside a clause */
	expect_at(0, "I AM SAD", "Is it because you are sad that you came to me?");
	expect_at(0, "  I   am\t\"sad\"  (really)  ",
	    "Is it because you are sad really that you came to me?");
	expect_at(0, "I am sad...!?", "Is it because you are sad that you came to me?");
	expect_at(1, "Hello, I am 42 years old",
	    "How long have you been 42 years old?");
}

static void
test_empty_input(void **state)
{
	(void)state;
	expect_at(0, "", "Please go on.");
	expect_at(1, "", "Tell me more about that.");
	expect_at(0, "   \t\n", "Please go on.");
	expect_at(0, "...!!!???,,,;;;", "Please go on.");
	expect_at(0, "@eliza", "Please go on.");
	expect_at(0, "\xc3\xa9\xe2\x82\xac", "Please go on.");
}

static void
test_long_input(void **state)
{
	(void)state;
	size_t n = 200000;
	char *big = malloc(n + 1);
	assert_non_null(big);
	struct eliza_state st = { 0 };

	/* one endless clause of "i am very very ..." */
	memcpy(big, "I am ", 5);
	for (size_t i = 5; i < n; i += 5)
		memcpy(big + i, "very ", n - i < 5 ? n - i : 5);
	big[n] = '\0';
	char *got = eliza_reply(big, &st);
	assert_non_null(got);
	assert_true(strncmp(got, "Is it because you are very very", 31) == 0);
	assert_true(strlen(got) < 4096);
	free(got);

	/* many clauses; the keyword in the last one */
	for (size_t i = 0; i < n; i += 2)
		memcpy(big + i, "a.", 2);
	memcpy(big + n - 9, " computer", 9);
	got = eliza_reply(big, &st);
	assert_string_equal(got, "Why do you mention computers?");	/* turn 1 */
	free(got);

	/* one enormous word, mentions, punctuation and high bytes */
	const char junk[] = "@x\xff\x80,;'aZ9 @";
	for (size_t i = 0; i < n; i++)
		big[i] = i < n / 2 ? 'w' : junk[i % (sizeof junk - 1)];
	got = eliza_reply(big, &st);
	assert_non_null(got);
	free(got);

	/* many wildcard splits: "you" again and again */
	for (size_t i = 0; i < n; i += 4)
		memcpy(big + i, "you ", 4);
	got = eliza_reply(big, &st);
	assert_non_null(got);
	free(got);
	assert_int_equal(st.turn, 4);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reflection),
		cmocka_unit_test(test_cycling),
		cmocka_unit_test(test_keyword_ranks),
		cmocka_unit_test(test_decomposition),
		cmocka_unit_test(test_fallbacks),
		cmocka_unit_test(test_mentions_dropped),
		cmocka_unit_test(test_clauses_and_punctuation),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_long_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
