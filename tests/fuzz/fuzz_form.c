/*
 * fuzz_form.c - what request_form (src/http/request.c) does to a form body:
 * libevent's evhttp_parse_query_str on a NUL-terminated copy, then
 * src/util/text.c text_utf8_valid on each value; the fields are cleared on
 * success and failure alike.
 */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "util/text.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size + 1);
	memcpy(body, data, size);
	body[size] = '\0';

	struct evkeyvalq fields;
	TAILQ_INIT(&fields);
	int rc = evhttp_parse_query_str(body, &fields);
	if (rc == 0) {
		struct evkeyval *f;
		TAILQ_FOREACH(f, &fields, next) {
			if (f->key == NULL || f->value == NULL)
				abort();
			size_t n = strlen(f->value);
			bool ok = text_utf8_valid(f->value, n);
			/* plain ASCII values are always fine */
			bool ascii = true;
			for (size_t i = 0; i < n; i++)
				ascii &= (unsigned char)f->value[i] < 0x80;
			if (ascii && !ok)
				abort();
			(void)evhttp_find_header(&fields, f->key);
		}
	}
	evhttp_clear_headers(&fields);
	if (!TAILQ_EMPTY(&fields))
		abort();
	free(body);
	return 0;
}
