/*
 * presence.h - who has a chat open, and who is typing (SPEC 9). A chat's
 * presence is the set of people (not tabs) with at least one open stream of
 * it; it is told to the chat's streams as an ephemeral "presence" event
 * when it changes, at most once a second, and a stream that closes and
 * reopens within PRESENCE_GRACE_MS (a reload) does not show as leaving.
 * "typing" is passed on at most once a second per person and chat. Nothing
 * here is stored or replayed. The streams layer joins streams (api/
 * streams.c) and the hub tells of their leaving; events go out through the
 * events module. Owned by the main loop.
 */
#ifndef PARLEY_PRESENCE_H
#define PARLEY_PRESENCE_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRESENCE_GRACE_MS	5000	/* a stream closed this long ago still counts */
#define PRESENCE_EVERY_MS	1000	/* a chat's presence changes are told at most this often */
#define PRESENCE_SHARE_MS	4000	/* each node shares its people this often */
#define PRESENCE_REMOTE_MS	12000	/* another node's people count this long after its news */

struct event_base;
struct events;
struct presence;

struct presence	*presence_new(struct event_base *base, struct events *ev);
void		 presence_free(struct presence *pr);
/*
 * A stream of the chats opens for a person: user_id (NULL without
 * accounts) and name. Returns the stream's presence id for
 * presence_leave(), never 0.
 */
uint64_t	 presence_join(struct presence *pr, const char *const *chat_ids, size_t n,
		    const char *user_id, const char *name);
/*
 * The stream with presence id left the chat (chat_id "": it closed, after
 * leaving each of its chats). Unknown ids are ignored.
 */
void		 presence_leave(struct presence *pr, const char *chat_id, uint64_t id);
/* The people here now: [{"user_id","name"}…] in the order they came (new reference). */
json_t		*presence_here(struct presence *pr, const char *chat_id);
/*
 * The node `node` (another one) has these people with the chat open now
 * ([{"user_id","name"}…], borrowed; empty: nobody).
 */
void		 presence_heard(struct presence *pr, const char *chat_id, const char *node,
		    json_t *people);
/* A user's display name changed: the rooms list them by the new one (accounts_renamed_fn). */
void		 presence_renamed(void *presence, const char *user_id, const char *name);
/* The person is typing in the chat: true when passed on (a "typing" event), false when too soon. */
bool		 presence_typing(struct presence *pr, const char *chat_id, const char *user_id,
		    const char *name);

#endif
