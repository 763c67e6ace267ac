/*
 * assets.h - static files compiled into the binary (htmx, its SSE
 * extension, Parley's CSS and JS), served under /static/ with a content
 * hash for cache busting, so the binary runs from any directory.
 */
#ifndef PARLEY_ASSETS_H
#define PARLEY_ASSETS_H

#include "http/router.h"

/* The URL of a static asset with its version, e.g. "/static/app.css?v=1a2b3c4d". */
const char	*asset_url(const char *name);
void		 assets_serve(struct exchange *x, void *ctx);

#endif
