/*
 * handlers.h - what every route handler (src/api/, src/web/) serves with:
 * the services, the hub for event streams, and the page cache. Built once
 * by main() and passed as the route table's context; handlers only read
 * it. Each service keeps its own state behind its own interface.
 */
#ifndef PARLEY_HANDLERS_H
#define PARLEY_HANDLERS_H
#include <stddef.h>

#include "config.h"

struct accounts;
struct bots;
struct catchup;
struct chats;
struct control;
struct hub;
struct members;
struct origin;
struct presence;
struct redis_bus;
struct page_cache;
struct store;

struct handlers {
	struct chats		*chats;
	struct control		*control;	/* edits, deletions, alternatives */
	struct bots		*bots;
	struct accounts		*accounts;
	struct members		*members;
	struct presence		*presence;	/* who has each chat open, who types */
	struct hub		*hub;
	struct catchup		*catchup;	/* what a stream's chats missed here */
	struct redis_bus	*redis;		/* the other nodes (--redis), or NULL */
	struct store		*store;		/* for /healthz only */
	struct origin		*origin;	/* the host names the server answers to */
	const struct config	*cfg;		/* --auth and its settings */
	struct page_cache	*pages;		/* rendered chat pages */
	unsigned		 keepalive_seconds;	/* streams' keepalive comments */
	size_t			 stream_buffer_bytes;	/* unsent output that cuts a stream off */
};

#endif
