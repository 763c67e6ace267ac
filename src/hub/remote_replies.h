/*
 * remote_replies.h - the bot replies being written on other nodes, as
 * their events go by on the Redis bus: a reply's "message" (state
 * streaming) starts one, its "token" events grow its text, its final
 * "message-update" (or the chat's end) ends it. A stream opened here
 * mid-reply starts from the text so far (SPEC §10). Owned by the Redis
 * bus (redis_bus.c); main loop only.
 */
#ifndef PARLEY_REMOTE_REPLIES_H
#define PARLEY_REMOTE_REPLIES_H
#include <jansson.h>

struct remote_replies;

struct remote_replies	*remote_replies_new(void);
void			 remote_replies_free(struct remote_replies *rr);
/* An event of the chat heard from another node (data borrowed). */
void			 remote_replies_note(struct remote_replies *rr, const char *chat_id,
			    const char *name, json_t *data);
/* The Message being written in the chat elsewhere, its body the text so far; NULL if none. */
json_t			*remote_replies_get(struct remote_replies *rr, const char *chat_id);
/* Forgets them all: their ends may have gone by unheard (the link to the other nodes was down). */
void			 remote_replies_clear(struct remote_replies *rr);

#endif
