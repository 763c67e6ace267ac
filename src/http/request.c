/*
 * request.c - request parsing helpers; see request.h.
 */
#include "http/request.h"
#include "http/respond.h"
#include "limits.h"
#include "util/buf.h"
#include "util/text.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool
request_framing_ok(struct evhttp_request *req)
{
	const char *first = NULL;
	struct evkeyval *h;
	TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next) {
		if (strcasecmp(h->key, "Content-Length") != 0)
			continue;
		if (h->value[strspn(h->value, "0123456789")] != '\0' || h->value[0] == '\0' ||
		    (first != NULL && strcmp(first, h->value) != 0))
			return false;
		first = h->value;
	}
	return true;
}

size_t
request_header_bytes(struct evhttp_request *req)
{
	size_t n = strlen(evhttp_request_get_uri(req)) + 16;	/* method, version, CRLF */
	struct evkeyval *h;
	TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
		n += strlen(h->key) + strlen(h->value) + 4;
	return n;
}

/* Copies the body into out, NUL-terminated; -1 and p when over the limit. */
static int
read_body(struct evhttp_request *req, struct buf *out, struct problem *p)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len > LIMIT_BODY_BYTES) {
		problem_set(p, 413, "request body is larger than %d bytes", LIMIT_BODY_BYTES);
		return -1;
	}
	buf_reserve(out, len);
	evbuffer_copyout(in, out->data, len);
	out->len = len;
	out->data[len] = '\0';
	return 0;
}

json_t *
request_json_object(struct evhttp_request *req, struct problem *p)
{
	struct buf body = BUF_INIT;
	if (read_body(req, &body, p) != 0)
		return NULL;

	json_error_t err;
	json_t *v = json_loadb(body.data, body.len, JSON_REJECT_DUPLICATES, &err);
	buf_free(&body);
	if (v == NULL) {
		problem_set(p, 400, "malformed JSON: %s", err.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		problem_set(p, 400, "the body must be a JSON object");
		return NULL;
	}
	return v;
}

int
request_form(struct evhttp_request *req, struct evkeyvalq *fields, struct problem *p)
{
	struct buf body = BUF_INIT;
	TAILQ_INIT(fields);
	if (read_body(req, &body, p) != 0)
		return -1;
	if (strlen(body.data) != body.len || strcasestr(body.data, "%00") != NULL) {
		buf_free(&body);
		problem_set(p, 400, "form fields must not contain NUL bytes");
		return -1;
	}
	int rc = evhttp_parse_query_str(body.data, fields);
	buf_free(&body);
	if (rc != 0) {
		evhttp_clear_headers(fields);
		problem_set(p, 400, "malformed form body");
		return -1;
	}
	struct evkeyval *f;
	TAILQ_FOREACH(f, fields, next) {
		if (!text_utf8_valid(f->value, strlen(f->value))) {
			problem_set(p, 400, "form field '%s' is not valid UTF-8", f->key);
			evhttp_clear_headers(fields);
			return -1;
		}
	}
	return 0;
}

json_t *
form_string(struct evkeyvalq *fields, const char *name)
{
	const char *v = evhttp_find_header(fields, name);
	return v ? json_string(v) : NULL;
}

json_t *
form_strings(struct evkeyvalq *fields, const char *name)
{
	json_t *all = json_array();
	struct evkeyval *f;
	TAILQ_FOREACH(f, fields, next)
		if (strcmp(f->key, name) == 0)
			json_array_append_new(all, json_string(f->value));
	return all;
}

int
parse_u64(const char *s, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
request_query_u64(struct evhttp_request *req, const char *name, uint64_t *out)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (query == NULL)
		return 0;
	struct evkeyvalq params;
	if (evhttp_parse_query_str(query, &params) != 0)
		return 0;	/* a query libevent cannot read names no parameter */
	const char *v = evhttp_find_header(&params, name);
	int rc = v == NULL ? 0 : parse_u64(v, out) == 0 ? 1 : -1;
	evhttp_clear_headers(&params);
	return rc;
}

bool
request_is_htmx(struct evhttp_request *req)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), "HX-Request");
	return v != NULL && strcmp(v, "true") == 0;
}
