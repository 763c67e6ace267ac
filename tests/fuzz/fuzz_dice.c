/*
 * fuzz_dice.c - src/bots/dice.c on arbitrary NUL-terminated text. The rng
 * checks its sides; the reply's line totals must add up to its last line.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/dice.h"

struct rng {
	uint64_t	 x;
	unsigned	 calls;
};

static uint32_t
rng(void *arg, uint32_t sides)
{
	struct rng *r = arg;
	if (sides < 1 || sides > LIMIT_DICE_SIDES)
		abort();
	if (++r->calls > LIMIT_DICE_EXPRS * LIMIT_DICE_COUNT)
		abort();
	r->x = r->x * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)((r->x >> 33) % sides) + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';

	struct rng r = { size, 0 };
	char *reply = dice_reply(text, rng, &r);
	if (reply == NULL)
		abort();
	if (r.calls == 0) {
		if (strcmp(reply, "Give me dice to roll, like 2d6+1 or d20.") != 0)
			abort();
	} else {
		/* "EXPR: [..] = N\n" lines, then "= TOTAL" */
		long sum = 0;
		int lines = 0;
		const char *p = reply;
		const char *nl;
		while ((nl = strchr(p, '\n')) != NULL) {
			const char *eq = nl;
			while (eq > p && eq[-1] != '=')
				eq--;
			if (eq == p || eq[0] != ' ')
				abort();
			sum += strtol(eq, NULL, 10);
			lines++;
			p = nl + 1;
		}
		if (lines < 1 || lines > LIMIT_DICE_EXPRS || strncmp(p, "= ", 2) != 0)
			abort();
		if (strtol(p + 2, NULL, 10) != sum)
			abort();
	}
	free(reply);
	free(text);
	return 0;
}
