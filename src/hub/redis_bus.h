/*
 * redis_bus.h - the bus between several nodes (SPEC §10): every event
 * goes to the streams here at once (the hub) and, through one Redis
 * channel, to every other node's hub, which puts each chat's durable events
 * back in id order (hub.h: a gap is read from PostgreSQL, the truth).
 * Redis only carries; what it loses is found again: after every reconnect
 * and every LIMIT_BUS_CHECK_SECONDS the chats with streams here are checked
 * against the store (the caller's `check`). hiredis has no timeouts, so a
 * heartbeat goes through Redis every LIMIT_BUS_TICK_MS: a node that does not hear
 * its own for LIMIT_BUS_SILENCE_MS reconnects, with backoff. Changes other
 * nodes keep in memory (chat settings, bots, sign-in failures) are told too.
 * Main loop only.
 */
#ifndef PARLEY_REDIS_BUS_H
#define PARLEY_REDIS_BUS_H
#include <stdbool.h>

#include "hub/bus.h"

struct event_base;
struct hub;
struct redis_bus;

/* What the bus tells the node it runs in. */
struct redis_bus_hooks {
	void		(*check)(void *arg);	/* bring every chat here up to the store */
	bus_changed_fn	 changed;		/* another node changed something */
	/* The people with the chat open on the node `origin` now (bus_ops.share_presence). */
	void		(*presence)(void *arg, const char *chat_id, const char *origin,
			    json_t *people);
	/* The turn flow of the chat, whose lease this node holds, was asked something. */
	void		(*turn)(void *arg, const char *chat_id);
	/* A sign-in on another node (bus_ops.sign_in). */
	void		(*sign_in)(void *arg, const char *name, const char *address, bool failed);
	/* A user renamed on another node (bus_ops.renamed). */
	void		(*renamed)(void *arg, const char *user_id, const char *name);
	/*
	 * The hash of this node's setup link while it waits for the first
	 * administrator (NULL: none); it goes round with each heartbeat, and
	 * setup_heard is told of the other nodes', so any node's link works on
	 * every node.
	 */
	const char	*(*setup_hash)(void *arg);
	void		(*setup_heard)(void *arg, const char *hash);
	void		*arg;
};

/*
 * A bus for node `node` to the Redis at url (redis://HOST[:PORT] or
 * unix:///PATH), on the channel of the deployment (store_deployment():
 * deployments sharing a Redis do not hear each other), delivering here
 * through hub. It connects in the background; NULL with *err (malloc'd)
 * for a malformed url.
 */
struct redis_bus	*redis_bus_new(struct event_base *base, const char *url,
			    const char *node, const char *deployment, struct hub *hub,
			    const struct redis_bus_hooks *hooks, char **err);
void			 redis_bus_free(struct redis_bus *rb);
struct bus		 redis_bus_bus(struct redis_bus *rb);
/* This process's name in turn leases (its node name and a random part). */
const char		*redis_bus_node_id(const struct redis_bus *rb);
/* True while events go to and come from the other nodes. */
bool			 redis_bus_up(const struct redis_bus *rb);


#endif
