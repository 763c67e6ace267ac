/*
 * exchange.c - a request and its answer over evhttp; see exchange.h. The
 * exchange wraps the evhttp request: headers are read from it, the body is
 * made contiguous in place, the answer goes out through evhttp_send_reply.
 */
#include "http/exchange.h"
#include "http/form.h"
#include "http/request.h"
#include "http/router.h"
#include "http/server.h"
#include "chat/who.h"
#include "limits.h"
#include "metrics.h"
#include "util/buf.h"
#include "util/cidr.h"
#include "util/problem.h"
#include "util/text.h"
#include "util/xmalloc.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

_Static_assert((int)HTTP_GET == (int)EVHTTP_REQ_GET && (int)HTTP_POST == (int)EVHTTP_REQ_POST &&
    (int)HTTP_HEAD == (int)EVHTTP_REQ_HEAD && (int)HTTP_PUT == (int)EVHTTP_REQ_PUT &&
    (int)HTTP_DELETE == (int)EVHTTP_REQ_DELETE &&
    (int)HTTP_OPTIONS == (int)EVHTTP_REQ_OPTIONS && (int)HTTP_PATCH == (int)EVHTTP_REQ_PATCH,
    "enum http_method mirrors evhttp_cmd_type");

struct exchange {
	struct server		*srv;
	struct evhttp_request	*req;
	struct route_params	 params;
	unsigned		 route_flags;
	struct evkeyvalq	 query;		/* parsed on first use */
	bool			 query_parsed;
	bool			 query_ok;	/* parsed, and well-formed */
	char			*cookies;	/* a copy of the Cookie header, cut up, or NULL */
	struct who		 who;
	char			 client[64];	/* exchange_client_text, once asked */
};

struct exchange *
exchange_new(struct server *srv, struct evhttp_request *req, const struct route *route,
    const struct route_params *params)
{
	struct exchange *x = xcalloc(1, sizeof *x);
	x->srv = srv;
	x->req = req;
	if (params != NULL)
		x->params = *params;
	x->route_flags = route ? route->flags : 0;
	TAILQ_INIT(&x->query);
	return x;
}

static void
exchange_free(struct exchange *x)
{
	evhttp_clear_headers(&x->query);
	free(x->cookies);
	explicit_bzero(x->who.credential, sizeof x->who.credential);
	free(x);
}

enum http_method
exchange_method(const struct exchange *x)
{
	return (enum http_method)evhttp_request_get_command(x->req);
}

const char *
exchange_path(const struct exchange *x)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(x->req));
	return path ? path : "/";
}

const char *
exchange_target_host(const struct exchange *x, char *buf, size_t size)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(x->req);
	const char *host = evhttp_uri_get_host(u);
	if (host == NULL)
		return NULL;
	int port = evhttp_uri_get_port(u);
	if (port >= 0)
		snprintf(buf, size, "%s:%d", host, port);
	else
		snprintf(buf, size, "%s", host);
	return buf;
}

const char *
exchange_param(const struct exchange *x, int i)
{
	return i < x->params.n ? x->params.seg[i] : "";
}

const char *
exchange_header(const struct exchange *x, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(x->req), name);
}

const char *
exchange_header_once(const struct exchange *x, const char *name)
{
	const char *value = NULL;
	struct evkeyval *h;
	TAILQ_FOREACH(h, evhttp_request_get_input_headers(x->req), next) {
		if (strcasecmp(h->key, name) != 0)
			continue;
		if (value != NULL)
			return NULL;
		value = h->value;
	}
	return value;
}

/* The query's parameters are parsed once, here; a malformed query has none. */
bool
exchange_query_valid(struct exchange *x)
{
	if (x->query_parsed)
		return x->query_ok;
	x->query_parsed = true;
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(x->req));
	x->query_ok = q == NULL || (evhttp_parse_query_str(q, &x->query) == 0 &&
	    strstr(q, "%00") == NULL);	/* a NUL would cut a value short */
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, &x->query, next)
		x->query_ok = x->query_ok && text_utf8_valid(kv->value, strlen(kv->value));
	if (!x->query_ok)
		evhttp_clear_headers(&x->query);
	return x->query_ok;
}

const char *
exchange_query(struct exchange *x, const char *name)
{
	exchange_query_valid(x);
	return evhttp_find_header(&x->query, name);
}

int
exchange_query_u64(struct exchange *x, const char *name, uint64_t *out)
{
	const char *v = exchange_query(x, name);
	return v == NULL ? 0 : text_parse_u64(v, out) == 0 ? 1 : -1;
}

const char *
exchange_body(struct exchange *x, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(x->req);
	*len = evbuffer_get_length(in);
	return *len ? (const char *)evbuffer_pullup(in, -1) : "";
}

size_t
exchange_body_length(const struct exchange *x)
{
	return evbuffer_get_length(evhttp_request_get_input_buffer(x->req));
}

bool
exchange_http11(const struct exchange *x)
{
	return x->req->major > 1 || (x->req->major == 1 && x->req->minor >= 1);
}

bool
exchange_is_htmx(const struct exchange *x)
{
	const char *v = exchange_header(x, "HX-Request");
	return v != NULL && strcmp(v, "true") == 0;
}

/* The next "name=value" of a Cookie header at *s (cut in place), or NULL. */
static char *
next_cookie(char **s, char **value)
{
	char *c = strsep(s, ";");
	if (c == NULL)
		return NULL;
	c += strspn(c, " ");
	char *eq = strchr(c, '=');
	*value = eq ? eq + 1 : c + strlen(c);
	if (eq != NULL)
		*eq = '\0';
	return c;
}

const char *
exchange_cookie(struct exchange *x, const char *name)
{
	const char *header = exchange_header(x, "Cookie");
	if (header == NULL)
		return NULL;
	free(x->cookies);
	x->cookies = xstrdup(header);
	char *rest = x->cookies, *value, *key;
	while ((key = next_cookie(&rest, &value)) != NULL)
		if (strcmp(key, name) == 0)
			return value;
	return NULL;
}

const struct sockaddr *
exchange_peer(const struct exchange *x)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(x->req);
	return evcon ? evhttp_connection_get_addr(evcon) : NULL;
}

/*
 * The client a trusted proxy names in X-Forwarded-For: the last such
 * headers, in order (a proxy adds its own after the client's; those a
 * client sends beyond them never push it out).
 */
static bool
forwarded_client(struct exchange *x, const struct cidr_list *trusted)
{
	enum { N = LIMIT_FORWARDED_HEADERS };
	const char *ring[N], *last[N];
	size_t seen = 0;
	struct evkeyval *h;
	TAILQ_FOREACH(h, evhttp_request_get_input_headers(x->req), next)
		if (strcasecmp(h->key, "X-Forwarded-For") == 0)
			ring[seen++ % N] = h->value;
	size_t n = seen < N ? seen : N;
	for (size_t i = 0; i < n; i++)
		last[i] = ring[(seen - n + i) % N];
	_Static_assert(sizeof x->client >= CIDR_TEXT_MAX, "room for an address");
	return cidr_forwarded_client(trusted, last, n, x->client);
}

const char *
exchange_client_text(struct exchange *x, const struct cidr_list *trusted)
{
	if (x->client[0] != '\0')
		return x->client;
	const struct sockaddr *peer = exchange_peer(x);
	if (peer != NULL && cidr_list_match(trusted, peer) && forwarded_client(x, trusted))
		return x->client;
	char *host = NULL;
	ev_uint16_t port = 0;
	struct evhttp_connection *evcon = evhttp_request_get_connection(x->req);
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &host, &port);
	snprintf(x->client, sizeof x->client, "%s", host ? host : "?");
	return x->client;
}

unsigned
exchange_route_flags(const struct exchange *x)
{
	return x->route_flags;
}

const struct who *
exchange_who(const struct exchange *x)
{
	return &x->who;
}

void
exchange_set_who(struct exchange *x, const struct who *who)
{
	x->who = *who;
}

json_t *
exchange_json(struct exchange *x, struct problem *p)
{
	size_t len;
	const char *body = exchange_body(x, &len);
	return request_parse_json(body, len, p);
}

int
exchange_form(struct exchange *x, struct form *f, struct problem *p)
{
	static const char urlencoded[] = "application/x-www-form-urlencoded";
	size_t len;
	const char *body = exchange_body(x, &len);
	if (len > 0 && !http_type_is(exchange_header_once(x, "Content-Type"), urlencoded)) {
		form_parse(f, "", 0, p);	/* empty */
		problem_set(p, 415, "a form is sent as %s", urlencoded);
		return -1;
	}
	return form_parse(f, body, len, p);
}

void
exchange_add_header(struct exchange *x, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(x->req), name, value);
}

bool
http_type_is(const char *type, const char *want)
{
	size_t n = strlen(want);
	return type != NULL && strncasecmp(type, want, n) == 0 &&
	    (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default:  return status < 500 ? "Client Error" : "Server Error";
	}
}

/*
 * Every answer: no content sniffing. A page also may not be framed, runs
 * only the server's own scripts and styles, and sends no referrer away.
 */
static void
add_security_headers(struct exchange *x)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(x->req);
	const char *type = evhttp_find_header(out, "Content-Type");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	if (type == NULL || strncmp(type, "text/html", 9) != 0)
		return;
	evhttp_add_header(out, "Content-Security-Policy", "default-src 'self'; "
	    "script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
	    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
	evhttp_add_header(out, "X-Frame-Options", "DENY");
	evhttp_add_header(out, "Referrer-Policy", "same-origin");
}

static void
send_buffer(struct exchange *x, int status, struct evbuffer *body)
{
	metrics_count_http(status);
	add_security_headers(x);
	if (exchange_method(x) == HTTP_HEAD && body != NULL) {
		/* the head of the answer GET would get, and no body (evhttp would send it) */
		char length[24];
		snprintf(length, sizeof length, "%zu", evbuffer_get_length(body));
		exchange_add_header(x, "Content-Length", length);
		body = NULL;
	}
	evhttp_send_reply(x->req, status, http_reason(status), body);
	exchange_free(x);
}

void
exchange_send(struct exchange *x, int status, const void *data, size_t len)
{
	if (len == 0) {
		send_buffer(x, status, NULL);
		return;
	}
	struct evbuffer *body = evbuffer_new();
	evbuffer_add(body, data, len);
	send_buffer(x, status, body);
	evbuffer_free(body);
}

static void
no_release(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	(void)arg;
}

void
exchange_send_around(struct exchange *x, int status, const struct buf *head, const void *data,
    size_t len, void (*release)(const void *, size_t, void *), void *arg, const struct buf *tail)
{
	struct evbuffer *body = evbuffer_new();
	if (head != NULL)
		evbuffer_add(body, head->data, head->len);
	evbuffer_add_reference(body, data, len, release ? release : no_release, arg);
	if (tail != NULL)
		evbuffer_add(body, tail->data, tail->len);
	send_buffer(x, status, body);
	evbuffer_free(body);
}

void
exchange_send_shared(struct exchange *x, int status, const void *data, size_t len,
    void (*release)(const void *, size_t, void *), void *arg)
{
	exchange_send_around(x, status, NULL, data, len, release, arg, NULL);
}

int
exchange_take_socket(struct exchange *x)
{
	int fd = server_take_socket(x->srv, x->req);
	if (fd == SERVER_NO_DESCRIPTOR)
		return EXCHANGE_NO_DESCRIPTOR;
	exchange_free(x);
	return fd;
}
