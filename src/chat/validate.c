/*
 * validate.c - shared checks of the chat services; see validate.h.
 */
#include "chat/validate.h"
#include "limits.h"
#include "util/problem.h"
#include "util/text.h"
#include "util/xmalloc.h"

#include <stdlib.h>

char *
validate_text(json_t *v, const char *field, size_t max_chars, struct problem *p)
{
	if (!json_is_string(v)) {
		problem_set(p, 422, "%s: required, a string", field);
		return NULL;
	}
	const char *s = json_string_value(v);
	if (!text_utf8_valid(s, json_string_length(v))) {
		problem_set(p, 422, "%s: must be UTF-8 text without NUL", field);
		return NULL;
	}
	char *t = text_trim(s);
	size_t n = text_utf8_chars(t);
	if (n == 0 || n > max_chars) {
		problem_set(p, 422, "%s: must be 1 to %zu characters", field, max_chars);
		free(t);
		return NULL;
	}
	return t;
}

int
validate_store(struct store *st, enum store_status rc, const char *what, struct problem *p)
{
	if (rc == STORE_NOT_FOUND)
		problem_set(p, 404, "%s not found", what);
	else if (rc == STORE_CONFLICT)
		problem_set(p, 409, "name: a %s with that name exists", what);
	else if (rc == STORE_UNKNOWN)
		problem_set(p, 503, "the database connection broke as this was being stored: it may"
		    " have been stored; look before sending it again");
	else if (store_unreachable(st) || !store_available(st))
		problem_set(p, 503, "the database cannot be reached now; nothing was changed");
	else
		problem_set(p, 500, "the database failed; try again");
	return -1;
}

/* Message bodies keep their text as written, with line ends made LF. */
char *
validate_message_body(json_t *v, struct problem *p)
{
	if (!json_is_string(v)) {
		problem_set(p, 422, "body: required, a string");
		return NULL;
	}
	size_t len = json_string_length(v);
	const char *s = json_string_value(v);
	if (len > LIMIT_MESSAGE_BODY_BYTES) {
		problem_set(p, 413, "body: larger than %d bytes", LIMIT_MESSAGE_BODY_BYTES);
		return NULL;
	}
	if (!text_utf8_valid(s, len) || text_blank(s)) {
		problem_set(p, 422, "body: must be non-blank UTF-8 text without NUL");
		return NULL;
	}
	char *body = xmalloc(len + 1), *o = body;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '\r' && s[i + 1] == '\n'))
			*o++ = s[i] == '\r' ? '\n' : s[i];
	*o = '\0';
	return body;
}
