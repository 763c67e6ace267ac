/*
 * respond.c - response helpers; see respond.h.
 */
#include "http/respond.h"
#include "metrics.h"
#include "util/buf.h"
#include "util/json_wire.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default:  return status < 500 ? "Client Error" : "Server Error";
	}
}

static void
send_reply(struct evhttp_request *req, int status, struct evbuffer *body)
{
	metrics_count_http(status);
	evhttp_send_reply(req, status, reason_phrase(status), body);
}

/* Cuts s back to its last whole UTF-8 character (vsnprintf may have split one). */
static void
trim_utf8(char *s)
{
	size_t n = strlen(s), i = n;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;		/* continuation bytes of the last character */
	if (i == 0)
		return;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

void
problem_set(struct problem *p, int status, const char *fmt, ...)
{
	va_list ap;
	p->status = status;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof p->detail, fmt, ap);
	va_end(ap);
	trim_utf8(p->detail);
}

void
respond_bytes(struct evhttp_request *req, int status, const char *content_type,
    const void *data, size_t len)
{
	struct evbuffer *body = evbuffer_new();
	evbuffer_add(body, data, len);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", content_type);
	send_reply(req, status, body);
	evbuffer_free(body);
}

void
respond_json(struct evhttp_request *req, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_WIRE) : NULL;
	json_decref(body);
	if (text == NULL) {
		static const char failed[] = "{\"detail\":\"the response could not be written\"}";
		respond_bytes(req, 500, "application/json", failed, sizeof failed - 1);
		return;
	}
	respond_bytes(req, status, "application/json", text, strlen(text));
	free(text);
}

void
respond_error(struct evhttp_request *req, int status, const char *fmt, ...)
{
	char detail[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	trim_utf8(detail);
	respond_json(req, status, json_pack("{s:s}", "detail", detail));
}

void
respond_problem(struct evhttp_request *req, const struct problem *p)
{
	respond_error(req, p->status, "%s", p->detail);
}

void
respond_html(struct evhttp_request *req, int status, const struct buf *html)
{
	respond_bytes(req, status, "text/html; charset=utf-8", html->data ? html->data : "",
	    html->len);
}

void
respond_redirect(struct evhttp_request *req, const char *location)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
	send_reply(req, 303, NULL);
}

void
respond_empty(struct evhttp_request *req, int status)
{
	send_reply(req, status, NULL);
}
