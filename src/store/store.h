/*
 * store.h - Parley's storage interface: chats, messages and the durable event
 * log that feeds resumable streams. Objects cross this interface as jansson
 * values in the API's JSON shapes (SPEC §2), so handlers and renderers use
 * them directly. Today's implementation is SQLite (store_sqlite.c); a
 * PostgreSQL one implements these same functions.
 *
 * Every write that the caller acknowledges is durable when the call returns.
 * Functions returning json_t * hand the caller a new reference.
 * Calls are synchronous and owned by one thread at a time.
 */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H
#include <jansson.h>
#include <stdint.h>

struct store;

enum store_status {
	STORE_OK = 0,
	STORE_ERROR = -1,	/* the database failed; logged */
	STORE_NOT_FOUND = -2,	/* no such chat */
	STORE_GONE = -3,	/* events asked for are no longer kept */
};

/* A message to append; author or bot_id may be NULL. */
struct message_in {
	const char	*kind;		/* "person", "bot" or "system" */
	const char	*author;
	const char	*bot_id;
	const char	*body;
	const char	*state;		/* "complete", "streaming", ... */
};

/* An event appended to a chat's log, as the hub publishes it. */
struct store_event {
	uint64_t	 id;
	const char	*name;
	json_t		*data;		/* borrowed from the caller */
};

/* Opens (creating and migrating) the database at path; NULL and *err (free it) on failure. */
struct store	*store_open(const char *path, char **err);
void		 store_close(struct store *st);

json_t		*store_chat_list(struct store *st);
enum store_status store_chat_get(struct store *st, const char *id, json_t **chat);
enum store_status store_chat_create(struct store *st, const char *title,
		    const char *policy, json_t **chat);
/* Changes title and/or policy (NULL keeps it) and logs a "chat" event. */
enum store_status store_chat_update(struct store *st, const char *id,
		    const char *title, const char *policy, json_t **chat, uint64_t *event_id);
enum store_status store_chat_delete(struct store *st, const char *id);

/* Messages with seq > after, oldest first, at most limit. */
enum store_status store_messages_after(struct store *st, const char *chat_id,
		    uint64_t after, unsigned limit, json_t **messages);
/* The chat's last n messages, oldest first. */
enum store_status store_messages_last(struct store *st, const char *chat_id,
		    unsigned n, json_t **messages);
/* Appends a message and its "message" event in one transaction. */
enum store_status store_message_add(struct store *st, const char *chat_id,
		    const struct message_in *in, json_t **message, uint64_t *event_id);

/*
 * Durable events with id > after, oldest first, as an array of
 * {"id":N,"name":"…","data":{…}}. STORE_GONE when some of them are no
 * longer kept, so the caller must start from a snapshot.
 */
enum store_status store_events_after(struct store *st, const char *chat_id,
		    uint64_t after, json_t **events);

#endif
