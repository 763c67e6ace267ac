/*
 * policy.h - who answers a message (SPEC §5): @mention parsing and the four
 * turn policies. Pure: randomness comes from the caller.
 */
#ifndef PARLEY_POLICY_H
#define PARLEY_POLICY_H
#include <stdbool.h>
#include <stddef.h>

#include "limits.h"

enum policy { POLICY_ROUND_ROBIN, POLICY_MENTIONS, POLICY_NATURAL, POLICY_MANUAL };

struct chat_bot {
	const char	*name;
	double		 talkativeness;		/* 0..1 */
};

/* Returns a uniform value in [0, 1). */
typedef double (*policy_rng_fn)(void *state);

int	 policy_parse(const char *name, enum policy *out);
/*
 * Indexes of the bots @mentioned in text (case-insensitive, whole names
 * only), in mention order, each once; returns how many (at most max).
 */
size_t	 mentions_find(const char *text, const struct chat_bot *bots, size_t n,
	    size_t out[], size_t max);
/*
 * Indexes of the bots that answer text, in speaking order. speaker is the
 * index of the bot that wrote it, or -1 for a person. Returns how many.
 */
size_t	 policy_select(enum policy policy, const struct chat_bot *bots, size_t n,
	    const char *text, int speaker, policy_rng_fn rng, void *state,
	    size_t out[], size_t max);

/*
 * Auto mode (SPEC 8): the one bot that answers text, the last reply, which
 * the bot at index speaker wrote (-1: a person), or -1 for none.
 * round-robin: the next bot in chat order; mentions: the first bot text
 * mentions; natural: that, else one by talkativeness (not the speaker
 * while there are others); manual: none.
 */
int	 policy_auto(enum policy policy, const struct chat_bot *bots, size_t n,
	    const char *text, int speaker, policy_rng_fn rng, void *state);

#endif
