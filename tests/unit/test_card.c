/*
 * test_card.c - character cards (src/chat/card.c): card_write and card_read
 * round trips, V1 and V2 cards, the bot name made from a card's name, the
 * persona composed of its fields and its caps, the refusals (missing and
 * mistyped fields, deep and large input), and PNG cards built here with
 * libpng's writer: chara before or after the image data, interlaced,
 * compressed, a flipped byte (CRC), bad base64, no chara at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include <png.h>

#include "chat/card.h"
#include "util/problem.h"

/* ---------------------------------------------------------------- helpers */

/* card_read on a string, which must succeed: the bot (decref it). */
static json_t *
read_ok(const char *s)
{
	struct problem p = { 0 };
	json_t *bot = card_read(s, strlen(s), &p);
	if (bot == NULL)
		fail_msg("card_read refused %s: %d %s", s, p.status, p.detail);
	assert_true(json_is_object(bot));
	assert_int_equal(json_object_size(bot), 3);
	return bot;
}

/* card_read on data[0..len), which must refuse it: status, and a detail starting with want. */
static void
refuse_bytes(const void *data, size_t len, int status, const char *want)
{
	struct problem p = { 0 };
	json_t *bot = card_read(data, len, &p);
	if (bot != NULL)
		fail_msg("card_read took what it should refuse (%s)", want);
	assert_int_equal(p.status, status);
	if (strncmp(p.detail, want, strlen(want)) != 0)
		fail_msg("detail \"%s\", expected it to start \"%s\"", p.detail, want);
}

static void
refuse(const char *s, int status, const char *want)
{
	refuse_bytes(s, strlen(s), status, want);
}

static void
expect_bot(json_t *bot, const char *name, const char *persona, const char *greeting)
{
	assert_string_equal(json_string_value(json_object_get(bot, "name")), name);
	assert_string_equal(json_string_value(json_object_get(bot, "persona")), persona);
	assert_string_equal(json_string_value(json_object_get(bot, "greeting")), greeting);
}

/* The bot a V1 card {"name": name} makes: its name. */
static void
expect_name(const char *name, const char *want)
{
	json_t *card = json_pack("{s:s}", "name", name);
	char *s = json_dumps(card, 0);
	json_t *bot = read_ok(s);
	assert_string_equal(json_string_value(json_object_get(bot, "name")), want);
	json_decref(bot);
	free(s);
	json_decref(card);
}

/* s base64-encoded, a new string. */
static char *
base64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc((n + 2) / 3 * 4 + 1);
	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

/* ---------------------------------------------------------------- PNG writer */

struct mem {
	unsigned char	*data;
	size_t		 len;
};

static void
mem_write(png_structp png, png_bytep d, size_t n)
{
	struct mem *m = png_get_io_ptr(png);
	m->data = realloc(m->data, m->len + n);
	assert_non_null(m->data);
	memcpy(m->data + m->len, d, n);
	m->len += n;
}

static void
mem_flush(png_structp png)
{
	(void)png;
}

struct png_spec {
	const char	*key;		/* of the one text chunk, or NULL for none */
	const char	*text;
	enum { TEXT, ZTXT, ITXT, ITXT_Z } kind;	/* of the text chunk */
	bool		 before;	/* before the image data, not after it as SillyTavern does */
	bool		 interlace;
	png_uint_32	 width;		/* 3 when 0 */
	bool		 phys;		/* a pHYs chunk too */
};

/* A small RGB PNG as spec says, in memory (free it): *len bytes. */
static unsigned char *
make_png(const struct png_spec *spec, size_t *len)
{
	png_uint_32 width = spec->width ? spec->width : 3, height = 2;
	struct mem m = { NULL, 0 };
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	assert_non_null(png);
	png_infop info = png_create_info_struct(png), end = png_create_info_struct(png);
	assert_non_null(info);
	assert_non_null(end);
	png_bytep row = calloc(width, 3);
	assert_non_null(row);
	if (setjmp(png_jmpbuf(png)))
		fail_msg("libpng could not write the test image");

	png_set_write_fn(png, &m, mem_write, mem_flush);
	png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB,
	    spec->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (spec->phys)
		png_set_pHYs(png, info, 2835, 2835, PNG_RESOLUTION_METER);
	static const int compression[] = { PNG_TEXT_COMPRESSION_NONE,
	    PNG_TEXT_COMPRESSION_zTXt, PNG_ITXT_COMPRESSION_NONE, PNG_ITXT_COMPRESSION_zTXt };
	png_text t = { .compression = compression[spec->kind],
	    .key = (char *)spec->key, .text = (char *)spec->text };
	if (spec->key != NULL)
		png_set_text(png, spec->before ? info : end, &t, 1);
	png_write_info(png, info);
	int passes = png_set_interlace_handling(png);
	for (int pass = 0; pass < passes; pass++)
		for (png_uint_32 y = 0; y < height; y++) {
			for (png_uint_32 x = 0; x < width * 3; x++)
				row[x] = (png_byte)(x * 40 + y * 100);
			png_write_row(png, row);
		}
	png_write_end(png, end);	/* writes the end info's text after IDAT */
	png_destroy_info_struct(png, &end);
	png_destroy_write_struct(&png, &info);
	free(row);
	*len = m.len;
	return m.data;
}

static uint32_t
get32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The offset of the first chunk of type in png (its length field), or 0. */
static size_t
find_chunk(const unsigned char *png, size_t len, const char *type)
{
	for (size_t off = 8; off + 12 <= len; off += 12 + get32(png + off))
		if (memcmp(png + off + 4, type, 4) == 0)
			return off;
	return 0;
}

/* A PNG card whose chara chunk holds the card JSON json, base64-encoded. */
static unsigned char *
make_card_png(const char *json, struct png_spec spec, size_t *len)
{
	char *b64 = base64(json);
	spec.key = "chara";
	spec.text = b64;
	unsigned char *png = make_png(&spec, len);
	free(b64);
	return png;
}

static const char seraphina[] =
    "{\"spec\":\"chara_card_v2\",\"spec_version\":\"2.0\",\"data\":{"
    "\"name\":\"Seraphina\",\"description\":\"A guardian of the glade.\","
    "\"first_mes\":\"*{{char}} smiles at {{user}}.*\"}}";

/* card_read on a PNG, which must give Seraphina's bot. */
static void
expect_seraphina(const unsigned char *png, size_t len)
{
	struct problem p = { 0 };
	json_t *bot = card_read(png, len, &p);
	if (bot == NULL)
		fail_msg("card_read refused the PNG: %d %s", p.status, p.detail);
	expect_bot(bot, "Seraphina", "A guardian of the glade.", "*{{char}} smiles at {{user}}.*");
	json_decref(bot);
}

/* ---------------------------------------------------------------- JSON cards */

static void
test_write_shape(void **state)
{
	(void)state;
	json_t *bot = json_pack("{s:s, s:s, s:s}", "name", "Eliza",
	    "persona", "A therapist.", "greeting", "Hello.");
	json_t *card = card_write(bot);
	assert_non_null(card);
	assert_string_equal(json_string_value(json_object_get(card, "spec")), "chara_card_v2");
	assert_string_equal(json_string_value(json_object_get(card, "spec_version")), "2.0");
	json_t *data = json_object_get(card, "data");
	assert_true(json_is_object(data));
	assert_int_equal(json_object_size(data), 14);
	assert_string_equal(json_string_value(json_object_get(data, "name")), "Eliza");
	assert_string_equal(json_string_value(json_object_get(data, "description")), "A therapist.");
	assert_string_equal(json_string_value(json_object_get(data, "first_mes")), "Hello.");
	assert_string_equal(json_string_value(json_object_get(data, "creator_notes")),
	    "Exported from Parley");
	const char *empty[] = { "personality", "scenario", "mes_example", "system_prompt",
	    "post_history_instructions", "creator", "character_version" };
	for (size_t i = 0; i < sizeof empty / sizeof *empty; i++)
		assert_string_equal(json_string_value(json_object_get(data, empty[i])), "");
	assert_true(json_is_array(json_object_get(data, "alternate_greetings")));
	assert_int_equal(json_array_size(json_object_get(data, "alternate_greetings")), 0);
	assert_true(json_is_array(json_object_get(data, "tags")));
	assert_true(json_is_object(json_object_get(data, "extensions")));
	json_decref(card);

	/* a bot without a greeting */
	json_object_del(bot, "greeting");
	card = card_write(bot);
	assert_string_equal(json_string_value(json_object_get(json_object_get(card, "data"),
	    "first_mes")), "");
	json_decref(card);
	json_decref(bot);
}

static void
test_round_trip(void **state)
{
	(void)state;
	json_t *bot = json_pack("{s:s, s:s, s:s}", "name", "Seraphina_Vale",
	    "persona", "A guardian of the glade.\n\n{{char}} speaks softly to {{user}}; "
	    "<b>bold</b> & \"quoted\" \xe2\x80\x94 caf\xc3\xa9.",
	    "greeting", "*She smiles.* Welcome, {{user}}.");
	json_t *card = card_write(bot);
	char *s = json_dumps(card, JSON_INDENT(2));
	json_t *again = read_ok(s);
	assert_true(json_equal(bot, again));
	json_decref(again);

	/* and through a PNG, the chara chunk after the image as SillyTavern writes it */
	size_t len;
	unsigned char *png = make_card_png(s, (struct png_spec){ 0 }, &len);
	struct problem p = { 0 };
	again = card_read(png, len, &p);
	assert_non_null(again);
	assert_true(json_equal(bot, again));
	json_decref(again);
	free(png);

	/* an empty greeting stays empty */
	json_object_set_new(bot, "greeting", json_string(""));
	json_decref(card);
	free(s);
	card = card_write(bot);
	s = json_dumps(card, 0);
	again = read_ok(s);
	assert_true(json_equal(bot, again));
	json_decref(again);
	free(s);
	json_decref(card);
	json_decref(bot);
}

static void
test_v1_card(void **state)
{
	(void)state;
	json_t *bot = read_ok("{\"name\":\"Aria\",\"description\":\"  A bard.\\n\","
	    "\"personality\":\"cheerful, <i>loud</i>\",\"scenario\":\"A tavern.\","
	    "\"first_mes\":\"\\n*Aria tunes her lute.*\\n\","
	    "\"mes_example\":\"<START>\\n{{user}}: Hi\\n{{char}}: Hello!\"}");
	expect_bot(bot, "Aria",
	    "A bard.\n\n"
	    "Personality: cheerful, <i>loud</i>\n\n"
	    "Scenario: A tavern.\n\n"
	    "Example dialogue:\n<START>\n{{user}}: Hi\n{{char}}: Hello!",
	    "*Aria tunes her lute.*");
	json_decref(bot);

	/* the name alone is a card */
	bot = read_ok("{\"name\":\"Bob\"}");
	expect_bot(bot, "Bob", "", "");
	json_decref(bot);
}

static void
test_v2_card(void **state)
{
	(void)state;
	/* data wins over the V1 copies at the top, as SillyTavern writes both */
	json_t *bot = read_ok("{\"name\":\"Old\",\"description\":\"old\","
	    "\"spec\":\"chara_card_v2\",\"spec_version\":\"2.0\",\"data\":{"
	    "\"name\":\"New\",\"description\":\"Desc.\",\"personality\":\"  \","
	    "\"scenario\":\"\",\"system_prompt\":\"You are {{char}}.\","
	    "\"first_mes\":\"Hi.\",\"mes_example\":\"\",\"tags\":[\"a\"],"
	    "\"alternate_greetings\":[\"Yo.\"],\"extensions\":{\"x\":{\"y\":[1,2,null]}},"
	    "\"character_book\":{\"entries\":[]}}}");
	expect_bot(bot, "New", "You are {{char}}.\n\nDesc.", "Hi.");
	json_decref(bot);
}

static void
test_name(void **state)
{
	(void)state;
	expect_name("Seraphina Vale!", "Seraphina_Vale");
	expect_name("Eliza", "Eliza");
	expect_name("dice-bot_2", "dice-bot_2");
	expect_name("  --Zo\xc3\xab  the Great--  ", "--Zo_the_Great--");
	expect_name("___x___", "x");
	expect_name("a _ b", "a_b");
	expect_name("a_ b", "a_b");
	expect_name("!!Hi!!", "Hi");
	expect_name("Dr. Who?", "Dr_Who");
	expect_name("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", "abcdefghijklmnopqrstuvwxyzABCDEF");
	/* a cut that ends on the '_' of a gap drops it */
	expect_name("abcdefghijklmnopqrstuvwxyz01234 5678", "abcdefghijklmnopqrstuvwxyz01234");

	const char *none[] = { "", "   ", "!!!", "___", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" };
	for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
		json_t *card = json_pack("{s:s}", "name", none[i]);
		char *s = json_dumps(card, 0);
		refuse(s, 422, "name: the card's name has no letters or digits Parley can use");
		free(s);
		json_decref(card);
	}
}

static void
test_missing_name(void **state)
{
	(void)state;
	refuse("{}", 422, "name: required");
	refuse("{\"description\":\"x\"}", 422, "name: required");
	/* a V2 card reads data only */
	refuse("{\"name\":\"Top\",\"data\":{\"description\":\"x\"}}", 422, "name: required");
}

static void
test_not_text(void **state)
{
	(void)state;
	refuse("{\"name\":5}", 422, "name: must be text");
	refuse("{\"name\":null}", 422, "name: must be text");
	refuse("{\"name\":\"a\",\"description\":5}", 422, "description: must be text");
	refuse("{\"data\":{\"name\":\"a\",\"personality\":[]}}", 422, "personality: must be text");
	refuse("{\"name\":\"a\",\"scenario\":{}}", 422, "scenario: must be text");
	refuse("{\"name\":\"a\",\"system_prompt\":true}", 422, "system_prompt: must be text");
	refuse("{\"name\":\"a\",\"first_mes\":1.5}", 422, "first_mes: must be text");
	refuse("{\"name\":\"a\",\"mes_example\":false}", 422, "mes_example: must be text");
	refuse("{\"spec\":\"chara_card_v2\",\"data\":[]}", 422, "data: must be an object");
	/* fields Parley does not take may be anything */
	json_decref(read_ok("{\"name\":\"a\",\"tags\":5,\"creator\":null}"));
}

static void
test_not_json(void **state)
{
	(void)state;
	refuse("", 422, "card: not a PNG or JSON");
	refuse("hello", 422, "card: not a PNG or JSON");
	refuse("[1,2]", 422, "card: not a PNG or JSON");
	refuse("\"name\"", 422, "card: not a PNG or JSON");
	refuse("{\"name\":\"a\"", 422, "card: not a PNG or JSON");
	refuse("{\"name\":\"a\",\"name\":\"b\"}", 422, "card: not a PNG or JSON");
	refuse("{\"name\":\"a\\u0000b\"}", 422, "card: not a PNG or JSON");
	refuse_bytes("{\"name\":\"a\"}\0", 13, 422, "card: not a PNG or JSON");
	refuse("{\"name\":\"\xff\"}", 422, "card: not a PNG or JSON");
	/* the PNG signature cut short is not a PNG */
	refuse_bytes("\x89PNG\r\n\x1a", 7, 422, "card: not a PNG or JSON");
}

/* {"name":"x","extensions":[[...]]} with the arrays making depth levels in all. */
static char *
nested(int depth)
{
	static const char head[] = "{\"name\":\"x\",\"extensions\":";
	char *s = malloc(sizeof head + 2 * (size_t)depth + 1);
	assert_non_null(s);
	size_t n = sizeof head - 1;
	memcpy(s, head, n);
	for (int i = 1; i < depth; i++)
		s[n++] = '[';
	for (int i = 1; i < depth; i++)
		s[n++] = ']';
	strcpy(s + n, "}");
	return s;
}

static void
test_deep(void **state)
{
	(void)state;
	char *s = nested(40);
	refuse(s, 422, "card: JSON nested too deeply");
	free(s);
	s = nested(33);
	refuse(s, 422, "card: JSON nested too deeply");
	free(s);
	s = nested(LIMIT_CARD_DEPTH);
	json_decref(read_ok(s));
	free(s);
	/* brackets in strings are text */
	json_t *bot = read_ok("{\"name\":\"x\",\"description\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}");
	json_decref(bot);
}

static void
test_too_large(void **state)
{
	(void)state;
	size_t n = LIMIT_CARD_BYTES + 1;
	char *s = malloc(n);
	assert_non_null(s);
	memset(s, ' ', n);
	memcpy(s, "{\"name\":\"big\"}", 14);
	refuse_bytes(s, n, 413, "card: larger than");
	/* at the limit it is read */
	struct problem p = { 0 };
	json_t *bot = card_read(s, n - 1, &p);
	assert_non_null(bot);
	json_decref(bot);
	free(s);
}

/* A V1 card with field's text n bytes of c (as JSON). */
static char *
long_field(const char *field, size_t n)
{
	char *s = malloc(n + 64);
	assert_non_null(s);
	int k = sprintf(s, "{\"name\":\"x\",\"%s\":\"", field);
	memset(s + k, 'a', n);
	strcpy(s + k + n, "\"}");
	return s;
}

static void
test_caps(void **state)
{
	(void)state;
	char *s = long_field("description", 8000);
	json_decref(read_ok(s));
	free(s);
	s = long_field("description", 8001);
	refuse(s, 422, "card: the character's text is longer than 8000 bytes");
	free(s);
	/* the parts and their labels count together */
	s = long_field("personality", 8000 - strlen("Personality: "));
	json_decref(read_ok(s));
	free(s);
	s = long_field("personality", 8001 - strlen("Personality: "));
	refuse(s, 422, "card: the character's text is longer than 8000 bytes");
	free(s);
	s = long_field("first_mes", 16384);
	json_decref(read_ok(s));
	free(s);
	s = long_field("first_mes", 16385);
	refuse(s, 422, "first_mes: longer than 16384 bytes");
	free(s);
}

/* ---------------------------------------------------------------- PNG cards */

static void
test_png_after_idat(void **state)
{
	(void)state;
	size_t len;
	unsigned char *png = make_card_png(seraphina, (struct png_spec){ 0 }, &len);
	size_t text = find_chunk(png, len, "tEXt"), idat = find_chunk(png, len, "IDAT");
	assert_true(idat > 0 && text > idat);	/* the test means what it says */
	expect_seraphina(png, len);
	free(png);
}

static void
test_png_kinds(void **state)
{
	(void)state;
	const struct png_spec specs[] = {
		{ .before = true },
		{ .interlace = true },
		{ .interlace = true, .before = true, .width = 37 },
		{ .kind = ZTXT },
		{ .kind = ITXT },
		{ .kind = ITXT_Z, .before = true },
		{ .width = 4096 },
	};
	static const char *const types[] = { "tEXt", "zTXt", "iTXt", "iTXt" };
	for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
		size_t len;
		unsigned char *png = make_card_png(seraphina, specs[i], &len);
		size_t text = find_chunk(png, len, types[specs[i].kind]);
		size_t idat = find_chunk(png, len, "IDAT");
		assert_true(text > 0 && idat > 0);
		assert_true(specs[i].before ? text < idat : text > idat);
		expect_seraphina(png, len);
		free(png);
	}
}

static void
test_png_crc(void **state)
{
	(void)state;
	size_t len;
	unsigned char *png = make_card_png(seraphina, (struct png_spec){ 0 }, &len);
	size_t text = find_chunk(png, len, "tEXt");
	assert_true(text > 0);
	png[text + 8 + 10] ^= 0x01;	/* in the base64, past the keyword */
	refuse_bytes(png, len, 422, "card: PNG chunk CRC mismatch");
	png[text + 8 + 10] ^= 0x01;
	expect_seraphina(png, len);

	/* a critical chunk's CRC too */
	png[8 + 8 + 3] ^= 0x80;		/* IHDR's width */
	refuse_bytes(png, len, 422, "card: PNG chunk CRC mismatch");
	free(png);

	/* and a chunk Parley skips, and another text chunk */
	png = make_card_png(seraphina, (struct png_spec){ .phys = true }, &len);
	size_t phys = find_chunk(png, len, "pHYs");
	assert_true(phys > 0);
	expect_seraphina(png, len);
	png[phys + 8] ^= 0x01;
	refuse_bytes(png, len, 422, "card: PNG chunk CRC mismatch");
	free(png);
	struct png_spec spec = { .key = "Comment", .text = "hi", .before = true };
	png = make_png(&spec, &len);
	text = find_chunk(png, len, "tEXt");
	png[text + 8 + 1] ^= 0x20;
	refuse_bytes(png, len, 422, "card: PNG chunk CRC mismatch");
	free(png);
}

static void
test_png_bad_base64(void **state)
{
	(void)state;
	const char *bad[] = {
		"not base64!",
		"eyJuYW1lIjoiYSJ9-",		/* libcrypto would stop at '-' */
		"eyJuYW1lIjoiYSJ",		/* unpadded */
		"eyJuYW1lIjoiYSJ9=",		/* padding where none belongs */
		"eyJu=YW1lIjoiYSJ9",		/* data after the padding */
		"eyJuYW1lIjoiYSJ9\x01",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct png_spec spec = { .key = "chara", .text = bad[i] };
		size_t len;
		unsigned char *png = make_png(&spec, &len);
		refuse_bytes(png, len, 422, "card: bad base64");
		free(png);
	}

	/* base64 split into lines is fine */
	struct png_spec spec = { .key = "chara", .text = "eyJuYW1l\nIjoiYSJ9\r\n" };
	size_t len;
	unsigned char *png = make_png(&spec, &len);
	struct problem p = { 0 };
	json_t *bot = card_read(png, len, &p);
	assert_non_null(bot);
	expect_bot(bot, "a", "", "");
	json_decref(bot);
	free(png);

	/* good base64 of something that is not JSON */
	spec.text = "aGVsbG8=";
	png = make_png(&spec, &len);
	refuse_bytes(png, len, 422, "card: the chara text is not JSON");
	free(png);
}

static void
test_png_no_chara(void **state)
{
	(void)state;
	const struct png_spec specs[] = {
		{ .key = NULL },
		{ .key = "Comment", .text = "eyJuYW1lIjoiYSJ9" },
		{ .key = "Chara", .text = "eyJuYW1lIjoiYSJ9" },
	};
	for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
		size_t len;
		unsigned char *png = make_png(&specs[i], &len);
		refuse_bytes(png, len, 422, "card: no chara text chunk");
		free(png);
	}
}

static void
test_png_broken(void **state)
{
	(void)state;
	size_t len;
	unsigned char *png = make_card_png(seraphina, (struct png_spec){ 0 }, &len);
	/* cut anywhere: never read, never a leak */
	for (size_t n = 8; n < len; n++)
		refuse_bytes(png, n, 422, "card: ");
	refuse_bytes(png, len - 1, 422, "card: unreadable PNG (the file ends early)");

	/* a chunk that says it is longer than the file: refused before libpng allocates it */
	size_t text = find_chunk(png, len, "tEXt");
	assert_true(text > 0);
	memcpy(png + text, "\x40\x00\x00\x7a", 4);
	refuse_bytes(png, len, 422, "card: unreadable PNG (the file ends early)");
	memcpy(png + text, "\xff\xff\xff\xff", 4);
	refuse_bytes(png, len, 422, "card: unreadable PNG (the file ends early)");
	free(png);

	/* wider than Parley reads */
	png = make_card_png(seraphina, (struct png_spec){ .width = 4097 }, &len);
	refuse_bytes(png, len, 422, "card: PNG larger than 4096x4096 pixels");
	free(png);
	png = make_card_png(seraphina, (struct png_spec){ .width = 4097, .interlace = true }, &len);
	refuse_bytes(png, len, 422, "card: PNG larger than 4096x4096 pixels");
	free(png);

	/* what the chara chunk holds is a card like any other */
	png = make_card_png("{\"name\":\"!!\"}", (struct png_spec){ 0 }, &len);
	refuse_bytes(png, len, 422, "name: the card's name has no letters or digits");
	free(png);
	char *deep = nested(40);
	png = make_card_png(deep, (struct png_spec){ 0 }, &len);
	refuse_bytes(png, len, 422, "card: JSON nested too deeply");
	free(png);
	free(deep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_shape),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_v1_card),
		cmocka_unit_test(test_v2_card),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_missing_name),
		cmocka_unit_test(test_not_text),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_deep),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_png_after_idat),
		cmocka_unit_test(test_png_kinds),
		cmocka_unit_test(test_png_crc),
		cmocka_unit_test(test_png_bad_base64),
		cmocka_unit_test(test_png_no_chara),
		cmocka_unit_test(test_png_broken),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
