/*
 * eliza.c - keyword rules, decomposition, reassembly, reflection; see eliza.h.
 *
 * Input is cut into clauses at . , ; ! ? and each clause lower-cased and
 * split into words (letters, digits, apostrophes; @mentions are dropped).
 * The highest-ranked keyword found (in the first clause that has it) picks
 * a rule; its first decomposition pattern that matches the clause wins. In patterns "*" matches any run
 * of words (also none); in reassemblies "(N)" is the N-th "*" reflected
 * ("my" becomes "your", "i am" becomes "you are", ...).
 */
#include "backends/eliza.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS	64
#define MAX_GROUPS	4

struct decomp {
	const char	*pattern;
	const char	*reassembly[4];
};

struct rule {
	const char	*keyword;
	int		 rank;
	struct decomp	 decomps[3];
};

static const struct rule rules[] = {
	{ "sorry", 0, { { "*", { "Please don't apologise.",
	    "Apologies are not necessary.", "What feelings do you have when you apologise?" } } } },
	{ "remember", 5, { { "* i remember *", { "Do you often think of (2)?",
	    "Does thinking of (2) bring anything else to mind?",
	    "Why do you remember (2) just now?" } },
	    { "* do you remember *", { "Did you think I would forget (2)?",
	    "What about (2)?", "You mentioned (2)." } } } },
	{ "dream", 3, { { "*", { "What does that dream suggest to you?",
	    "Do you dream often?", "Do you believe dreams have something to do with your problem?" } } } },
	{ "computer", 50, { { "*", { "Do computers worry you?",
	    "Why do you mention computers?", "What do you think machines have to do with your problem?" } } } },
	{ "bot", 50, { { "*", { "Do bots worry you?", "Are you talking about me in particular?",
	    "What do you think bots have to do with your problem?" } } } },
	{ "mother", 10, { { "* my mother *", { "Tell me more about your family.",
	    "Who else in your family (2)?", "What else comes to mind when you think of your mother?" } },
	    { "*", { "Tell me more about your family." } } } },
	{ "father", 10, { { "*", { "Your father?", "Does he influence you strongly?",
	    "What else comes to mind when you think of your father?" } } } },
	{ "i", 1, { { "* i am *", { "Is it because you are (2) that you came to me?",
	    "How long have you been (2)?", "Do you believe it is normal to be (2)?",
	    "Do you enjoy being (2)?" } },
	    { "* i want *", { "What would it mean to you if you got (2)?",
	    "Why do you want (2)?", "Suppose you got (2) soon." } },
	    { "* i feel *", { "Tell me more about such feelings.", "Do you often feel (2)?",
	    "Do you enjoy feeling (2)?", "Of what does feeling (2) remind you?" } } } },
	{ "i'm", 1, { { "* i'm *", { "How long have you been (2)?",
	    "Why do you tell me you're (2)?", "Do you believe it is normal to be (2)?" } } } },
	{ "you", 2, { { "* you are *", { "What makes you think I am (2)?",
	    "Does it please you to believe I am (2)?", "Perhaps you would like to be (2)." } },
	    { "* you *", { "We were discussing you, not me.", "Oh, I (2)?",
	    "You're not really talking about me, are you?" } } } },
	{ "because", 4, { { "*", { "Is that the real reason?",
	    "Don't any other reasons come to mind?", "Does that reason seem to explain anything else?" } } } },
	{ "why", 3, { { "* why don't you *", { "Do you believe I don't (2)?",
	    "Perhaps I will (2) in good time.", "Should you (2) yourself?" } },
	    { "* why can't i *", { "Do you think you should be able to (2)?",
	    "Do you want to be able to (2)?", "Have you any idea why you can't (2)?" } },
	    { "*", { "Why do you ask?", "What is it you really want to know?" } } } },
	{ "yes", 1, { { "*", { "You seem quite positive.", "You are sure.", "I see.",
	    "I understand." } } } },
	{ "no", 1, { { "*", { "Are you saying no just to be negative?",
	    "You are being a bit negative.", "Why not?", "Why 'no'?" } } } },
	{ "always", 6, { { "*", { "Can you think of a specific example?", "When?",
	    "What incident are you thinking of?", "Really, always?" } } } },
	{ "hello", 0, { { "*", { "How do you do. Please state your problem.",
	    "Hi. What seems to be your problem?" } } } },
	{ "hi", 0, { { "*", { "Hi. What seems to be your problem?",
	    "How do you do. Please state your problem." } } } },
};

static const char *const fallbacks[] = {
	"Please go on.", "Tell me more about that.", "How does that make you feel?",
	"I see. And what does that suggest to you?", "Does talking about this bother you?",
};

static const struct {
	const char *from, *to;
} reflections[] = {
	{ "i", "you" }, { "me", "you" }, { "my", "your" }, { "mine", "yours" },
	{ "am", "are" }, { "i'm", "you're" }, { "myself", "yourself" }, { "you", "I" },
	{ "your", "my" }, { "yours", "mine" }, { "yourself", "myself" },
	{ "you're", "I'm" }, { "are", "am" }, { "was", "were" },
};

struct words {
	char	*w[MAX_WORDS];
	int	 n;
};

/* Letters, digits, apostrophes; an @ inside a word (x@y) is part of it. */
static bool
word_char(char c)
{
	return isalnum((unsigned char)c) || c == '\'' || c == '@';
}

static bool
name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Splits text[0..n) into lower-cased words, dropping @mentions; free with words_free(). */
static void
words_split(const char *text, size_t n, struct words *out)
{
	size_t i = 0;
	out->n = 0;
	while (i < n && out->n < MAX_WORDS) {
		if (text[i] == '@') {		/* a mention: the whole bot name goes */
			for (i++; i < n && name_char(text[i]); i++)
				;
			continue;
		}
		if (!word_char(text[i])) {
			i++;
			continue;
		}
		size_t len = 0;
		while (i + len < n && word_char(text[i + len]))
			len++;
		char *w = xstrndup(text + i, len);
		for (char *c = w; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		out->w[out->n++] = w;
		i += len;
	}
}

static void
words_free(struct words *ws)
{
	for (int i = 0; i < ws->n; i++)
		free(ws->w[i]);
	ws->n = 0;
}

/* Splits a pattern on spaces, keeping "*" as a word of its own. */
static void
pattern_split(const char *pattern, struct words *out)
{
	out->n = 0;
	while (*pattern && out->n < MAX_WORDS) {
		size_t len = strcspn(pattern, " ");
		if (len > 0)
			out->w[out->n++] = xstrndup(pattern, len);
		pattern += len + (pattern[len] == ' ');
	}
}

/* Matches pattern words p[pi..] against input words from wi; records "*" spans. */
static bool
match(const struct words *p, int pi, const struct words *in, int wi, int groups[][2], int g)
{
	if (pi == p->n)
		return wi == in->n;
	if (strcmp(p->w[pi], "*") == 0) {
		for (int end = in->n; end >= wi; end--) {
			groups[g][0] = wi;
			groups[g][1] = end;
			if (g + 1 < MAX_GROUPS && match(p, pi + 1, in, end, groups, g + 1))
				return true;
		}
		return false;
	}
	return wi < in->n && strcmp(p->w[pi], in->w[wi]) == 0 &&
	    match(p, pi + 1, in, wi + 1, groups, g);
}

static const char *
reflect(const char *word)
{
	for (size_t i = 0; i < sizeof reflections / sizeof *reflections; i++)
		if (strcmp(word, reflections[i].from) == 0)
			return reflections[i].to;
	return word;
}

static void
reassemble(struct buf *out, const char *tmpl, const struct words *in, int groups[][2])
{
	for (const char *t = tmpl; *t; t++) {
		int g = t[0] == '(' && t[1] >= '1' && t[1] <= '0' + MAX_GROUPS && t[2] == ')' ?
		    t[1] - '1' : -1;
		if (g >= 0) {
			for (int i = groups[g][0]; i < groups[g][1]; i++)
				buf_printf(out, "%s%s", i > groups[g][0] ? " " : "", reflect(in->w[i]));
			t += 2;
		} else
			buf_addc(out, *t);
	}
}

static const struct rule *
best_rule(const struct words *in)
{
	const struct rule *best = NULL;
	for (int i = 0; i < in->n; i++)
		for (size_t r = 0; r < sizeof rules / sizeof *rules; r++)
			if (strcmp(in->w[i], rules[r].keyword) == 0 &&
			    (best == NULL || rules[r].rank > best->rank))
				best = &rules[r];
	return best;
}

/* Tries the rule's decompositions in order; false when none matches. */
static bool
apply_rule(const struct rule *rule, const struct words *in, unsigned turn, struct buf *out)
{
	for (int d = 0; d < 3 && rule->decomps[d].pattern; d++) {
		struct words pat;
		int groups[MAX_GROUPS][2] = { { 0, 0 } };
		pattern_split(rule->decomps[d].pattern, &pat);
		bool ok = match(&pat, 0, in, 0, groups, 0);
		words_free(&pat);
		if (!ok)
			continue;
		const char *const *choices = rule->decomps[d].reassembly;
		int count = 0;
		while (count < 4 && choices[count])
			count++;
		reassemble(out, choices[turn % (unsigned)count], in, groups);
		return true;
	}
	return false;
}

char *
eliza_reply(const char *text, struct eliza_state *state)
{
	struct words in = { .n = 0 };
	struct buf out = BUF_INIT;
	const struct rule *rule = NULL;
	unsigned turn = state->turn++;

	/* the clause with the best keyword; the first one wins a tie */
	for (const char *clause = text; *clause;) {
		size_t len = strcspn(clause, ".,;!?");
		struct words ws;
		words_split(clause, len, &ws);
		const struct rule *r = best_rule(&ws);
		if (r != NULL && (rule == NULL || r->rank > rule->rank)) {
			words_free(&in);
			in = ws;
			rule = r;
		} else
			words_free(&ws);
		clause += len + (clause[len] != '\0');
	}
	if (rule == NULL || !apply_rule(rule, &in, turn, &out))
		buf_adds(&out, fallbacks[turn % (sizeof fallbacks / sizeof *fallbacks)]);
	words_free(&in);
	return buf_steal(&out);
}
