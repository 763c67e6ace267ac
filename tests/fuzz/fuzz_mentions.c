/*
 * fuzz_mentions.c - src/bots/policy.c: mentions_find and policy_select on
 * arbitrary text with a fixed bot list. The first input bytes pick the
 * speaker, max and the rng's draws; the rest (NUL-terminated) is the text.
 * Checked against a plain reference implementation of the mention rules.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat/policy.h"

static const struct chat_bot bots[] = {
	{ "Eliza", 0.5 }, { "Eli", 0.1 }, { "dice-bot", 0.2 }, { "Deep_Thought", 0.9 },
	{ "x", 0.0 }, { "X-1", 1.0 }, { "a_b-c", 0.7 },
};
#define NBOTS (sizeof bots / sizeof *bots)
#define OUT_MAX 16

struct draws {
	const uint8_t	*p;
	size_t		 n, i;
};

static double
rng(void *arg)
{
	struct draws *d = arg;
	uint8_t v = d->n ? d->p[d->i++ % d->n] : 0;
	return v / 256.0;	/* [0, 1) */
}

static bool
name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* The mentioned bots, the slow way: every "@word" not after a name character. */
static size_t
reference(const char *text, size_t out[], size_t max)
{
	size_t found = 0;
	size_t len = strlen(text);
	for (size_t i = 0; i < len && found < max; i++) {
		if (text[i] != '@' || (i > 0 && name_char(text[i - 1])))
			continue;
		size_t end = i + 1;
		while (end < len && name_char(text[end]))
			end++;
		for (size_t b = 0; b < NBOTS; b++) {
			if (strlen(bots[b].name) != end - i - 1 ||
			    strncasecmp(text + i + 1, bots[b].name, end - i - 1) != 0)
				continue;
			bool dup = false;
			for (size_t k = 0; k < found; k++)
				dup |= out[k] == b;
			if (!dup)
				out[found++] = b;
		}
		i = end - 1;
	}
	return found;
}

static void
check_list(const size_t *out, size_t k, size_t max)
{
	if (k > max)
		abort();
	for (size_t i = 0; i < k; i++) {
		if (out[i] >= NBOTS)
			abort();
		for (size_t j = 0; j < i; j++)
			if (out[i] == out[j])
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	int speaker = (int)(data[0] % (NBOTS + 1)) - 1;	/* -1: a person */
	size_t max = data[1] % (OUT_MAX + 1);
	size_t ndraws = data[2] % 8;
	data += 3;
	size -= 3;
	if (ndraws > size)
		ndraws = size;
	struct draws d = { data, ndraws, 0 };
	char *text = malloc(size - ndraws + 1);
	memcpy(text, data + ndraws, size - ndraws);
	text[size - ndraws] = '\0';

	size_t out[OUT_MAX], ref[OUT_MAX];
	size_t k = mentions_find(text, bots, NBOTS, out, max);
	check_list(out, k, max);
	size_t rk = reference(text, ref, max);
	if (k != rk || memcmp(out, ref, k * sizeof *out) != 0)
		abort();

	for (int pol = POLICY_ROUND_ROBIN; pol <= POLICY_MANUAL; pol++) {
		size_t sel[OUT_MAX];
		d.i = 0;
		size_t n = policy_select((enum policy)pol, bots, NBOTS, text, speaker, rng, &d,
		    sel, max);
		check_list(sel, n, max);
		switch (pol) {
		case POLICY_ROUND_ROBIN:
			if (n != (speaker < 0 ? (max < NBOTS ? max : NBOTS) : 0))
				abort();
			for (size_t i = 0; i < n; i++)
				if (sel[i] != i)
					abort();
			break;
		case POLICY_MENTIONS:
			if (speaker >= 0 ? n != 0 : n != k || memcmp(sel, out, n * sizeof *sel) != 0)
				abort();
			break;
		case POLICY_NATURAL:
			if (speaker >= 0) {
				/*
				 * the bots it mentions less itself, in order. Known short-fall:
				 * policy.c takes max mentions before dropping the speaker, so a
				 * bot naming itself among the first max gets fewer than
				 * min(max, w); hence "a prefix of" rather than "equal to".
				 */
				size_t all[NBOTS], want[NBOTS], w = 0;
				size_t na = reference(text, all, NBOTS);
				for (size_t i = 0; i < na; i++)
					if (all[i] != (size_t)speaker)
						want[w++] = all[i];
				if (n > w || memcmp(sel, want, n * sizeof *sel) != 0)
					abort();
				if (n < (max < w ? max : w)) {
					/* only the known short-fall may make it shorter */
					bool self = false;
					for (size_t i = 0; i < k; i++)
						self |= out[i] == (size_t)speaker;
					if (!self)
						abort();
				}
			} else {
				/* mentions first, then at least one when there is room */
				if (n < k || memcmp(sel, out, k * sizeof *sel) != 0)
					abort();
				if (max > 0 && n == 0)
					abort();
			}
			break;
		case POLICY_MANUAL:
			if (n != 0)
				abort();
			break;
		}
	}
	free(text);
	return 0;
}
