/*
 * turns.h - the turn flow (SPEC §5): after a person posts, the chat's bots
 * answer one at a time, each reply streaming as "token" events and ending
 * as a "message-update"; "turn" events tell who speaks and who is queued.
 * One flow per chat (with several nodes, on the node holding the chat's
 * lease: turns_share); a person's message during a flow replaces the queued
 * turns once the reply being generated ends. Every change is stored and
 * published through the events module. Owned by one event loop.
 */
#ifndef PARLEY_TURNS_H
#define PARLEY_TURNS_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct backend_opts;
struct event_base;
struct events;
struct store;
struct turns;

/* A turn flow on base: it reads the store and writes every change through events. */
struct turns	*turns_new(struct event_base *base, struct store *st, struct events *ev,
		    const struct backend_opts *opts);
/* Stops every reply (marked "stopped", published) and frees the flows. */
void		 turns_free(struct turns *t);
/* Ends every reply being generated as "stopped" and drops queued turns (shutdown). */
void		 turns_stop_all(struct turns *t);
/*
 * Marks replies left "streaming" by a crash as "stopped"; with several nodes
 * (turns_share first) only those no lease covers. Call once at start.
 */
void		 turns_recover(struct turns *t);

/* A message was posted (and committed) to chat (a Chat): queue the bots the policy calls for. */
void		 turns_on_message(struct turns *t, json_t *chat, json_t *message);
/* What asking for a turn gave. */
enum turn_asked {
	TURN_QUEUED = 0,
	TURN_NOT_IN_CHAT = -1,		/* the chat (a Chat) does not have the bot */
	TURN_QUEUE_FULL = -2,		/* LIMIT_QUEUED_TURNS are waiting already */
};

/* The bot speaks next. */
enum turn_asked	 turns_request(struct turns *t, json_t *chat, json_t *bot);
/*
 * The bot writes its message seq again, first in the queue: a new
 * alternative (fresh) or on from its text.
 */
enum turn_asked	 turns_redo(struct turns *t, json_t *chat, json_t *bot, uint64_t seq,
		    bool fresh);
/* Ends the reply being generated, its auto rounds, and drops the queued turns. */
void		 turns_stop(struct turns *t, const char *chat_id);
/* No more auto rounds follow in the chat (its auto_rounds became 0). */
void		 turns_end_auto(struct turns *t, const char *chat_id);
/*
 * The bots of the chat (NULL: of any chat with a flow here) changed: the
 * reply and the queued turns of a bot no longer in it (taken out, or
 * deleted) end; the flow goes on with the others.
 */
void		 turns_bots_changed(struct turns *t, const char *chat_id);
/*
 * Message seq is about to be deleted: turns queued to write it again are
 * dropped, and when it is the reply being written it ends "stopped"; when
 * it is the person's post whose bots are queued, those turns go too (the
 * ones asked for stay). The
 * next turn waits for turns_go_on(), so that it reads the chat without it.
 * (When another node runs the chat's turns, it is asked to do both.)
 */
void		 turns_stop_message(struct turns *t, const char *chat_id, uint64_t seq);
/* The chat's flow goes on with its next turn, if any (after turns_stop_message). */
void		 turns_go_on(struct turns *t, const char *chat_id);
/*
 * The turns queued here to write message seq again as a new alternative
 * (0 when another node runs the chat's turns).
 */
size_t		 turns_fresh_redos(struct turns *t, const char *chat_id, uint64_t seq);
/*
 * Several nodes run the chats' flows: this node's flows hold leases named
 * node (store.h), kept every few seconds; the lapsed ones of dead nodes are
 * taken over (their replies end stopped, their queues go on here).
 */
void		 turns_share(struct turns *t, const char *node);
/*
 * Another node asked something of the chat's flow, whose lease this node
 * holds: what it asked is taken from the lease (store_lease_asked) soon,
 * in the services' turn.
 */
void		 turns_asked(struct turns *t, const char *chat_id);
/* The chat is gone: drop its flow without writing anything. */
void		 turns_forget(struct turns *t, const char *chat_id);

/* True while the chat has a reply running or turns queued. */
bool		 turns_busy(struct turns *t, const char *chat_id);
/*
 * The chat's turn, {"state":"idle|running","speaker":name|null,
 * "queue":[names],"auto_left":N} (new reference): this node's flow, or with
 * several nodes the state that the node running the flow of a chat with
 * bots keeps with its lease (a read: may wait).
 */
json_t		*turns_state(struct turns *t, json_t *chat);
/*
 * The Message being generated in the chat with its text so far (or one
 * whose end is not stored yet, as it ended), or NULL (new reference).
 */
json_t		*turns_current(struct turns *t, const char *chat_id);

#endif
