/*
 * catchup.h - brings the streams of a chat on this node up to the store:
 * reads the durable events after the last one the hub delivered and hands
 * them to the hub, in order. The hub asks for it when ids are missing (an
 * event from another node overtook the ones before it, or one was lost on
 * the way); the Redis bus calls it for every chat after a reconnect and
 * every few seconds. Reads wait in serial fibers (util/fiber.h). Main loop.
 */
#ifndef PARLEY_CATCHUP_H
#define PARLEY_CATCHUP_H

struct catchup;
struct chats;
struct events;
struct hub;
struct store;

/*
 * Answers the hub's gaps (hub_on_gap) from now on; what it reads goes to
 * the streams here through the events module's bus (bus_ops.deliver_here).
 */
struct catchup	*catchup_new(struct store *st, struct chats *chats, struct events *ev,
		    struct hub *hub);
void		 catchup_free(struct catchup *c);
/* The chat's streams here get what the store has that they lack; -1: the store failed. */
int		 catchup_chat(struct catchup *c, const char *chat_id);
/* The same for every chat with streams here, in a serial fiber. */
void		 catchup_all(struct catchup *c);

#endif
