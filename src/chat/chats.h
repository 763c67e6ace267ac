/*
 * chats.h - the chat service: what people do to chats, whichever door they
 * come through (the JSON API or a page form). It validates, then changes
 * chats through the events module (which stores, then publishes) and hands
 * committed posts to the turn flow. Each operation is done for who: a chat
 * it may not see (it is not a member, nor an administrator) is the same
 * 404 as one that does not exist. Each returns 0, or -1 with a problem
 * naming the bad field. Results are new references the caller releases.
 * The functions without who serve a caller that has already checked
 * access with chats_get(). Owned by one event loop.
 */
#ifndef PARLEY_CHATS_H
#define PARLEY_CHATS_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct bots;
struct chats;
struct events;
struct problem;
struct store;
struct turns;
struct who;

struct chats	*chats_new(struct store *st, struct events *ev, struct bots *bots,
		    struct turns *turns);
void		 chats_free(struct chats *c);
/* Shutting down: posts and turns are refused (503) from now on. */
void		 chats_shutdown(struct chats *c);
bool		 chats_stopping(const struct chats *c);

/* Fields of a chat as given by the client; NULL means "not given". */
struct chat_fields {
	json_t	*title;
	json_t	*policy;
	json_t	*bots;
	json_t	*muted;		/* ids or names of bots of the chat no policy picks */
	json_t	*auto_rounds;	/* 0..LIMIT_AUTO_ROUNDS */
};

/*
 * A page of chats, newest first: at most limit (clamped to 1..LIMIT_LIST_MAX),
 * after the chat with id before (NULL: from the newest). *next is the id to
 * ask for the page after (new reference), or JSON null when this is the last.
 */
int	 chats_list(struct chats *c, const struct who *who, const char *before, unsigned limit, json_t **chats,
	    json_t **next, struct problem *p);
/*
 * who's chats by last activity, newest first (store_chat_activity), with
 * who's read marks; offset and limit page them.
 */
int	 chats_activity(struct chats *c, const struct who *who, unsigned offset, unsigned limit,
	    json_t **items, struct problem *p);
/*
 * who has read the chat up to seq (JSON integer): kept for members (an
 * administrator who is not one, and --auth none, keep no marks).
 */
int	 chats_mark_read(struct chats *c, const struct who *who, const char *id, json_t *seq,
	    struct problem *p);
int	 chats_create(struct chats *c, const struct who *who, const struct chat_fields *in, json_t **chat,
	    struct problem *p);
int	 chats_update(struct chats *c, const struct who *who, const char *id, const struct chat_fields *in,
	    json_t **chat, struct problem *p);
int	 chats_delete(struct chats *c, const struct who *who, const char *id, struct problem *p);
/* The chat, or -1 with a 404 problem. */
int	 chats_get(struct chats *c, const struct who *who, const char *id, json_t **chat, struct problem *p);
/*
 * Told once a person's message is durable and published (message, borrowed;
 * p NULL) or is not (p).
 */
typedef void chats_posted_fn(void *arg, json_t *message, const struct problem *p);
/*
 * A person's message: body as given, author as given with --auth none, else
 * who's display name (JSON strings or NULL). Bad
 * input: -1 with the problem, and posted is not called. Otherwise 0: the
 * message is stored with the other posts of this loop iteration, published,
 * handed to the turn flow, and then posted(arg, ...) is called.
 */
int	 chats_post(struct chats *c, const struct who *who, const char *id, json_t *author, json_t *body,
	    chats_posted_fn *posted, void *arg, struct problem *p);
/* The bot (JSON string: id or name) of the chat speaks next; 422 when not in the chat. */
int	 chats_turn(struct chats *c, const struct who *who, const char *id, json_t *bot, struct problem *p);
/*
 * The bots @mentioned in text that exist but are not in the chat (names,
 * an array): a mention of them calls nobody. The caller has checked access.
 */
json_t	*chats_absent_mentions(struct chats *c, const char *id, const char *text);
/* Stops the reply being generated and drops the queued turns. */
int	 chats_stop(struct chats *c, const struct who *who, const char *id, struct problem *p);
/* Messages with seq > after, oldest first, at most limit. */
int	 chats_messages(struct chats *c, const struct who *who, const char *id, uint64_t after, unsigned limit,
	    json_t **messages, struct problem *p);
/* The n messages before seq `before`, oldest first, as chats_messages. */
int	 chats_messages_before(struct chats *c, const struct who *who, const char *id,
	    uint64_t before, unsigned n, json_t **messages, struct problem *p);
/* The chat's last n messages, oldest first; a reply being written shows its text so far. */
int	 chats_recent(struct chats *c, const char *id, unsigned n, json_t **messages,
	    struct problem *p);
/* The state a new subscriber starts from (SPEC section 4), with the last n messages. */
int	 chats_snapshot(struct chats *c, const char *id, unsigned n, json_t **snapshot,
	    struct problem *p);
/*
 * The durable events after `after`, oldest first ({"id","name","data"}),
 * and the chat's last event id (*newest) as of the same moment; ids of
 * nothing to replay (a deleted message's, for one) are
 * absent. STORE_GONE when they are no longer all kept (the caller starts
 * from a snapshot), STORE_NOT_FOUND, STORE_ERROR.
 */
enum store_status chats_events_after(struct chats *c, const char *id, uint64_t after,
	    json_t **events, uint64_t *newest);
/* The reply being written in the chat, as a Message with its text so far, or NULL. */
json_t	*chats_reply_so_far(struct chats *c, const char *id);
/* True while the chat has a reply running or turns queued. */
bool	 chats_busy(struct chats *c, const char *id);

#endif
