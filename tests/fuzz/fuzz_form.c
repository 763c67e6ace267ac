/*
 * fuzz_form.c - form_parse (src/http/form.c), the parser every form body
 * goes through: it succeeds with fields whose keys and values are set and
 * whose values are UTF-8 without NUL, or fails with a 400 problem and no
 * fields; a body with a NUL byte or "%00" always fails; the readers agree
 * with each other (form_get is the first of form_strings); form_free
 * leaves nothing behind.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/form.h"
#include "util/problem.h"
#include "util/text.h"

static void
check_fields(struct form *f)
{
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, &f->fields, next) {
		if (kv->key == NULL || kv->value == NULL ||
		    !text_utf8_valid(kv->value, strlen(kv->value)))
			abort();
		json_t *all = form_strings(f, kv->key), *first = form_string(f, kv->key);
		if (json_array_size(all) == 0 || first == NULL)
			abort();
		json_decref(all);
		json_decref(first);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct problem p = { .status = 0, .detail = "" };
	struct form f;
	if (form_parse(&f, body, size, &p) != 0) {
		if (p.status != 400 || !TAILQ_EMPTY(&f.fields))
			abort();
		return 0;
	}
	if (memchr(body, '\0', size) != NULL || memmem(body, size, "%00", 3) != NULL)
		abort();
	check_fields(&f);
	form_free(&f);
	if (!TAILQ_EMPTY(&f.fields))
		abort();
	return 0;
}
