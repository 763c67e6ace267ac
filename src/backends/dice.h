/*
 * dice.h - the dice bot's brain: finds every dice expression in a message
 * (NdM, dM, NdM+K, NdM-K), rolls it, and writes one line per roll and a last
 * line "= TOTAL". Pure: randomness comes from the caller's function.
 */
#ifndef PARLEY_DICE_H
#define PARLEY_DICE_H
#include <stdint.h>

#define DICE_MAX_EXPRS	20	/* expressions rolled per message */
#define DICE_MAX_COUNT	100	/* N */
#define DICE_MAX_SIDES	1000	/* M */
#define DICE_MAX_BONUS	10000	/* |K| */

/* Returns a uniform value in [1, sides]. */
typedef uint32_t (*dice_rng_fn)(void *state, uint32_t sides);

/* The reply to text (free it); a hint when text holds no dice expression. */
char	*dice_reply(const char *text, dice_rng_fn rng, void *state);

#endif
