/*
 * chats.h - what people do to chats, whichever door they come through (the
 * JSON API or a page form): validate, store, then publish to the chat's
 * streams. Each returns 0, or -1 with a problem naming the bad field.
 * Results are new references the caller releases.
 */
#ifndef PARLEY_CHATS_H
#define PARLEY_CHATS_H
#include <jansson.h>

struct app;
struct problem;

/* Fields of a chat as given by the client; NULL means "not given". */
struct chat_fields {
	json_t	*title;
	json_t	*policy;
	json_t	*bots;
};

int	 chats_create(struct app *app, const struct chat_fields *in, json_t **chat,
	    struct problem *p);
int	 chats_update(struct app *app, const char *id, const struct chat_fields *in,
	    json_t **chat, struct problem *p);
int	 chats_delete(struct app *app, const char *id, struct problem *p);
/* The chat, or -1 with a 404 problem. */
int	 chats_get(struct app *app, const char *id, json_t **chat, struct problem *p);
/* Told once a person's message is durable (message; p NULL) or is not (p). */
typedef void chats_posted_fn(void *arg, json_t *message, const struct problem *p);
/*
 * A person's message: author and body as given (JSON strings or NULL). Bad
 * input: -1 with the problem, and posted is not called. Otherwise 0: the
 * message is stored with the other posts of this loop iteration (one commit
 * for all: store_message_add_grouped), published when that commits, and then
 * posted(arg, ...) is called from the loop.
 */
int	 chats_post(struct app *app, const char *id, json_t *author, json_t *body,
	    chats_posted_fn *posted, void *arg, struct problem *p);
/* The posts in flight (app->posts); freeing commits and answers them. */
struct posts	*posts_new(struct app *app);
void		 posts_free(struct posts *posts);
/* The bot (json string: id or name) of the chat speaks next; 422 when not in the chat. */
int	 chats_turn(struct app *app, const char *id, json_t *bot, struct problem *p);
/* Stops the reply being generated and drops the queued turns. */
int	 chats_stop(struct app *app, const char *id, struct problem *p);
/* The chat's last n messages, oldest first; a reply being written shows its text so far. */
int	 chats_recent(struct app *app, const char *id, unsigned n, json_t **messages,
	    struct problem *p);
/* The state a new subscriber starts from (SPEC §4.4), with the last n messages. */
int	 chats_snapshot(struct app *app, const char *id, unsigned n, json_t **snapshot,
	    struct problem *p);

#endif
