/*
 * request.h - reading what a client sent: the body within its limit, a JSON
 * object, an urlencoded form, query numbers, and the header-size check.
 * Each function that can refuse fills a struct problem instead of
 * responding, so JSON and HTML routes answer in their own format. Pure
 * apart from reading the evhttp request.
 */
#ifndef PARLEY_REQUEST_H
#define PARLEY_REQUEST_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evhttp_request;
struct evkeyvalq;
struct problem;

/*
 * True when the body's framing is unambiguous: every Content-Length header
 * is plain digits, and all of them agree (RFC 9112 §6.3).
 */
bool	 request_framing_ok(struct evhttp_request *req);
/* Bytes of the request line and headers as sent (approximately, within a few bytes). */
size_t	 request_header_bytes(struct evhttp_request *req);
/* The body as a JSON object (new reference); NULL and p set otherwise. */
json_t	*request_json_object(struct evhttp_request *req, struct problem *p);
/* Parses an urlencoded body into fields (clear with evhttp_clear_headers); -1 and p. */
int	 request_form(struct evhttp_request *req, struct evkeyvalq *fields,
	    struct problem *p);
/* A form field as a JSON string (new reference), or NULL when absent. */
json_t	*form_string(struct evkeyvalq *fields, const char *name);
/* Every value of a repeated form field (checkboxes), as a JSON array of strings. */
json_t	*form_strings(struct evkeyvalq *fields, const char *name);
/*
 * Reads the query parameter name as a non-negative integer. Returns 0 when
 * absent (out unchanged), 1 when read, -1 when present but not such a number.
 */
int	 request_query_u64(struct evhttp_request *req, const char *name, uint64_t *out);
/* Parses a decimal, non-negative integer that fills all of s; -1 otherwise. */
int	 parse_u64(const char *s, uint64_t *out);
/* True when the client is htmx (HX-Request: true). */
bool	 request_is_htmx(struct evhttp_request *req);

#endif
