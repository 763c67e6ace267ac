/*
 * shapes.h - the JSON shapes both stores return (SPEC §2, 7, 8), built in one
 * place from plain column values, so SQLite and PostgreSQL answer alike.
 * Called by the store implementations only.
 */
#ifndef PARLEY_STORE_SHAPES_H
#define PARLEY_STORE_SHAPES_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* What a stored message shows besides what it was added with. */
struct message_more {
	const char	*error;
	const char	*created_at;
	const char	*edited_at;
	json_int_t	 alternative, alternatives;
};

/* The Message; "user_id" only where people have accounts. */
json_t	*shape_message(bool accounts, const char *chat_id, uint64_t seq,
	    const struct message_in *m, const struct message_more *more);
/* The User. */
json_t	*shape_user(const char *id, const char *name, const char *display_name, bool admin,
	    const char *created_at);
/* An API token as listed (never its secret). */
json_t	*shape_token(const char *id, const char *name, const char *created_at);

/* A bot's columns; model, base_url and api_key_env may be NULL. */
struct bot_row {
	const char	*id, *name, *persona, *backend, *model, *base_url, *api_key_env;
	const char	*greeting;
	double		 temperature, talkativeness;
	json_int_t	 max_tokens;
};

/* The Bot (SPEC §2, with "greeting"). */
json_t	*shape_bot(const struct bot_row *b);

/* A chat list's preview of the chat's newest shown message (author, user_id may be NULL). */
struct preview_row {
	json_int_t	 seq;
	const char	*kind, *author, *body, *created_at, *user_id;
};

/* A chat list's item (store_chat_activity); last NULL: no message yet. */
json_t	*shape_list_item(const char *id, const char *title, const struct preview_row *last,
	    json_int_t active, json_int_t read_seq);

#endif
