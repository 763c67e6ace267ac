/*
 * request.c - JSON request bodies; see request.h.
 */
#include "http/request.h"
#include "util/problem.h"
#include "util/text.h"

#include <string.h>

json_t *
request_parse_json(const char *data, size_t len, struct problem *p)
{
	if (memchr(data, '\0', len) != NULL) {
		problem_set(p, 400, "malformed JSON: the body holds a NUL byte");
		return NULL;
	}
	json_error_t err;
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
	if (v == NULL) {
		if (json_error_code(&err) == json_error_null_character)
			problem_set(p, 400, "malformed JSON: a string holds \\u0000 (NUL)");
		/* jansson quotes the bytes it choked on, which may not be UTF-8 */
		else if (text_utf8_valid(err.text, strlen(err.text)))
			problem_set(p, 400, "malformed JSON: %s", err.text);
		else
			problem_set(p, 400, "malformed JSON near byte %d", err.position);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		problem_set(p, 400, "the body must be a JSON object");
		return NULL;
	}
	return v;
}
