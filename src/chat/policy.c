/*
 * policy.c - mentions and turn policies; see policy.h.
 *
 * round-robin: every bot answers a person, in chat order; bots answer no bot.
 * mentions:    the bots a person @mentions, in mention order.
 * natural:     mentioned bots first, then each other bot with probability
 *              talkativeness, at least one; a bot's reply pulls in the bots
 *              it mentions (not itself).
 * manual:      nobody; bots speak when asked through /turn.
 * Auto mode picks one bot at a time after the bots have answered (policy_auto).
 */
#include "chat/policy.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *const names[] = { "round-robin", "mentions", "natural", "manual" };

int
policy_parse(const char *name, enum policy *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum policy)i;
			return 0;
		}
	}
	return -1;
}

static bool
name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static bool
contains(const size_t *list, size_t n, size_t v)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

size_t
mentions_find(const char *text, const struct chat_bot *bots, size_t n, size_t out[], size_t max)
{
	size_t found = 0;
	for (const char *p = text; *p && found < max; p++) {
		if (*p != '@' || (p > text && name_char(p[-1])))
			continue;
		size_t len = 0;
		while (name_char(p[1 + len]))
			len++;
		for (size_t b = 0; b < n && len > 0; b++) {
			if (strlen(bots[b].name) == len && strncasecmp(p + 1, bots[b].name, len) == 0 &&
			    !contains(out, found, b)) {
				out[found++] = b;
				break;
			}
		}
		p += len;
	}
	return found;
}

/* Natural conversation: mentioned bots, then others by talkativeness, at least one. */
static size_t
select_natural(const struct chat_bot *bots, size_t n, const char *text, int speaker,
    policy_rng_fn rng, void *state, size_t out[], size_t max)
{
	size_t named[LIMIT_CHAT_BOTS], k = 0;
	size_t found = mentions_find(text, bots, n, named, LIMIT_CHAT_BOTS);
	/* a bot's reply pulls in only the bots it names, never itself */
	for (size_t i = 0; i < found && k < max; i++)
		if (speaker < 0 || named[i] != (size_t)speaker)
			out[k++] = named[i];
	if (speaker >= 0)
		return k;
	for (size_t b = 0; b < n && k < max; b++)
		if (!contains(out, k, b) && rng(state) < bots[b].talkativeness)
			out[k++] = b;
	if (k == 0 && n > 0 && max > 0) {
		/* nobody felt like talking: the most talkative bot answers */
		size_t best = 0;
		for (size_t b = 1; b < n; b++)
			if (bots[b].talkativeness > bots[best].talkativeness)
				best = b;
		out[k++] = best;
	}
	return k;
}

size_t
policy_select(enum policy policy, const struct chat_bot *bots, size_t n, const char *text,
    int speaker, policy_rng_fn rng, void *state, size_t out[], size_t max)
{
	size_t k = 0;
	if (n > LIMIT_CHAT_BOTS)
		n = LIMIT_CHAT_BOTS;
	switch (policy) {
	case POLICY_ROUND_ROBIN:
		for (size_t b = 0; speaker < 0 && b < n && k < max; b++)
			out[k++] = b;
		return k;
	case POLICY_MENTIONS:
		return speaker < 0 ? mentions_find(text, bots, n, out, max) : 0;
	case POLICY_NATURAL:
		return select_natural(bots, n, text, speaker, rng, state, out, max);
	case POLICY_MANUAL:
		return 0;
	}
	return 0;
}

/* The first bot text mentions that is not the speaker, or -1. */
static int
first_mentioned(const struct chat_bot *bots, size_t n, const char *text, int speaker)
{
	size_t named[LIMIT_CHAT_BOTS];
	size_t found = mentions_find(text, bots, n, named, LIMIT_CHAT_BOTS);
	for (size_t i = 0; i < found; i++)
		if (speaker < 0 || named[i] != (size_t)speaker)
			return (int)named[i];
	return -1;
}

/* A bot drawn by talkativeness, not the speaker while there are others. */
static int
draw_talkative(const struct chat_bot *bots, size_t n, int speaker, policy_rng_fn rng,
    void *state)
{
	double total = 0;
	size_t candidates = 0;
	for (size_t b = 0; b < n; b++)
		if (n == 1 || (int)b != speaker) {
			total += bots[b].talkativeness;
			candidates++;
		}
	double at = rng(state) * (total > 0 ? total : (double)candidates);
	int last = -1;
	for (size_t b = 0; b < n; b++) {
		if (n > 1 && (int)b == speaker)
			continue;
		last = (int)b;
		at -= total > 0 ? bots[b].talkativeness : 1.0;
		if (at < 0)
			return last;
	}
	return last;
}

int
policy_auto(enum policy policy, const struct chat_bot *bots, size_t n, const char *text,
    int speaker, policy_rng_fn rng, void *state)
{
	if (n > LIMIT_CHAT_BOTS)
		n = LIMIT_CHAT_BOTS;
	if (n == 0)
		return -1;
	int named;
	switch (policy) {
	case POLICY_ROUND_ROBIN:
		return speaker < 0 ? 0 : (speaker + 1) % (int)n;
	case POLICY_MENTIONS:
		return first_mentioned(bots, n, text, speaker);
	case POLICY_NATURAL:
		named = first_mentioned(bots, n, text, speaker);
		return named >= 0 ? named : draw_talkative(bots, n, speaker, rng, state);
	case POLICY_MANUAL:
		return -1;
	}
	return -1;
}
