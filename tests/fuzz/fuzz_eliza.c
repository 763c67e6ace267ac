/*
 * fuzz_eliza.c - src/bots/eliza.c on arbitrary NUL-terminated text, at a
 * turn taken from the input. The reply is never empty and, being made of
 * templates and reflected ASCII words, is printable ASCII.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/eliza.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eliza_state st = { 0 };
	if (size >= 2) {
		st.turn = (unsigned)data[0] | (unsigned)data[1] << 8;
		if (data[0] & 1)
			st.turn |= 0xffff0000u;	/* near the wrap-around too */
		data += 2;
		size -= 2;
	}
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';

	unsigned before = st.turn;
	char *reply = eliza_reply(text, &st);
	if (reply == NULL || reply[0] == '\0' || st.turn != before + 1)
		abort();
	for (const char *c = reply; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			abort();
	free(reply);
	free(text);
	return 0;
}
