/*
 * store.h - Parley's storage interface: chats, their bots, messages, and the
 * durable event log that feeds resumable streams. Objects cross this
 * interface as jansson values in the API's JSON shapes (SPEC §2), so
 * handlers and renderers use them directly. Two implementations sit behind
 * it (store.c chooses): SQLite (sqlite*.c) and PostgreSQL (postgres*.c).
 *
 * Every write is one transaction, durable when the call returns: it
 * survives the server's crash; with sync_full also the machine's. Writes
 * that make chat events return them (the event id, and the data as JSON);
 * publishing them is the caller's (chat/events.c). The store never calls
 * back. Functions returning json_t * hand the caller a new reference;
 * json_t * arguments are borrowed. Calls are synchronous and owned by one
 * thread at a time.
 */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/ids.h"

struct store;

enum store_status {
	STORE_OK = 0,
	STORE_ERROR = -1,	/* the database failed; logged */
	STORE_NOT_FOUND = -2,	/* no such chat, message or bot */
	STORE_GONE = -3,	/* events asked for are no longer kept */
	STORE_CONFLICT = -4,	/* a bot or user with that name exists */
	STORE_FENCED = -5,	/* the turn lease was lost: another node writes the chat's turns */
	STORE_CHANGED = -6,	/* changed since it was read: read it again */
	STORE_UNKNOWN = -7,	/* the connection broke after the commit went out: maybe stored */
};

/* A message to append; author, user_id or bot_id may be NULL. */
struct message_in {
	const char	*chat_id;
	const char	*kind;		/* "person", "bot" or "system" */
	const char	*author;
	const char	*user_id;	/* the person's account, with --auth accounts or proxy */
	const char	*bot_id;
	const char	*body;
	const char	*state;		/* "complete", "streaming", ... */
};

/*
 * Opens (creating and migrating) the database: a SQLite file's path, or a
 * postgres:// URL; NULL and *err (free it) on failure. sync_full (SQLite):
 * every commit also waits for the disk (fsync); PostgreSQL's commits are
 * as durable as its server is set up to make them.
 */
struct store	*store_open(const char *db, bool sync_full, char **err);
/* Whether db names a PostgreSQL database (postgres:// or postgresql://). */
bool		 store_is_postgres_url(const char *db);
void		 store_close(struct store *st);
/* People have accounts (SPEC 7): from now on Messages carry "user_id". Before any use. */
void		 store_set_accounts(struct store *st, bool accounts);
/*
 * False once the database can no longer take writes safely: its file was
 * removed or replaced under the running server (checked on every write and
 * whenever this is called). Writes then fail; the cause is logged once.
 */
bool		 store_available(struct store *st);
/*
 * Whether the last failure was the database out of reach (its file gone, or
 * PostgreSQL's connection lost and not yet made again): callers answer 503,
 * not 500.
 */
bool		 store_unreachable(struct store *st);
/*
 * How many Parley servers use the database besides the caller (SQLite: 0,
 * its file is held by one at a time and store_open refuses a second);
 * -1 on error. Tools that must not run beside a server check it.
 */
long		 store_servers_using(struct store *st);

/*
 * ---- chats: {"id","title","policy","bots":[{"id","name"}],"created_at",
 *      "last_event_id","muted":[bot ids],"auto_rounds"} ----
 */

/*
 * At most limit chats, newest first, starting after the chat before (NULL:
 * from the newest; an id that is not a chat: none), only those the user
 * member is a member of (NULL: all); NULL on error.
 */
json_t		*store_chat_list(struct store *st, const char *before, unsigned limit,
		    const char *member);
enum store_status store_chat_get(struct store *st, const char *id, json_t **chat);
/*
 * bot_ids: an array of existing bot ids in speaking order, or NULL for none;
 * creator: the user who becomes its first member, or NULL.
 */
/*
 * A page of chats by last activity (their last message, else their
 * creation), newest first: {"id","title","last":{"seq","kind","author",
 * "body" (its first LIMIT_PREVIEW_CHARS characters),"created_at"} or null,
 * "read_seq"}. member: only that user's chats; reader: whose read marks
 * (read_seq 0 where none). NULL on error.
 */
json_t		*store_chat_activity(struct store *st, const char *member, const char *reader,
		    unsigned offset, unsigned limit);
/*
 * One chat as store_chat_activity lists it (read_seq 0), with "members": the
 * ids of its members (who may see it in their lists), or NULL.
 */
json_t		*store_chat_item(struct store *st, const char *chat_id);
enum store_status store_chat_create(struct store *st, const char *title,
		    const char *policy, json_t *bot_ids, const char *creator, json_t **chat);
/* A change to a chat: what is NULL (auto_rounds < 0) stays. */
struct chat_change {
	const char	*title;
	const char	*policy;
	json_t		*bot_ids;	/* the chat's bots in order; a bot kept stays muted or not */
	json_t		*muted;		/* ids of the chat's bots that no policy picks */
	int		 auto_rounds;
};

/* Changes the chat and logs a "chat" event carrying the new Chat. */
enum store_status store_chat_update(struct store *st, const char *id,
		    const struct chat_change *change, json_t **chat, uint64_t *event_id);
enum store_status store_chat_delete(struct store *st, const char *id);

/* ---- messages ---- */

/* Messages with seq > after, oldest first, at most limit. */
enum store_status store_messages_after(struct store *st, const char *chat_id,
		    uint64_t after, unsigned limit, json_t **messages);
/* The chat's last n messages, oldest first. */
enum store_status store_messages_last(struct store *st, const char *chat_id,
		    unsigned n, json_t **messages);
/* The chat's last n messages before seq `before`, oldest first. */
enum store_status store_messages_before(struct store *st, const char *chat_id,
		    uint64_t before, unsigned n, json_t **messages);
/* One message. */
enum store_status store_message_get(struct store *st, const char *chat_id, uint64_t seq,
		    json_t **message);
/* What became of one message of store_messages_add. */
struct message_added {
	enum store_status status;	/* STORE_OK, or STORE_NOT_FOUND: no such chat */
	json_t		*message;	/* the Message (new reference) when OK */
	uint64_t	 event_id;	/* its "message" event */
};

/*
 * Appends n messages, each with its "message" event, in one transaction
 * (people's posts are grouped this way: one commit for many). A message to
 * a chat that does not exist is skipped (STORE_NOT_FOUND in its out[i]).
 * STORE_OK once committed; STORE_ERROR when the transaction failed, and
 * then none was stored (every out[i] says STORE_ERROR); STORE_UNKNOWN
 * (PostgreSQL) when the connection broke after the commit went out, so
 * all or none may be stored (every out[i] says so). A message stored
 * "complete" is final: its row is its event, and nothing changes it.
 */
enum store_status store_messages_add(struct store *st, const struct message_in *in,
		    size_t n, struct message_added *out);
/*
 * A message being written ends: its body, state and error (NULL for none);
 * logs "message-update". STORE_NOT_FOUND for no such message being written.
 */
enum store_status store_message_finish(struct store *st, const char *chat_id, uint64_t seq,
		    const char *body, const char *state, const char *error,
		    json_t **message, uint64_t *event_id);
/*
 * Conversation control (SPEC 8). Each logs its event in the same
 * transaction: "message-update" with the Message, or "message-deleted".
 * STORE_NOT_FOUND: no such message (or, for the bot-only changes, not a
 * bot's); STORE_CONFLICT: it is being written (or has all the
 * alternatives it may have).
 *
 * Edit: a new body, "edited_at" now; the message's earlier updates leave
 * the log (the new one carries all of it), so no replay shows the old text.
 */
enum store_status store_message_edit(struct store *st, const char *chat_id, uint64_t seq,
		    const char *body, json_t **message, uint64_t *event_id);
/*
 * Deletes the message, and the logged events that carry its text, so no
 * replay shows it again; logs "message-deleted" {"seq"}. Its seq is never
 * used again.
 */
enum store_status store_message_delete(struct store *st, const char *chat_id, uint64_t seq,
		    uint64_t *event_id);
/*
 * A bot's message is written again ("streaming"): as a new, empty
 * alternative shown in its place (fresh), or on from its text (continued).
 */
enum store_status store_message_reopen(struct store *st, const char *chat_id, uint64_t seq,
		    bool fresh, json_t **message, uint64_t *event_id);
/* Shows alternative index of a bot's message. */
enum store_status store_message_pick(struct store *st, const char *chat_id, uint64_t seq,
		    unsigned index, json_t **message, uint64_t *event_id);
/* Saves the text so far of a message being written (no event: it is not finished). */
enum store_status store_message_save_text(struct store *st, const char *chat_id,
		    uint64_t seq, const char *body);
/* Every message still "streaming", as Messages (after a crash); NULL when the read failed. */
json_t		*store_messages_streaming(struct store *st);
/*
 * The same, only in chats whose turn flow no node holds (no lease, or one
 * given up): left by a crash of a server that held no leases (one node).
 * SQLite keeps no leases: every message still streaming.
 */
json_t		*store_messages_unleased(struct store *st);

/*
 * The deployment's own name, made once with the database (PostgreSQL; ""
 * for SQLite): the nodes on one database share it, and nobody else.
 */
const char	*store_deployment(const struct store *st);

/* ---- turn leases (several nodes): one turn flow per chat ---- */

/*
 * The lease on a chat's turn flow that `node` holds with number `fence`.
 * A lease lapses LEASE_SECONDS after it was last kept; another node may
 * then take it, with the next number. SQLite serves one node: every lease
 * is its own (taken with number 1; nothing lapses; nothing is fenced).
 */
#define LEASE_SECONDS	10
#define LEASE_NODE_MAX	96
struct lease {
	char		 chat_id[ID_LEN + 1];
	char		 node[LEASE_NODE_MAX];
	uint64_t	 fence;
};

/*
 * Takes (or keeps) the lease on the chat for l->node: STORE_OK with
 * l->fence, and when it was another node's that lapsed, that node in other
 * and what it kept (store_lease_keep) in *saved (a new reference; else
 * other "" and *saved NULL); STORE_CONFLICT when another node holds it
 * (its name in other), ask (borrowed; NULL: nothing) then added to what
 * that node was asked (store_lease_asked), so a request survives its death.
 */
enum store_status store_lease_take(struct store *st, struct lease *l,
		    char other[LEASE_NODE_MAX], json_t **saved, json_t *ask);
/*
 * What other nodes asked of the lease's holder since it last looked, in
 * order (a new array, then cleared; a lease taken over keeps what its dead
 * node was not told yet); STORE_FENCED if the lease is no longer l.
 */
enum store_status store_lease_asked(struct store *st, const struct lease *l, json_t **asked);
/*
 * Keeps the lease LEASE_SECONDS more and stores the flow's state; STORE_FENCED
 * if lost. *asked (when not NULL) says whether something waits in
 * store_lease_asked.
 */
enum store_status store_lease_keep(struct store *st, const struct lease *l, json_t *state,
		    bool *asked);
/*
 * Gives the lease up (the flow is idle): STORE_CONFLICT when it was asked
 * something meanwhile (it stays), STORE_FENCED when it is no longer l.
 */
enum store_status store_lease_end(struct store *st, const struct lease *l);
/* The chats' last event ids, {"ID": N…}, in one read (ids: an array; gone ones absent); NULL. */
json_t		*store_chat_positions(struct store *st, json_t *ids);
/* The leases that lapsed: [{"chat_id","node","state"}…] (some at a time), or NULL. */
json_t		*store_leases_lapsed(struct store *st);
/*
 * The turn state (turns.h) that the node holding the chat's lease kept with
 * it ("turn" in what store_lease_keep stored): STORE_NOT_FOUND when nobody
 * holds it (or it lapsed), and always on SQLite.
 */
enum store_status store_lease_turn(struct store *st, const char *chat_id, json_t **turn);
/*
 * From now until store_fence(st, NULL), every write checks, in its own
 * transaction, that the lease is still l; when not it changes nothing and
 * fails with STORE_FENCED.
 */
void		 store_fence(struct store *st, const struct lease *l);

/* ---- the event log ---- */

/*
 * The reads between these two see the store at one moment, whatever other
 * nodes commit meanwhile (with SQLite, one process writes: they always do).
 */
void		 store_view_begin(struct store *st);
void		 store_view_end(struct store *st);

/* Appends a durable event with the chat's next id. */
enum store_status store_event_append(struct store *st, const char *chat_id,
		    const char *name, json_t *data, uint64_t *event_id);
/*
 * Durable events with id > after, oldest first, as an array of
 * {"id":N,"name":"…","data":{…}}. STORE_GONE when some of them are no
 * longer kept, so the caller must start from a snapshot.
 */
enum store_status store_events_after(struct store *st, const char *chat_id,
		    uint64_t after, json_t **events);

/* ---- bots: the Bot shape of SPEC §2, with "greeting" (SPEC 8) ---- */

json_t		*store_bot_list(struct store *st);
/* By id, or else by name (case-insensitive). */
enum store_status store_bot_get(struct store *st, const char *id_or_name, json_t **bot);
/* fields: a complete, validated Bot without "id". */
enum store_status store_bot_create(struct store *st, json_t *fields, json_t **bot);
/*
 * fields: the complete, validated new Bot, made from old as read: written
 * only while the stored bot is still old (STORE_CHANGED when another
 * request, on any node, changed or deleted it meanwhile).
 */
enum store_status store_bot_update(struct store *st, const char *id, json_t *old,
		    json_t *fields, json_t **bot);
/* The ids of the chats the bot is in. */
json_t		*store_bot_chats(struct store *st, const char *id);
/* Deletes the bot and takes it out of every chat. */
enum store_status store_bot_delete(struct store *st, const char *id);

/* ---- users: {"id","name","display_name","admin","created_at"} ---- */

json_t		*store_user_list(struct store *st);
/* How many users there are (0: the first admin is still to come); -1 on error. */
long		 store_user_count(struct store *st);
/*
 * By id, or else by name (case-insensitive). password, when not NULL, gets
 * the stored Argon2id encoding (free it; NULL for a user without one).
 */
enum store_status store_user_get(struct store *st, const char *id_or_name, json_t **user,
		    char **password);
/* The same by name only (what a person signs in with, or a proxy names). */
enum store_status store_user_named(struct store *st, const char *name, json_t **user,
		    char **password);
/*
 * Whether a new user is an administrator. The first user's two are decided
 * with the insert, one node at a time: two nodes making the first user at
 * once make one administrator.
 */
enum user_admin {		/* the stores' SQL knows these numbers */
	USER_NOT_ADMIN = 0,
	USER_ADMIN = 1,
	USER_ADMIN_IF_FIRST = 2,	/* when no user exists yet */
	USER_FIRST_ADMIN = 3,		/* only when no user exists yet, else STORE_CONFLICT */
};
/* STORE_CONFLICT when the name is taken (in any letter case). */
enum store_status store_user_create(struct store *st, const char *name,
		    const char *display_name, const char *password, enum user_admin admin,
		    json_t **user);
/* Changes what is given: display_name and password when not NULL, admin when 0 or 1. */
enum store_status store_user_update(struct store *st, const char *id,
		    const char *display_name, const char *password, int admin, json_t **user);
/* The user, their sessions, tokens and memberships; their messages stay. */
enum store_status store_user_delete(struct store *st, const char *id);

/* ---- sessions: by the SHA-256 (hex) of their id; times are Unix seconds ---- */

enum store_status store_session_create(struct store *st, const char *hash,
		    const char *user_id, int64_t now);
/* The session's user and when it was last seen; STORE_NOT_FOUND when there is none. */
enum store_status store_session_get(struct store *st, const char *hash,
		    char user_id[ID_LEN + 1], int64_t *last_seen);
enum store_status store_session_touch(struct store *st, const char *hash, int64_t now);
enum store_status store_session_delete(struct store *st, const char *hash);
/* Every session of the user, as an array of hashes (to end their streams), or NULL. */
json_t		*store_user_sessions(struct store *st, const char *user_id);
/* Drops the user's sessions; all of them, or all but keep (a hash, or NULL). */
enum store_status store_sessions_delete_user(struct store *st, const char *user_id,
		    const char *keep);
/* Drops the sessions not seen since before. */
enum store_status store_sessions_expire(struct store *st, int64_t before);

/* ---- API tokens: {"id","name","created_at"}, found by the SHA-256 (hex) of the secret ---- */

enum store_status store_token_create(struct store *st, const char *user_id,
		    const char *name, const char *hash, json_t **token);
/* The user's tokens, oldest first; NULL on error. */
json_t		*store_token_list(struct store *st, const char *user_id);
/* The user and the token's id for a secret's hash; STORE_NOT_FOUND when there is none. */
enum store_status store_token_find(struct store *st, const char *hash,
		    char user_id[ID_LEN + 1], char token_id[ID_LEN + 1]);
/* The token's hash in *hash (to end its streams; free it), when not NULL. */
enum store_status store_token_delete(struct store *st, const char *user_id,
		    const char *token_id, char **hash);

/* ---- members of a chat: Users, with "added_at" ---- */

json_t		*store_member_list(struct store *st, const char *chat_id);
/* STORE_OK when the user is a member of the chat, STORE_NOT_FOUND when not. */
enum store_status store_member_is(struct store *st, const char *chat_id, const char *user_id);
/*
 * The user has read the chat up to seq (no further than its newest message):
 * STORE_OK when that moved their mark forward, to *mark; STORE_NOT_FOUND when
 * it did not (or they are not a member).
 */
enum store_status store_member_read(struct store *st, const char *chat_id, const char *user_id,
		    uint64_t seq, uint64_t *mark);
/* Adds the user (already a member: STORE_OK). STORE_NOT_FOUND: no such chat or user. */
enum store_status store_member_add(struct store *st, const char *chat_id, const char *user_id);
enum store_status store_member_remove(struct store *st, const char *chat_id,
		    const char *user_id);

/* ---- invites to a chat: by the SHA-256 (hex) of their token ---- */

enum store_status store_invite_create(struct store *st, const char *hash,
		    const char *chat_id, const char *user_id, int64_t expires_at);
/* The chat an invite is for, while it has not expired at now. */
enum store_status store_invite_get(struct store *st, const char *hash, int64_t now,
		    char chat_id[ID_LEN + 1]);
/* Drops the invites expired at now. */
enum store_status store_invites_expire(struct store *st, int64_t now);
/* Drops every invite to the chat. */
enum store_status store_invites_drop(struct store *st, const char *chat_id);

#endif
