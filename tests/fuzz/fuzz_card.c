/*
 * fuzz_card.c - card_read (src/chat/card.c), which reads character cards
 * people upload, JSON or PNG (libpng underneath): it returns a bot or NULL
 * with a 413, 422 or 500 problem and a UTF-8 detail, never anything else;
 * a bot's name is [A-Za-z0-9_-]{1,32}, its persona and greeting are UTF-8
 * within their caps; and the card card_write makes of that bot reads back
 * to the same bot. A PNG is tried twice: as it is, and with every chunk's
 * CRC made right, so that mutations reach past the CRC check.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/card.h"
#include "limits.h"
#include "util/problem.h"
#include "util/text.h"

#include <zlib.h>

static bool
valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > LIMIT_BOT_NAME_CHARS)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* The text of bot's key, which must be UTF-8 of at most max bytes. */
static const char *
text_of(json_t *bot, const char *key, size_t max)
{
	json_t *v = json_object_get(bot, key);
	if (!json_is_string(v))
		abort();
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n > max || !text_utf8_valid(s, n))
		abort();
	return s;
}

static void
check(const uint8_t *data, size_t size)
{
	struct problem p = { .status = 0, .detail = "" };
	json_t *bot = card_read(data, size, &p);
	if (bot == NULL) {
		if ((p.status != 413 && p.status != 422 && p.status != 500) ||
		    p.detail[0] == '\0' || !text_utf8_valid(p.detail, strlen(p.detail)))
			abort();
		return;
	}
	if (!json_is_object(bot) || json_object_size(bot) != 3 ||
	    !valid_name(text_of(bot, "name", LIMIT_BOT_NAME_CHARS)))
		abort();
	text_of(bot, "persona", LIMIT_PERSONA_BYTES);
	text_of(bot, "greeting", LIMIT_MESSAGE_BODY_BYTES);

	json_t *card = card_write(bot);
	char *dump = json_dumps(card, JSON_COMPACT);
	if (dump == NULL)
		abort();
	json_t *again = card_read(dump, strlen(dump), &p);
	if (again == NULL || !json_equal(bot, again))
		abort();
	json_decref(again);
	free(dump);
	json_decref(card);
	json_decref(bot);
}

static uint32_t
be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Sets the CRC of each whole chunk of the PNG d[0..n). */
static void
fix_crcs(uint8_t *d, size_t n)
{
	for (size_t off = 8; n - off >= 12 && be32(d + off) <= n - off - 12;
	    off += 12 + be32(d + off)) {
		uint32_t len = be32(d + off);
		uLong crc = crc32(crc32(0L, Z_NULL, 0), d + off + 4, len + 4);
		for (int i = 0; i < 4; i++)
			d[off + 8 + len + i] = (uint8_t)(crc >> (24 - 8 * i));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size);
	if (size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) {
		uint8_t *copy = malloc(size);
		if (copy == NULL)
			abort();
		memcpy(copy, data, size);
		fix_crcs(copy, size);
		check(copy, size);
		free(copy);
	}
	return 0;
}
