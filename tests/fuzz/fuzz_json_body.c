/*
 * fuzz_json_body.c - what request_json_object (src/http/request.c) does to
 * a request body: jansson's json_loadb with JSON_REJECT_DUPLICATES, then the
 * object check; plus src/util/text.c text_utf8_valid on the raw bytes. Every
 * string and key jansson hands back must pass text_utf8_valid (the handlers
 * rely on it), a body jansson accepts must be valid UTF-8 to text.c too
 * (but for NUL bytes: jansson 2.14 swallows a raw NUL right after a number,
 * so {"a":1<NUL>} loads; see regressions/fuzz_json_body/nul-after-number),
 * and a re-encoded document must load again to an equal value.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

static void
check_strings(json_t *v, int depth)
{
	if (depth > 4096)
		abort();
	if (json_is_string(v)) {
		if (!text_utf8_valid(json_string_value(v), json_string_length(v)))
			abort();
	} else if (json_is_object(v)) {
		const char *key;
		json_t *item;
		json_object_foreach(v, key, item) {
			if (!text_utf8_valid(key, strlen(key)))
				abort();
			check_strings(item, depth + 1);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item)
			check_strings(item, depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the raw bytes less any NULs */
	char *raw = malloc(size + 1);
	size_t rawlen = 0;
	for (size_t i = 0; i < size; i++)
		if (data[i] != 0)
			raw[rawlen++] = (char)data[i];
	bool utf8 = text_utf8_valid(raw, rawlen);
	free(raw);
	json_error_t err;
	json_t *v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
	if (v == NULL) {
		if (memchr(err.text, '\0', sizeof err.text) == NULL)
			abort();
		return 0;
	}
	if (!utf8)
		abort();
	check_strings(v, 0);
	(void)json_is_object(v);

	char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (dump == NULL)
		abort();
	if (!text_utf8_valid(dump, strlen(dump)))
		abort();
	json_t *again = json_loads(dump, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (again == NULL || !json_equal(v, again))
		abort();
	json_decref(again);
	free(dump);
	json_decref(v);
	return 0;
}
