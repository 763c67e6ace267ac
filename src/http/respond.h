/*
 * respond.h - every HTTP response Parley sends goes through here, so each is
 * counted in parley_http_requests_total and errors share one JSON shape.
 * Called by the route handlers on their event loop.
 */
#ifndef PARLEY_RESPOND_H
#define PARLEY_RESPOND_H
#include <jansson.h>
#include <stddef.h>

struct buf;
struct evhttp_request;

/* A refusal to report: status and a short human-readable detail. */
struct problem {
	int	 status;
	char	 detail[160];
};

void	 problem_set(struct problem *p, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Sends body (reference stolen) as JSON. */
void	 respond_json(struct evhttp_request *req, int status, json_t *body);
/* Sends {"detail": "..."}. */
void	 respond_error(struct evhttp_request *req, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 respond_problem(struct evhttp_request *req, const struct problem *p);
void	 respond_bytes(struct evhttp_request *req, int status, const char *content_type,
	    const void *data, size_t len);
void	 respond_html(struct evhttp_request *req, int status, const struct buf *html);
void	 respond_redirect(struct evhttp_request *req, const char *location);
void	 respond_empty(struct evhttp_request *req, int status);

#endif
