/*
 * app.h - the state one event loop serves requests with: its store, its hub
 * and the configuration. Handlers receive it as their context. Everything
 * here belongs to the loop's thread.
 */
#ifndef PARLEY_APP_H
#define PARLEY_APP_H
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct event_base;
struct hub;
struct page_cache;
struct posts;
struct server;
struct store;
struct turns;

struct app {
	const struct config	*cfg;
	struct event_base	*base;
	struct server		*server;
	struct store		*store;
	struct hub		*hub;
	struct turns		*turns;
	struct page_cache	*pages;		/* rendered chat pages */
	struct posts		*posts;		/* people's messages waiting for a commit */
	uint64_t		 bots_version;	/* bumped whenever a bot changes */
	bool			 stopping;	/* shutting down: no new streams */
};

#endif
