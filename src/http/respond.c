/*
 * respond.c - response helpers; see respond.h.
 */
#include "http/respond.h"
#include "http/exchange.h"
#include "util/buf.h"
#include "util/json_wire.h"
#include "util/problem.h"
#include "util/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
respond_bytes(struct exchange *x, int status, const char *content_type, const void *data,
    size_t len)
{
	exchange_add_header(x, "Content-Type", content_type);
	exchange_send(x, status, data, len);
}

void
respond_json(struct exchange *x, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_WIRE) : NULL;
	json_decref(body);
	if (text == NULL) {
		static const char failed[] = "{\"detail\":\"the response could not be written\"}";
		respond_bytes(x, 500, "application/json", failed, sizeof failed - 1);
		return;
	}
	respond_bytes(x, status, "application/json", text, strlen(text));
	free(text);
}

void
respond_error(struct exchange *x, int status, const char *fmt, ...)
{
	char detail[1024];	/* cut below, on a character boundary */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	detail[text_utf8_prefix(detail, strlen(detail), 255)] = '\0';
	respond_json(x, status, json_pack("{s:s}", "detail", detail));
}

void
respond_result(struct exchange *x, int rc, int status, json_t *value, const struct problem *p)
{
	if (rc == 0)
		respond_json(x, status, value);
	else
		respond_problem(x, p);
}

void
respond_done(struct exchange *x, int rc, const struct problem *p)
{
	if (rc == 0)
		respond_empty(x, 204);
	else
		respond_problem(x, p);
}

void
respond_retry_after(struct exchange *x, const struct problem *p)
{
	char seconds[16];
	if (p->retry_after > 0) {
		snprintf(seconds, sizeof seconds, "%u", p->retry_after);
		exchange_add_header(x, "Retry-After", seconds);
	}
}

void
respond_problem(struct exchange *x, const struct problem *p)
{
	respond_retry_after(x, p);
	respond_error(x, p->status, "%s", p->detail);
}

void
respond_html(struct exchange *x, int status, const struct buf *html)
{
	respond_bytes(x, status, "text/html; charset=utf-8", html->data ? html->data : "",
	    html->len);
}

void
respond_redirect(struct exchange *x, const char *location)
{
	exchange_add_header(x, "Location", location);
	exchange_send(x, 303, NULL, 0);
}

void
respond_empty(struct exchange *x, int status)
{
	exchange_send(x, status, NULL, 0);
}
