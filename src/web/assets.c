/*
 * assets.c - serving the embedded static files; see assets.h.
 */
#include "web/assets.h"
#include "http/exchange.h"
#include "http/respond.h"
#include "util/hash.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern const char asset_htmx_js[], asset_htmx_js_end[];
extern const char asset_sse_js[], asset_sse_js_end[];
extern const char asset_app_css[], asset_app_css_end[];
extern const char asset_app_js[], asset_app_js_end[];
extern const char asset_tabs_js[], asset_tabs_js_end[];
extern const char asset_unread_js[], asset_unread_js_end[];

struct asset {
	const char	*name;
	const char	*type;
	const char	*start, *end;
	char		 url[96];	/* filled on first use */
	char		 etag[20];
};

static struct asset assets[] = {
	{ "htmx.min.js", "text/javascript; charset=utf-8", asset_htmx_js, asset_htmx_js_end, "", "" },
	{ "sse.js", "text/javascript; charset=utf-8", asset_sse_js, asset_sse_js_end, "", "" },
	{ "app.css", "text/css; charset=utf-8", asset_app_css, asset_app_css_end, "", "" },
	{ "app.js", "text/javascript; charset=utf-8", asset_app_js, asset_app_js_end, "", "" },
	{ "tabs.js", "text/javascript; charset=utf-8", asset_tabs_js, asset_tabs_js_end, "", "" },
	{ "unread.js", "text/javascript; charset=utf-8", asset_unread_js, asset_unread_js_end, "",
	    "" },
};

/* Computes the asset's version (FNV-1a of its bytes) once. */
static struct asset *
asset_find(const char *name)
{
	for (size_t i = 0; i < sizeof assets / sizeof *assets; i++) {
		struct asset *a = &assets[i];
		if (strcmp(a->name, name) != 0)
			continue;
		if (a->etag[0] == '\0') {
			uint32_t h = hash_fnv1a(a->start, (size_t)(a->end - a->start));
			snprintf(a->etag, sizeof a->etag, "\"%08x\"", h);
			snprintf(a->url, sizeof a->url, "/static/%s?v=%08x", a->name, h);
		}
		return a;
	}
	return NULL;
}

const char *
asset_url(const char *name)
{
	struct asset *a = asset_find(name);
	return a ? a->url : "/static/missing";
}

void
assets_serve(struct exchange *x, void *ctx)
{
	(void)ctx;
	struct asset *a = asset_find(exchange_param(x, 0));
	if (a == NULL) {
		respond_error(x, 404, "no such static file");
		return;
	}
	exchange_add_header(x, "Cache-Control", "public, max-age=31536000, immutable");
	exchange_add_header(x, "ETag", a->etag);
	const char *inm = exchange_header(x, "If-None-Match");
	if (inm != NULL && strcmp(inm, a->etag) == 0) {
		respond_empty(x, 304);
		return;
	}
	exchange_add_header(x, "Content-Type", a->type);
	exchange_send_shared(x, 200, a->start, (size_t)(a->end - a->start), NULL, NULL);
}
