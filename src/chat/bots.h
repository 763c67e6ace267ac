/*
 * bots.h - the bot service: what people do to bots, from the API or the
 * bots page. It validates a Bot's fields, stores it, and when a bot's name
 * changes or it goes, each chat it was in publishes its new state through
 * the events module. Where a bot's words come from (backend, base_url,
 * api_key_env, model of an openai bot) and deleting bots are for
 * administrators; anyone signed in may create built-in bots and change
 * names and personas. Each returns 0, or -1 with a problem naming the bad
 * field (403 for what who may not do, 409 for a duplicate name). Results
 * are new references. Owned by one event loop.
 */
#ifndef PARLEY_BOTS_H
#define PARLEY_BOTS_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct bots;
struct event_base;
struct events;
struct problem;
struct store;
struct turns;
struct who;

/* allow_link_local: bots may point at link-local addresses (endpoint.h). */
/* Cards are read on a thread of their own, answering on base's loop. */
/* turns: told when a bot is deleted (its replies end). */
struct bots	*bots_new(struct event_base *base, struct store *st, struct events *ev,
		    struct turns *turns, bool allow_link_local);
void		 bots_free(struct bots *b);
/* Grows whenever a bot is created, changed or deleted (pages that list bots follow it). */
uint64_t	 bots_version(const struct bots *b);
/* A bot changed on another node: the version grows. */
void		 bots_heard_change(struct bots *b);

int	 bots_list(struct bots *b, json_t **bots, struct problem *p);
int	 bots_create(struct bots *b, const struct who *who, json_t *fields, json_t **bot, struct problem *p);
/* Applies the fields given (others keep their values). */
/* Told, on the loop, of an import's new Bot (borrowed), or of why there is none (p). */
typedef void bots_imported_fn(void *arg, json_t *bot, const struct problem *p);
/*
 * A bot from a character card (card.h: its JSON or a PNG, data[0..len),
 * copied): the card gives name, persona and greeting; fields (may be NULL)
 * the rest, as for bots_create (backend "echo" when not given). The card is
 * read on a worker thread (a PNG is decoded to reach its text: up to a
 * third of a second), then done(arg, ...) is called once, on the loop.
 */
void	 bots_import(struct bots *b, const struct who *who, const void *data, size_t len,
	    json_t *fields, bots_imported_fn *done, void *arg);
/* The bot as a Character Card V2 (card.h). */
int	 bots_card(struct bots *b, const char *id_or_name, json_t **card, struct problem *p);
int	 bots_update(struct bots *b, const struct who *who, const char *id, json_t *fields, json_t **bot,
	    struct problem *p);
int	 bots_delete(struct bots *b, const struct who *who, const char *id, struct problem *p);
/* By id or name. */
int	 bots_get(struct bots *b, const char *id_or_name, json_t **bot, struct problem *p);
/*
 * Resolves a list of bot ids or names to their ids (duplicates dropped);
 * NULL and a 422 naming "bots" when something is not a known bot.
 */
json_t	*bots_resolve(struct bots *b, json_t *refs, struct problem *p);

#endif
