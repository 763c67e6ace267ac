/*
 * members.h - who is in a chat (SPEC section 7): its members, adding one by
 * name, removing one (oneself: leaving), and invite links a signed-in
 * person opens to join. Anyone who may see the chat may do these; removing
 * someone ends their open streams of it at once. Chats have no members
 * with --auth none (404). Each returns 0, or -1 with a problem; results are
 * new references. Owned by one event loop.
 */
#ifndef PARLEY_MEMBERS_H
#define PARLEY_MEMBERS_H
#include <jansson.h>

#include "util/secret.h"

struct chats;
struct events;
struct members;
struct problem;
struct store;
struct who;

struct members	*members_new(struct store *st, struct events *ev, struct chats *chats);
void		 members_free(struct members *m);

/* The chat's members: Users with "added_at". */
int	 members_list(struct members *m, const struct who *who, const char *chat_id,
	    json_t **users, struct problem *p);
/* Adds a user (JSON string: id or name); 422 "user" when there is no such user. */
int	 members_add(struct members *m, const struct who *who, const char *chat_id,
	    json_t *user, struct problem *p);
/* Removes a user (id or name) from the chat; their streams of it end. */
int	 members_remove(struct members *m, const struct who *who, const char *chat_id,
	    const char *user, struct problem *p);
/*
 * A new invite (hours: JSON integer 1..LIMIT_INVITE_HOURS, or NULL for a
 * week): its token (to put in a /join/TOKEN link) and when it expires.
 */
int	 members_invite(struct members *m, const struct who *who, const char *chat_id,
	    json_t *hours, char token[SECRET_LEN + 1], char expires_at[21], struct problem *p);
/* The chat an invite (still valid, by its token's pass: secret_link_pass) is for; 404 otherwise. */
int	 members_invited_to(struct members *m, const char *pass, json_t **chat,
	    struct problem *p);
/* who joins the chat of the invite (by its pass); the chat in *chat. */
int	 members_join(struct members *m, const struct who *who, const char *pass,
	    json_t **chat, struct problem *p);

#endif
