/*
 * router.c - path patterns and method lookup; see router.h.
 */
#include "http/router.h"
#include "util/buf.h"

#include <string.h>

static const char *
method_name(enum http_method method)
{
	switch (method) {
	case HTTP_GET:	return "GET";
	case HTTP_POST:	return "POST";
	case HTTP_PATCH:	return "PATCH";
	case HTTP_DELETE:	return "DELETE";
	case HTTP_PUT:	return "PUT";
	default:		return NULL;
	}
}

static int
match_one(const char *pattern, const char *path, struct route_params *params)
{
	params->n = 0;
	while (*pattern && *path) {
		if (*pattern != '*') {
			if (*pattern++ != *path++)
				return 0;
			continue;
		}
		size_t len = strcspn(path, "/");
		if (len == 0 || len > ROUTE_PARAM_MAX || params->n == ROUTE_MAX_PARAMS)
			return 0;
		memcpy(params->seg[params->n], path, len);
		params->seg[params->n++][len] = '\0';
		path += len;
		pattern++;
	}
	return *pattern == '\0' && *path == '\0';
}

int
router_match(const struct route *routes, size_t n, const char *path,
    struct route_params *params)
{
	for (size_t i = 0; i < n; i++)
		if (match_one(routes[i].pattern, path, params))
			return (int)i;
	return -1;
}

route_fn
router_handler(const struct route *route, enum http_method method)
{
	if (method == HTTP_HEAD)
		method = HTTP_GET;
	for (int i = 0; i < ROUTE_MAX_METHODS && route->methods[i].fn; i++)
		if (route->methods[i].method == method)
			return route->methods[i].fn;
	return NULL;
}

void
router_allow(const struct route *route, struct buf *out)
{
	for (int i = 0; i < ROUTE_MAX_METHODS && route->methods[i].fn; i++) {
		const char *name = method_name(route->methods[i].method);
		if (name == NULL)
			continue;
		if (out->len > 0)
			buf_adds(out, ", ");
		buf_adds(out, name);
		if (route->methods[i].method == HTTP_GET)
			buf_adds(out, ", HEAD");
	}
}
