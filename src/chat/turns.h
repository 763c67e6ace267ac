/*
 * turns.h - the turn flow (SPEC §5): after a person posts, the chat's bots
 * answer one at a time, each reply streaming as "token" events and ending
 * as a "message-update"; "turn" events tell who speaks and who is queued.
 * One flow per chat; a person's message during a flow replaces the queued
 * turns once the reply being generated ends. Owned by one event loop.
 */
#ifndef PARLEY_TURNS_H
#define PARLEY_TURNS_H
#include <jansson.h>
#include <stdbool.h>

struct app;
struct turns;

struct turns	*turns_new(struct app *app);
/* Stops every reply (marked "stopped", published) and frees the flows. */
void		 turns_free(struct turns *t);
/* Ends every reply being generated as "stopped" and drops queued turns (shutdown). */
void		 turns_stop_all(struct turns *t);
/* Marks replies left "streaming" by a crash as "stopped". Call once at start. */
void		 turns_recover(struct app *app);

/* A message was posted (and committed) to chat (a Chat): queue the bots the policy calls for. */
void		 turns_on_message(struct turns *t, json_t *chat, json_t *message);
/* The bot (a Bot of the chat) speaks next. */
void		 turns_request(struct turns *t, json_t *chat, json_t *bot);
/* Ends the reply being generated as "stopped" and drops the queued turns. */
void		 turns_stop(struct turns *t, const char *chat_id);
/* The chat is gone: drop its flow without writing anything. */
void		 turns_forget(struct turns *t, const char *chat_id);

/* True while the chat has a reply running or turns queued. */
bool		 turns_busy(struct turns *t, const char *chat_id);
/* {"state":"idle|running","speaker":name|null,"queue":[names]} (new reference). */
json_t		*turns_state(struct turns *t, const char *chat_id);
/* The Message being generated in the chat with its text so far, or NULL (new reference). */
json_t		*turns_current(struct turns *t, const char *chat_id);

#endif
