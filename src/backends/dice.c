/*
 * dice.c - dice expressions; see dice.h.
 */
#include "backends/dice.h"
#include "util/buf.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

struct dice_expr {
	unsigned	 count, sides;
	long		 bonus;
	size_t		 len;		/* characters of text it spans */
};

/* Reads up to max_digits digits into *out; returns how many were read. */
static size_t
read_number(const char *s, size_t max_digits, unsigned long *out)
{
	size_t n = 0;
	*out = 0;
	while (n < max_digits && isdigit((unsigned char)s[n]))
		*out = *out * 10 + (unsigned long)(s[n++] - '0');
	return n;
}

/* Parses an expression starting exactly at s; false when there is none. */
static bool
parse_expr(const char *s, struct dice_expr *e)
{
	unsigned long count, sides, bonus = 0;
	size_t i = read_number(s, 3, &count);
	if (i == 0)
		count = 1;
	if (s[i] != 'd' && s[i] != 'D')
		return false;
	i++;
	size_t n = read_number(s + i, 4, &sides);
	if (n == 0)
		return false;
	i += n;
	int sign = 0;
	if ((s[i] == '+' || s[i] == '-') && isdigit((unsigned char)s[i + 1])) {
		sign = s[i] == '+' ? 1 : -1;
		n = read_number(s + i + 1, 5, &bonus);
		i += 1 + n;
	}
	if (isalnum((unsigned char)s[i]) || count < 1 || count > LIMIT_DICE_COUNT ||
	    sides < 1 || sides > LIMIT_DICE_SIDES || bonus > LIMIT_DICE_BONUS)
		return false;
	*e = (struct dice_expr){ (unsigned)count, (unsigned)sides, sign * (long)bonus, i };
	return true;
}

/* Rolls e, appends "2d6+1: [3, 5] +1 = 9\n", returns the expression's total. */
static long
roll(struct buf *out, const char *text, const struct dice_expr *e, dice_rng_fn rng,
    void *state)
{
	long total = e->bonus;
	buf_add(out, text, e->len);
	buf_adds(out, ": [");
	for (unsigned k = 0; k < e->count; k++) {
		uint32_t v = rng(state, e->sides);
		total += (long)v;
		buf_printf(out, "%s%u", k ? ", " : "", v);
	}
	buf_adds(out, "]");
	if (e->bonus != 0)
		buf_printf(out, " %+ld", e->bonus);
	buf_printf(out, " = %ld\n", total);
	return total;
}

char *
dice_reply(const char *text, dice_rng_fn rng, void *state)
{
	struct buf out = BUF_INIT;
	long grand = 0;
	int rolled = 0;

	for (size_t i = 0; text[i] != '\0' && rolled < LIMIT_DICE_EXPRS; i++) {
		struct dice_expr e;
		if ((i > 0 && isalnum((unsigned char)text[i - 1])) || !parse_expr(text + i, &e))
			continue;
		grand += roll(&out, text + i, &e, rng, state);
		rolled++;
		i += e.len - 1;
	}
	if (rolled == 0)
		buf_adds(&out, "Give me dice to roll, like 2d6+1 or d20.");
	else
		buf_printf(&out, "= %ld", grand);
	return buf_steal(&out);
}
