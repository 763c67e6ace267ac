/*
 * bus.h - the seam between storing a chat event and delivering it: the
 * events module (chat/events.c) hands every event to a bus once it is
 * durable (ephemeral ones at once), and the bus brings it to every stream
 * of the chat: this process's hub (hub_bus() in hub.h), or with several
 * nodes the Redis bus (redis_bus.h), which hands each event to the hub here
 * and to every other node's. A bus delivers a chat's events in id order.
 */
#ifndef PARLEY_BUS_H
#define PARLEY_BUS_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Which open streams to end, and why: those of one chat (or every chat), of
 * one user (or anyone), opened with one credential (or any). Each gets a
 * last "deleted" event saying the reason, then ends.
 */
struct bus_match {
	const char	*chat_id;
	const char	*user_id;
	const char	*credential;
	const char	*reason;	/* "removed", "signed-out", "revoked" */
};

/* What changed, for the memory other nodes keep of it (bus_ops.changed). */
enum bus_change {
	BUS_CHANGED_CHATS,		/* a chat's settings, or a chat deleted */
	BUS_CHANGED_BOTS,		/* a bot */
};

/* Told by a bus of a change made on another node. */
typedef void (*bus_changed_fn)(void *arg, enum bus_change what);

struct bus_ops {
	/* An event of the chat: id > 0 durable (stored), 0 ephemeral. data is borrowed. */
	void	(*publish)(void *impl, const char *chat_id, uint64_t id, const char *name,
		    json_t *data);
	/* The chat is gone: its streams end after what they were sent. */
	void	(*end_chat)(void *impl, const char *chat_id);
	/* Access was taken away: the matching streams end at once, wherever they are. */
	void	(*end_streams)(void *impl, const struct bus_match *m);
	/*
	 * A change to the chat lists of the audience (an array of user ids, or
	 * NULL: everyone), administrators too unless personal: name "list-chat"
	 * (data: the chat's list item), "list-gone" (data: {"id"}) or
	 * "list-read" (data: {"id","seq"}, the person's read mark).
	 * Ephemeral; borrowed.
	 */
	void	(*publish_list)(void *impl, json_t *audience, bool personal, const char *name,
		    json_t *data);
	/*
	 * The chat's events up to now may show what is no longer so (a message
	 * edited or deleted): replays from before now are read from the store.
	 */
	void	(*forget)(void *impl, const char *chat_id);
	/*
	 * Whether any stream may hear a chat list change now (false: a list item
	 * need not even be read). A bus between nodes answers for all of them.
	 */
	bool	(*lists_heard)(void *impl);
	/* Something other nodes may keep in memory changed here (one process: nothing to do). */
	void	(*changed)(void *impl, enum bus_change what);
	/*
	 * The bot reply being written in the chat on another node, with its
	 * text so far (a new reference), or NULL.
	 */
	json_t	*(*reply_elsewhere)(void *impl, const char *chat_id);
	/*
	 * A durable event read back from the store (a gap, a check), for the
	 * chat's streams on this node only. data is borrowed.
	 */
	void	(*deliver_here)(void *impl, const char *chat_id, uint64_t id, const char *name,
		    json_t *data);
	/* An ephemeral event for the chat's streams on this node only. data is borrowed. */
	void	(*publish_here)(void *impl, const char *chat_id, const char *name, json_t *data);
	/*
	 * The people with the chat open on this node ([{"user_id","name"}…],
	 * borrowed), for the other nodes (chat/presence.h shares them on change
	 * and every PRESENCE_SHARE_MS).
	 */
	void	(*share_presence)(void *impl, const char *chat_id, json_t *people);
	/*
	 * The node `to` that holds the chat's lease was asked something for
	 * its turn flow (kept with the lease: store_lease_take): it looks now.
	 */
	void	(*ask_turn)(void *impl, const char *to, const char *chat_id);
	/*
	 * A sign-in for name (lower case) from address failed here, or
	 * succeeded (failed false): the other nodes count it as their own, so
	 * the limits hold for the deployment (one process: nothing to do).
	 */
	void	(*sign_in)(void *impl, const char *name, const char *address, bool failed);
	/*
	 * A user's display name changed here: the other nodes list them by it
	 * where they are here (one process: nothing to do).
	 */
	void	(*renamed)(void *impl, const char *user_id, const char *name);
};

struct bus {
	const struct bus_ops	*ops;
	void			*impl;
};

static inline void
bus_publish(const struct bus *b, const char *chat_id, uint64_t id, const char *name,
    json_t *data)
{
	b->ops->publish(b->impl, chat_id, id, name, data);
}

static inline void
bus_end_chat(const struct bus *b, const char *chat_id)
{
	b->ops->end_chat(b->impl, chat_id);
}

static inline void
bus_end_streams(const struct bus *b, const struct bus_match *m)
{
	b->ops->end_streams(b->impl, m);
}

static inline void
bus_publish_list(const struct bus *b, json_t *audience, bool personal, const char *name,
    json_t *data)
{
	b->ops->publish_list(b->impl, audience, personal, name, data);
}

static inline bool
bus_lists_heard(const struct bus *b)
{
	return b->ops->lists_heard(b->impl);
}

static inline void
bus_changed(const struct bus *b, enum bus_change what)
{
	b->ops->changed(b->impl, what);
}

static inline json_t *
bus_reply_elsewhere(const struct bus *b, const char *chat_id)
{
	return b->ops->reply_elsewhere(b->impl, chat_id);
}

static inline void
bus_sign_in(const struct bus *b, const char *name, const char *address, bool failed)
{
	b->ops->sign_in(b->impl, name, address, failed);
}

static inline void
bus_renamed(const struct bus *b, const char *user_id, const char *name)
{
	b->ops->renamed(b->impl, user_id, name);
}

static inline void
bus_publish_local(const struct bus *b, const char *chat_id, const char *name, json_t *data)
{
	b->ops->publish_here(b->impl, chat_id, name, data);
}

static inline void
bus_deliver_here(const struct bus *b, const char *chat_id, uint64_t id, const char *name,
    json_t *data)
{
	b->ops->deliver_here(b->impl, chat_id, id, name, data);
}

static inline void
bus_share_presence(const struct bus *b, const char *chat_id, json_t *people)
{
	b->ops->share_presence(b->impl, chat_id, people);
}

static inline void
bus_ask_turn(const struct bus *b, const char *to, const char *chat_id)
{
	b->ops->ask_turn(b->impl, to, chat_id);
}

static inline void
bus_forget(const struct bus *b, const char *chat_id)
{
	b->ops->forget(b->impl, chat_id);
}

#endif
