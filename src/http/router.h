/*
 * router.h - matches a request path against a table of patterns. A pattern
 * is a literal path in which "*" stands for one non-empty segment (no '/');
 * matched segments are captured in order. Each route lists the methods it
 * answers, so a known path with another method is a 405 with Allow. Pure.
 */
#ifndef PARLEY_ROUTER_H
#define PARLEY_ROUTER_H
#include <stddef.h>

struct buf;
struct exchange;

/* Request methods; the values are evhttp's (checked in exchange.c). */
enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_POST = 1 << 1,
	HTTP_HEAD = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_DELETE = 1 << 4,
	HTTP_OPTIONS = 1 << 5,
	HTTP_PATCH = 1 << 8,
};

#define ROUTE_MAX_PARAMS	2
#define ROUTE_PARAM_MAX		64	/* bytes; longer segments never match */
#define ROUTE_MAX_METHODS	4

struct route_params {
	char	 seg[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX + 1];
	int	 n;
};

/* A handler: answers x (exchange.h), now or later; ctx is the table's. */
typedef void (*route_fn)(struct exchange *x, void *ctx);

/* What a route is, for the checks before its handler (api/access.c). */
enum route_flags {
	ROUTE_OPEN = 1 << 0,	/* answered without signing in */
	ROUTE_AT_ONCE = 1 << 1,	/* answered from memory: never waits for the services */
};

struct route {
	const char *pattern;
	struct {
		enum http_method method;
		route_fn fn;
	} methods[ROUTE_MAX_METHODS];
	unsigned	 flags;		/* enum route_flags */
};

/* Index of the first route whose pattern matches path, or -1; fills params. */
int		 router_match(const struct route *routes, size_t n, const char *path,
		    struct route_params *params);
/* The route's handler for method (HEAD uses GET's), or NULL. */
route_fn	 router_handler(const struct route *route, enum http_method method);
/* Appends the route's methods as an Allow header value ("GET, HEAD, POST"). */
void		 router_allow(const struct route *route, struct buf *out);

#endif
