/*
 * form.c - urlencoded form bodies; see form.h.
 */
#include "http/form.h"
#include "util/problem.h"
#include "util/text.h"
#include "util/xmalloc.h"

#include <event2/http.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
form_parse(struct form *f, const char *body, size_t len, struct problem *p)
{
	TAILQ_INIT(&f->fields);
	if (memchr(body, '\0', len) != NULL || memmem(body, len, "%00", 3) != NULL) {
		problem_set(p, 400, "form fields must not contain NUL bytes");
		return -1;
	}
	char *text = xstrndup(body, len);
	int rc = evhttp_parse_query_str(text, &f->fields);
	free(text);
	if (rc != 0) {
		form_free(f);
		problem_set(p, 400, "malformed form body");
		return -1;
	}
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, &f->fields, next) {
		if (!text_utf8_valid(kv->value, strlen(kv->value))) {
			problem_set(p, 400, "form field '%s' is not valid UTF-8", kv->key);
			form_free(f);
			return -1;
		}
	}
	return 0;
}

void
form_free(struct form *f)
{
	evhttp_clear_headers(&f->fields);
}

const char *
form_get(const struct form *f, const char *name)
{
	return evhttp_find_header(&f->fields, name);
}

json_t *
form_string(const struct form *f, const char *name)
{
	const char *v = form_get(f, name);
	return v ? json_string(v) : NULL;
}

json_t *
form_integer(const struct form *f, const char *name)
{
	const char *v = form_get(f, name);
	uint64_t n;
	if (v == NULL || *v == '\0')
		return NULL;
	return text_parse_u64(v, &n) == 0 && n <= INT32_MAX ? json_integer((json_int_t)n) :
	    json_string(v);
}

json_t *
form_strings(const struct form *f, const char *name)
{
	json_t *all = json_array();
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, &f->fields, next)
		if (strcmp(kv->key, name) == 0)
			json_array_append_new(all, json_string(kv->value));
	return all;
}
