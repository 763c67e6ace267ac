/*
 * respond.h - the answers handlers give: JSON, errors as {"detail": "..."},
 * HTML, redirects, bytes. Each sends and frees the exchange (exchange.h),
 * which counts it in parley_http_requests_total.
 */
#ifndef PARLEY_RESPOND_H
#define PARLEY_RESPOND_H
#include <jansson.h>
#include <stddef.h>

struct buf;
struct exchange;
struct problem;

/* Sends body (reference stolen) as JSON. */
void	 respond_json(struct exchange *x, int status, json_t *body);
/* Sends {"detail": "..."}. */
void	 respond_error(struct exchange *x, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* An operation's answer: rc 0, value (stolen) with status; else the problem. */
void	 respond_result(struct exchange *x, int rc, int status, json_t *value,
	    const struct problem *p);
/* An operation's answer without a body: rc 0, 204; else the problem. */
void	 respond_done(struct exchange *x, int rc, const struct problem *p);
/* Sends the problem as {"detail"}, with Retry-After when it says to wait. */
void	 respond_problem(struct exchange *x, const struct problem *p);
/* Adds Retry-After when p says to wait (for answers in other formats). */
void	 respond_retry_after(struct exchange *x, const struct problem *p);
void	 respond_bytes(struct exchange *x, int status, const char *content_type,
	    const void *data, size_t len);
void	 respond_html(struct exchange *x, int status, const struct buf *html);
void	 respond_redirect(struct exchange *x, const char *location);
void	 respond_empty(struct exchange *x, int status);

#endif
