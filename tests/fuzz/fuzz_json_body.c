/*
 * fuzz_json_body.c - request_parse_json (src/http/request.c), the parser
 * every JSON request body goes through: it returns an object or NULL with a
 * 400 problem, never anything else; a body holding a NUL byte or bytes that
 * are not UTF-8 is refused; every string and key it hands back passes
 * text_utf8_valid (the handlers rely on it); and the object re-encodes to
 * JSON that loads again to an equal value.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"
#include "util/problem.h"
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
	struct problem p = { .status = 0, .detail = "" };
	json_t *v = request_parse_json((const char *)data, size, &p);
	if (v == NULL) {
		if (p.status != 400 || p.detail[0] == '\0' ||
		    !text_utf8_valid(p.detail, strlen(p.detail)))
			abort();
		return 0;
	}
	if (!json_is_object(v) || memchr(data, '\0', size) != NULL ||
	    !text_utf8_valid((const char *)data, size))
		abort();
	check_strings(v, 0);

	char *dump = json_dumps(v, JSON_COMPACT);
	if (dump == NULL || !text_utf8_valid(dump, strlen(dump)))
		abort();
	json_t *again = request_parse_json(dump, strlen(dump), &p);
	if (again == NULL || !json_equal(v, again))
		abort();
	json_decref(again);
	free(dump);
	json_decref(v);
	return 0;
}
