/*
 * exchange.h - one HTTP request and its answer, as handlers see them. A
 * handler reads the method, path, route parameters, headers, query and body
 * here and answers through respond.h (or hands the connection over as an
 * event stream); it never sees evhttp. The server (server.c) creates an
 * exchange for each routed request; it lives until it is answered, at once
 * or later (a post is answered after its commit), and the answer frees it.
 * Owned by the server's loop.
 */
#ifndef PARLEY_EXCHANGE_H
#define PARLEY_EXCHANGE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "http/router.h"

struct cidr_list;
struct evhttp_request;
struct exchange;
struct form;
struct problem;
struct route;
struct route_params;
struct server;
struct sockaddr;
struct who;
struct buf;

/* ---- the request ---- */

enum http_method exchange_method(const struct exchange *x);
/* The path as sent, without the query. */
const char	*exchange_path(const struct exchange *x);
/* The i-th "*" segment of the route's pattern. */
const char	*exchange_param(const struct exchange *x, int i);
/* The first header called name (any case), or NULL. */
const char	*exchange_header(const struct exchange *x, const char *name);
/* The header called name when it came once, else NULL (absent, or sent more than once). */
const char	*exchange_header_once(const struct exchange *x, const char *name);
/* A request target in absolute form ("http://HOST[:PORT]/…"): its authority in buf; else NULL. */
const char	*exchange_target_host(const struct exchange *x, char *buf, size_t size);
/* The query parameter's decoded value, or NULL when absent or the query is unreadable. */
const char	*exchange_query(struct exchange *x, const char *name);
/* False when the query string is malformed, holds a NUL or invalid UTF-8 (a 400). */
bool		 exchange_query_valid(struct exchange *x);
/*
 * The query parameter as a non-negative integer: 0 when absent (out
 * unchanged), 1 when read, -1 when present but not such a number.
 */
int		 exchange_query_u64(struct exchange *x, const char *name, uint64_t *out);
/* The body (not NUL-terminated; len bytes, within LIMIT_BODY_BYTES). */
const char	*exchange_body(struct exchange *x, size_t *len);
size_t		 exchange_body_length(const struct exchange *x);
/* HTTP/1.1 or later (streams use chunked framing then). */
bool		 exchange_http11(const struct exchange *x);
/* The client is htmx (HX-Request: true). */
bool		 exchange_is_htmx(const struct exchange *x);
/* The value of the cookie called name, or NULL (points into a copy kept with x). */
const char	*exchange_cookie(struct exchange *x, const char *name);
/* The address the request came from (the connection's peer). */
const struct sockaddr *exchange_peer(const struct exchange *x);
/*
 * Who sent the request, as text: the peer's address, or when the peer is
 * in trusted (a reverse proxy), the client its X-Forwarded-For names
 * (cidr_forwarded_client), if it names one. Kept with x.
 */
const char	*exchange_client_text(struct exchange *x, const struct cidr_list *trusted);
/* The route's flags (router.h). */
unsigned	 exchange_route_flags(const struct exchange *x);
/* Who asks, as the checks before the handler found (access.c); set once. */
const struct who *exchange_who(const struct exchange *x);
void		 exchange_set_who(struct exchange *x, const struct who *who);
/* The body as a JSON object (request_parse_json); NULL and p otherwise. */
json_t		*exchange_json(struct exchange *x, struct problem *p);
/* The body as a form (form_parse; free it with form_free); -1 and p otherwise. */
int		 exchange_form(struct exchange *x, struct form *f, struct problem *p);

/* ---- the answer (respond.h builds on these) ---- */

void		 exchange_add_header(struct exchange *x, const char *name, const char *value);
/* Sends status with a copy of data[0..len) and frees the exchange. */
void		 exchange_send(struct exchange *x, int status, const void *data, size_t len);
/*
 * The same without copying: data stays valid until release(data, len, arg)
 * (which may run on the server's loop later; release may be NULL for static data).
 */
void		 exchange_send_shared(struct exchange *x, int status, const void *data,
		    size_t len, void (*release)(const void *, size_t, void *), void *arg);
/* The same with copies of head before and of tail after the shared bytes (each may be NULL). */
void		 exchange_send_around(struct exchange *x, int status, const struct buf *head,
		    const void *data, size_t len, void (*release)(const void *, size_t, void *),
		    void *arg, const struct buf *tail);
/*
 * Answers by taking the connection for an event stream: returns its socket
 * (non-blocking, the request read), now the caller's, and frees the
 * exchange; -1 when the client has left (the exchange freed too);
 * EXCHANGE_NO_DESCRIPTOR when out of file descriptors: nothing was taken,
 * the exchange is still to be answered.
 */
#define EXCHANGE_NO_DESCRIPTOR	(-2)
int		 exchange_take_socket(struct exchange *x);

/* ---- for the server ---- */

/* The reason phrase of an HTTP status ("Not Found"). */
const char	*http_reason(int status);
/* A Content-Type value is want (any case), with or without parameters; NULL is none. */
bool		 http_type_is(const char *type, const char *want);

struct exchange	*exchange_new(struct server *srv, struct evhttp_request *req,
		    const struct route *route, const struct route_params *params);

#endif
