/*
 * card.c - character cards in and out; see card.h. Three parts: the card's
 * JSON and what a bot takes from it, the PNG (libpng reading from memory,
 * every chunk's CRC checked), and base64 (libcrypto's strict decoder).
 * Pure; libpng's errors come back by longjmp into png_scan only.
 */
#include "chat/card.h"
#include "limits.h"
#include "util/buf.h"
#include "util/problem.h"
#include "util/text.h"
#include "util/xmalloc.h"

#include <openssl/evp.h>

#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The card fields a bot is made of, in the order card_bot reads them. */
enum card_field {
	F_NAME, F_SYSTEM_PROMPT, F_DESCRIPTION, F_PERSONALITY, F_SCENARIO,
	F_MES_EXAMPLE, F_FIRST_MES, F_COUNT
};
static const char *const card_field_names[F_COUNT] = {
	"name", "system_prompt", "description", "personality", "scenario",
	"mes_example", "first_mes"
};

static const unsigned char png_signature[8] = {
	0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'
};

/* ---------------------------------------------------------------- JSON */

/*
 * True when the JSON text s[0..n) nests arrays and objects deeper than max.
 * Brackets inside strings do not count. Exact for valid JSON, and jansson
 * stops at the first byte that is not, so it never goes deeper than this.
 */
static bool
json_too_deep(const char *s, size_t n, int max)
{
	bool in_string = false;
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{') {
			if (++depth > max)
				return true;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return false;
}

/*
 * s[0..n) as a JSON object (a new reference), or NULL and a 422 whose
 * detail is "card: " and notjson when it is no JSON object.
 */
static json_t *
card_parse(const char *s, size_t n, const char *notjson, struct problem *p)
{
	json_error_t err;
	json_t *v;

	if (n == 0 || memchr(s, '\0', n) != NULL) {
		problem_set(p, 422, "card: %s", notjson);
		return NULL;
	}
	if (json_too_deep(s, n, LIMIT_CARD_DEPTH)) {
		problem_set(p, 422, "card: JSON nested too deeply");
		return NULL;
	}
	if ((v = json_loadb(s, n, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		/* jansson quotes the bytes it choked on, which may not be UTF-8 */
		if (text_utf8_valid(err.text, strlen(err.text)))
			problem_set(p, 422, "card: %s (%s)", notjson, err.text);
		else
			problem_set(p, 422, "card: %s (near byte %d)", notjson, err.position);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		problem_set(p, 422, "card: %s (not a JSON object)", notjson);
		return NULL;
	}
	return v;
}

/* Sets *out to the text of field (borrowed; "" when absent): 0, or -1 and a 422. */
static int
card_text(json_t *fields, const char *field, const char **out, struct problem *p)
{
	json_t *v = json_object_get(fields, field);

	*out = "";
	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		problem_set(p, 422, "%s: must be text", field);
		return -1;
	}
	*out = json_string_value(v);
	if (strlen(*out) != json_string_length(v)) {
		problem_set(p, 422, "%s: must be text without NUL", field);
		return -1;
	}
	return 0;
}

static bool
name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/*
 * Makes s a Parley bot name in out (LIMIT_BOT_NAME_CHARS + 1 bytes): each
 * run of characters a name cannot hold becomes one '_' (joining an '_'
 * beside it), '_' at either end goes, and it is cut to fit. Its length.
 */
static size_t
card_name(const char *s, char *out)
{
	size_t n = 0;
	bool gap = false;

	for (; *s != '\0'; s++) {
		if (!name_char(*s)) {
			gap = true;
			continue;
		}
		if (gap && n > 0 && out[n - 1] != '_' && *s != '_') {
			if (n == LIMIT_BOT_NAME_CHARS)
				break;
			out[n++] = '_';
		}
		gap = false;
		if (*s == '_' && n == 0)
			continue;
		if (n == LIMIT_BOT_NAME_CHARS)
			break;
		out[n++] = *s;
	}
	while (n > 0 && out[n - 1] == '_')
		n--;
	out[n] = '\0';
	return n;
}

/* Adds label and the trimmed text to the persona, a blank line before, unless it is blank. */
static void
persona_add(struct buf *b, const char *label, const char *text)
{
	char *t = text_trim(text);

	if (*t != '\0') {
		if (b->len > 0)
			buf_adds(b, "\n\n");
		buf_adds(b, label);
		buf_adds(b, t);
	}
	free(t);
}

/* The bot a card's fields make, a new {"name","persona","greeting"}; or NULL and a 422. */
static json_t *
card_bot(json_t *card, struct problem *p)
{
	const char *f[F_COUNT];
	char name[LIMIT_BOT_NAME_CHARS + 1];
	json_t *fields = json_object_get(card, "data");
	struct buf persona = BUF_INIT;
	json_t *bot = NULL;
	char *greeting;

	if (fields == NULL)
		fields = card;	/* a V1 card */
	else if (!json_is_object(fields)) {
		problem_set(p, 422, "data: must be an object");
		return NULL;
	}
	if (json_object_get(fields, "name") == NULL) {
		problem_set(p, 422, "name: required");
		return NULL;
	}
	for (int i = 0; i < F_COUNT; i++)
		if (card_text(fields, card_field_names[i], &f[i], p) == -1)
			return NULL;
	if (card_name(f[F_NAME], name) == 0) {
		problem_set(p, 422, "name: the card's name has no letters or digits Parley can use");
		return NULL;
	}

	persona_add(&persona, "", f[F_SYSTEM_PROMPT]);
	persona_add(&persona, "", f[F_DESCRIPTION]);
	persona_add(&persona, "Personality: ", f[F_PERSONALITY]);
	persona_add(&persona, "Scenario: ", f[F_SCENARIO]);
	persona_add(&persona, "Example dialogue:\n", f[F_MES_EXAMPLE]);
	greeting = text_trim(f[F_FIRST_MES]);
	if (persona.len > LIMIT_PERSONA_BYTES)
		problem_set(p, 422, "card: the character's text is longer than %d bytes",
		    LIMIT_PERSONA_BYTES);
	else if (strlen(greeting) > LIMIT_MESSAGE_BODY_BYTES)
		problem_set(p, 422, "first_mes: longer than %d bytes", LIMIT_MESSAGE_BODY_BYTES);
	else {
		bot = json_object();
		json_object_set_new(bot, "name", json_string(name));
		json_object_set_new(bot, "persona", json_string(persona.len ? persona.data : ""));
		json_object_set_new(bot, "greeting", json_string(greeting));
	}
	buf_free(&persona);
	free(greeting);
	return bot;
}

/* ---------------------------------------------------------------- base64 */

static bool
base64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=' ||
	    c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The bytes base64 text s stands for: a new buffer (free it) of *n bytes
 * and a NUL, or NULL and a 422 "card: bad base64". Line breaks and spaces
 * between the characters are allowed; anything else that is not base64
 * (libcrypto would stop quietly at a '-') and missing padding are not.
 */
static char *
base64_decode(const char *s, size_t *n, struct problem *p)
{
	size_t len = strlen(s);
	EVP_ENCODE_CTX *ctx;
	unsigned char *out;
	int got, last;

	for (size_t i = 0; i < len; i++)
		if (!base64_char(s[i])) {
			problem_set(p, 422, "card: bad base64");
			return NULL;
		}
	if (len > LIMIT_CARD_BYTES) {	/* libpng's chunk limit keeps it smaller */
		problem_set(p, 413, "card: larger than %d bytes", LIMIT_CARD_BYTES);
		return NULL;
	}
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL) {
		problem_set(p, 500, "card: out of memory");
		return NULL;
	}
	out = xmalloc((len + 3) / 4 * 3 + 1);
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &got, (const unsigned char *)s, (int)len) == -1 ||
	    EVP_DecodeFinal(ctx, out + got, &last) == -1) {
		EVP_ENCODE_CTX_free(ctx);
		free(out);
		problem_set(p, 422, "card: bad base64");
		return NULL;
	}
	EVP_ENCODE_CTX_free(ctx);
	*n = (size_t)got + (size_t)last;
	out[*n] = '\0';
	return (char *)out;
}

/* ---------------------------------------------------------------- PNG */

/* A PNG being read: libpng's state, the bytes and where it has got to. */
struct card_png {
	png_structp		 png;
	png_infop		 info;		/* the chunks before the image data */
	png_infop		 end;		/* and after it (where SillyTavern puts chara) */
	const unsigned char	*data;
	size_t			 len;
	size_t			 off;
	unsigned char		*row;		/* one row of pixels, read and dropped */
};

/* libpng's error handler: the problem for msg, then back to png_scan's setjmp. */
static void
png_fail(png_structp png, png_const_charp msg)
{
	struct problem *p = png_get_error_ptr(png);
	char tidy[64];
	size_t i;

	if (strstr(msg, "CRC error") != NULL)
		problem_set(p, 422, "card: PNG chunk CRC mismatch");
	else {
		/* libpng writes chunk names it does not like as [xx]; keep it ASCII anyway */
		for (i = 0; msg[i] != '\0' && i < sizeof tidy - 1; i++)
			tidy[i] = msg[i] >= ' ' && msg[i] < 0x7f ? msg[i] : '?';
		tidy[i] = '\0';
		problem_set(p, 422, "card: unreadable PNG (%s)", tidy);
	}
	png_longjmp(png, 1);
}

/* libpng's warnings (a benign error, a chunk it drops) are not worth a word. */
static void
png_quiet(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* libpng's read callback: the next n bytes of the card, or an error at its end. */
static void
png_source(png_structp png, png_bytep out, size_t n)
{
	struct card_png *r = png_get_io_ptr(png);

	if (n > r->len - r->off)
		png_error(png, "the file ends early");
	memcpy(out, r->data + r->off, n);
	r->off += n;
}

/*
 * Reads r's PNG to its end, every chunk's CRC checked and every pixel row
 * decoded (into one row buffer, thrown away), so that the text chunks on
 * both sides of the image data land in r->info and r->end. 0, or -1 with
 * the problem set by png_fail. Everything that outlives a longjmp is in *r;
 * the caller frees it.
 */
static int
png_scan(struct card_png *r)
{
	static const png_byte text_chunks[] = "tEXt\0zTXt\0iTXt";
	png_uint_32 height;
	int passes;

	if (setjmp(png_jmpbuf(r->png)))
		return -1;
	png_set_crc_action(r->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
	png_set_user_limits(r->png, LIMIT_CARD_PIXELS, LIMIT_CARD_PIXELS);
	png_set_chunk_malloc_max(r->png, LIMIT_CARD_BYTES);
	/*
	 * a card has a chunk or two of text; hundreds of compressed ones are a
	 * bomb (libpng keeps max - 2 of them)
	 */
	png_set_chunk_cache_max(r->png, LIMIT_CARD_TEXT_CHUNKS + 2);
	/* only the text chunks are decoded; the others are skipped (CRC still checked) */
	png_set_keep_unknown_chunks(r->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
	png_set_keep_unknown_chunks(r->png, PNG_HANDLE_CHUNK_AS_DEFAULT, text_chunks, 3);
	png_set_read_fn(r->png, r, png_source);

	png_read_info(r->png, r->info);
	passes = png_set_interlace_handling(r->png);
	png_read_update_info(r->png, r->info);
	height = png_get_image_height(r->png, r->info);
	r->row = xmalloc(png_get_rowbytes(r->png, r->info));
	for (int pass = 0; pass < passes; pass++)
		for (png_uint_32 y = 0; y < height; y++)
			png_read_row(r->png, r->row, NULL);
	png_read_end(r->png, r->end);
	return 0;
}

/* The text of the first "chara" text chunk in info (libpng's), or NULL. */
static const char *
png_chara(struct card_png *r, png_infop info)
{
	png_textp text;
	int n;

	if (png_get_text(r->png, info, &text, &n) == 0)
		return NULL;
	for (int i = 0; i < n; i++)
		if (strcmp(text[i].key, "chara") == 0)
			return text[i].text != NULL ? text[i].text : "";
	return NULL;
}

static uint32_t
be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/*
 * Checks what libpng would take on trust: that each chunk up to IEND fits
 * in the bytes left (libpng allocates a text chunk's declared length before
 * reading it, and a length past png_set_chunk_malloc_max is only a warning:
 * 200 bytes could ask for 2 GB), and that the image is at most
 * LIMIT_CARD_PIXELS a side (libpng's own limit says "Invalid IHDR data").
 * 0, or -1 and a 422.
 */
static int
png_precheck(const unsigned char *d, size_t len, struct problem *p)
{
	size_t off = sizeof png_signature;
	uint32_t n;

	for (;;) {
		if (len - off < 12 || (n = be32(d + off)) > len - off - 12) {
			problem_set(p, 422, "card: unreadable PNG (the file ends early)");
			return -1;
		}
		if (off == sizeof png_signature && n >= 8 && memcmp(d + off + 4, "IHDR", 4) == 0 &&
		    (be32(d + off + 8) > LIMIT_CARD_PIXELS || be32(d + off + 12) > LIMIT_CARD_PIXELS)) {
			problem_set(p, 422, "card: PNG larger than %dx%d pixels",
			    LIMIT_CARD_PIXELS, LIMIT_CARD_PIXELS);
			return -1;
		}
		if (memcmp(d + off + 4, "IEND", 4) == 0)
			return 0;
		off += 12 + (size_t)n;
	}
}

/* The card a PNG carries, a new JSON object; or NULL and a problem. */
static json_t *
card_read_png(const unsigned char *data, size_t len, struct problem *p)
{
	struct card_png r = { .data = data, .len = len };
	const char *chara;
	char *json = NULL;
	json_t *card = NULL;
	size_t n = 0;

	if (png_precheck(data, len, p) == -1)
		return NULL;
	r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, p, png_fail, png_quiet);
	if (r.png != NULL) {
		r.info = png_create_info_struct(r.png);
		r.end = png_create_info_struct(r.png);
	}
	if (r.png == NULL || r.info == NULL || r.end == NULL)
		problem_set(p, 500, "card: out of memory");
	else if (png_scan(&r) == 0) {
		if ((chara = png_chara(&r, r.info)) == NULL)
			chara = png_chara(&r, r.end);
		if (chara == NULL)
			problem_set(p, 422, "card: no chara text chunk");
		else
			json = base64_decode(chara, &n, p);
	}
	png_destroy_read_struct(&r.png, &r.info, &r.end);
	free(r.row);
	if (json != NULL)
		card = card_parse(json, n, "the chara text is not JSON", p);
	free(json);
	return card;
}

/* ---------------------------------------------------------------- API */

json_t *
card_read(const void *data, size_t len, struct problem *p)
{
	json_t *card, *bot;

	if (len > LIMIT_CARD_BYTES) {
		problem_set(p, 413, "card: larger than %d bytes", LIMIT_CARD_BYTES);
		return NULL;
	}
	if (len >= sizeof png_signature &&
	    memcmp(data, png_signature, sizeof png_signature) == 0)
		card = card_read_png(data, len, p);
	else
		card = card_parse(data, len, "not a PNG or JSON", p);
	if (card == NULL)
		return NULL;
	bot = card_bot(card, p);
	json_decref(card);
	return bot;
}

/* The bot's text for key, a new string ("" when it has none). */
static json_t *
bot_text(json_t *bot, const char *key)
{
	json_t *v = json_object_get(bot, key);

	return json_is_string(v) ? json_copy(v) : json_string("");
}

json_t *
card_write(json_t *bot)
{
	json_t *data = json_object();

	json_object_set_new(data, "name", bot_text(bot, "name"));
	json_object_set_new(data, "description", bot_text(bot, "persona"));
	json_object_set_new(data, "personality", json_string(""));
	json_object_set_new(data, "scenario", json_string(""));
	json_object_set_new(data, "first_mes", bot_text(bot, "greeting"));
	json_object_set_new(data, "mes_example", json_string(""));
	json_object_set_new(data, "creator_notes", json_string("Exported from Parley"));
	json_object_set_new(data, "system_prompt", json_string(""));
	json_object_set_new(data, "post_history_instructions", json_string(""));
	json_object_set_new(data, "alternate_greetings", json_array());
	json_object_set_new(data, "tags", json_array());
	json_object_set_new(data, "creator", json_string(""));
	json_object_set_new(data, "character_version", json_string(""));
	json_object_set_new(data, "extensions", json_object());
	return json_pack("{s:s, s:s, s:o}", "spec", "chara_card_v2",
	    "spec_version", "2.0", "data", data);
}
