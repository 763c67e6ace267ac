/*
 * events.h - the one owner of chat events. Every producer (people's posts,
 * changes to chats and bots, the turn flow) appends through here: a durable
 * event is stored in its own transaction and then, once it is durable,
 * published through the bus (hub/bus.h), so each chat's events leave in id
 * order and nothing uncommitted is ever published. People's posts are
 * grouped: the posts of one loop iteration are stored in one transaction
 * when it ends, published in order, then answered; while a group's round
 * trip is out (PostgreSQL), the services go on and the posts they queue
 * meanwhile make the next group. Ephemeral events (a
 * reply's tokens) are published at once, without an id.
 * Results are new references. Owned by one event loop.
 */
#ifndef PARLEY_EVENTS_H
#define PARLEY_EVENTS_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/bus.h"
#include "store/store.h"

struct event_base;
struct events;

struct events	*events_new(struct event_base *base, struct store *st, struct bus bus);
/* Stores, publishes and answers the posts waiting now (shutdown). */
void		 events_flush(struct events *ev);
/* Flushes, then frees. */
void		 events_free(struct events *ev);

/*
 * Told, on the loop, once a person's message is durable and published
 * (message, borrowed) or is not (NULL; status says why: STORE_NOT_FOUND when
 * the chat went away, STORE_ERROR when the database failed). It is told by
 * the committer, outside the services' turn (the services go on while a
 * group's round trip is out): what touches the services' state must go
 * through fiber_run_serial().
 */
typedef void events_posted_fn(void *arg, json_t *message, enum store_status status);
/*
 * A person's message (in is copied): stored with the other posts of this
 * loop iteration when it ends (or, while a group is being stored, with
 * those queued meanwhile), published, then posted(arg, ...) is called.
 */
void		 events_post(struct events *ev, const struct message_in *in,
		    events_posted_fn *posted, void *arg);

/* A message stored now (a bot's reply starting, a system message): a "message" event. */
enum store_status events_message_add(struct events *ev, const struct message_in *in,
		    json_t **message);
/* A message's final text and state: a "message-update" event (store_message_finish). */
enum store_status events_message_finish(struct events *ev, const char *chat_id,
		    uint64_t seq, const char *body, const char *state, const char *error,
		    json_t **message);
/*
 * A message's end that could not be stored yet (message: the final Message):
 * sent without an id so that tabs show it; the stored update follows.
 */
void		 events_message_pending(struct events *ev, json_t *message);
/*
 * How many chats were changed or deleted through here so far: a Chat read
 * when this was n is still as stored while it is n.
 */
uint64_t	 events_chat_changes(const struct events *ev);
/* A chat changed (or went) here: counted, and told to the other nodes. */
void		 events_chats_changed(struct events *ev);
/* A chat changed on another node: counted. */
void		 events_heard_change(struct events *ev);
/* The node `to` holding the chat's lease was asked something for its turn flow (bus.h). */
void		 events_ask_turn(struct events *ev, const char *to, const char *chat_id);
/* The reply being written in the chat on another node, text so far (new reference), or NULL. */
json_t		*events_reply_elsewhere(struct events *ev, const char *chat_id);
/* A bot changed here: told to the other nodes (bots.c counts its own versions). */
void		 events_bots_changed(struct events *ev);
/* Changes the chat: a "chat" event carrying the new Chat (store_chat_update). */
enum store_status events_chat_update(struct events *ev, const char *chat_id,
		    const struct chat_change *change, json_t **chat);
/*
 * Conversation control (store.h): each a "message-update" event carrying
 * the Message, but a deletion, which is a "message-deleted" {"seq"}.
 */
enum store_status events_message_edit(struct events *ev, const char *chat_id, uint64_t seq,
		    const char *body, json_t **message);
enum store_status events_message_delete(struct events *ev, const char *chat_id, uint64_t seq);
enum store_status events_message_reopen(struct events *ev, const char *chat_id, uint64_t seq,
		    bool fresh, json_t **message);
enum store_status events_message_pick(struct events *ev, const char *chat_id, uint64_t seq,
		    unsigned index, json_t **message);
/* The turn state changed: a "turn" event (shown without an id when it cannot be stored). */
enum store_status events_turn(struct events *ev, const char *chat_id, json_t *state);
/* Deletes the chat; its streams get "deleted" and end. */
enum store_status events_chat_delete(struct events *ev, const char *chat_id);
/* Access was taken away: the matching streams get a last "deleted" and end (bus.h). */
void		 events_end_streams(struct events *ev, const struct bus_match *m);
/* The chat lists of whoever may see the chat show its state as stored. Ephemeral. */
void		 events_list_chat(struct events *ev, const char *chat_id);
/* The chat leaves the list of user_id (removed from it; not an administrator's). */
void		 events_list_gone(struct events *ev, const char *chat_id, const char *user_id);
/* The person's read mark of the chat is now seq: their lists on every device show it. */
void		 events_list_read(struct events *ev, const char *chat_id, const char *user_id,
		    uint64_t seq);
/*
 * An ephemeral event of the chat (never stored, never replayed): "presence",
 * "typing". data is borrowed.
 */
void		 events_ephemeral(struct events *ev, const char *chat_id, const char *name,
		    json_t *data);
/* The same, for the chat's streams on this node only. */
void		 events_ephemeral_here(struct events *ev, const char *chat_id, const char *name,
		    json_t *data);
/* A durable event read back from the store, for the chat's streams on this node only. */
void		 events_deliver_here(struct events *ev, const char *chat_id, uint64_t id,
		    const char *name, json_t *data);
/* The people with the chat open on this node, for the other nodes (bus.h). */
void		 events_share_presence(struct events *ev, const char *chat_id, json_t *people);
/* A piece of a reply being written: an ephemeral "token" event. */
void		 events_token(struct events *ev, const char *chat_id, uint64_t seq,
		    const char *text, size_t len);

#endif
