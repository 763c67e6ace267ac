/*
 * dice.h - the dice bot's brain: finds every dice expression in a message
 * (NdM, dM, NdM+K, NdM-K), rolls it, and writes one line per roll and a last
 * line "= TOTAL". Pure: randomness comes from the caller's function.
 */
#ifndef PARLEY_DICE_H
#define PARLEY_DICE_H
#include <stdint.h>

#include "limits.h"

/* Returns a uniform value in [1, sides]. */
typedef uint32_t (*dice_rng_fn)(void *state, uint32_t sides);

/* The reply to text (free it); a hint when text holds no dice expression. */
char	*dice_reply(const char *text, dice_rng_fn rng, void *state);

#endif
