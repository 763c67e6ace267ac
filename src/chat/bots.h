/*
 * bots.h - what people do to bots, from the API or the bots page: validate
 * a Bot's fields, store it, and tell the chats it is in when it changes.
 * Each returns 0, or -1 with a problem naming the bad field (409 for a
 * duplicate name). Results are new references.
 */
#ifndef PARLEY_BOTS_H
#define PARLEY_BOTS_H
#include <jansson.h>

struct app;
struct problem;

#define BOT_NAME_MAX	32

int	 bots_create(struct app *app, json_t *fields, json_t **bot, struct problem *p);
/* Applies the fields given (others keep their values). */
int	 bots_update(struct app *app, const char *id, json_t *fields, json_t **bot,
	    struct problem *p);
int	 bots_delete(struct app *app, const char *id, struct problem *p);
/* By id or name. */
int	 bots_get(struct app *app, const char *id_or_name, json_t **bot, struct problem *p);
/*
 * Resolves a list of bot ids or names to their ids (duplicates dropped);
 * NULL and a 422 naming "bots" when something is not a known bot.
 */
json_t	*bots_resolve(struct app *app, json_t *refs, struct problem *p);

#endif
