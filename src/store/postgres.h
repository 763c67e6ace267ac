/*
 * postgres.h - what the PostgreSQL store's files share (not part of the store
 * interface): the connection, its prepared statements, parameters, and small
 * helpers for running statements and turning rows into JSON. store.c calls
 * the postgres_* operations below, one for each store_* of store.h.
 */
#ifndef PARLEY_STORE_POSTGRES_H
#define PARLEY_STORE_POSTGRES_H
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "limits.h"
#include "store/store.h"
#include "util/ids.h"

enum pg_stmt {
	PG_BEGIN, PG_BEGIN_VIEW, PG_COMMIT, PG_ROLLBACK,
	PG_LEASE_TAKE, PG_LEASE_ASK, PG_LEASE_PEEK, PG_LEASE_ASKED, PG_LEASE_CLEAR, PG_LEASE_KEEP, PG_LEASE_END, PG_LEASE_LAPSED,
	PG_LEASE_CHECK, PG_LEASE_TURN, PG_CHAT_POSITIONS,
	PG_CHAT_LIST, PG_CHAT_LIST_MEMBER, PG_CHAT_GET, PG_CHAT_INSERT, PG_CHAT_UPDATE,
	PG_CHAT_LOCK_LEASE, PG_CHAT_DELETE_MESSAGES, PG_CHAT_DELETE, PG_CHAT_COUNTERS,
	PG_CHAT_NEXT_EVENT,
	PG_CHAT_BOTS_KEEP, PG_CHAT_BOT_ADD, PG_CHAT_MUTE,
	PG_MSG_AFTER, PG_MSG_LAST, PG_MSG_APPEND, PG_MSG_GET, PG_MSG_FINISH,
	PG_MSG_STREAMING, PG_MSG_UNLEASED, PG_MSG_SAVE_TEXT,
	PG_MSG_EDIT, PG_MSG_REGENERATE, PG_MSG_CONTINUE, PG_MSG_PICK, PG_MSG_DELETE,
	PG_ALT_KEEP, PG_ALT_FIRST, PG_EVENT_PURGE_MSG, PG_EVENT_PURGE_UPDATES,
	PG_EVENT_INSERT, PG_EVENT_PRUNE, PG_EVENT_AFTER, PG_EVENT_FINAL_AFTER,
	PG_BOT_LIST, PG_BOT_GET, PG_BOT_INSERT, PG_BOT_UPDATE, PG_BOT_DELETE,
	PG_BOT_CHATS,
	PG_USER_LIST, PG_USER_COUNT, PG_USER_GET, PG_USER_NAMED, PG_USER_INSERT, PG_FIRST_USER_LOCK,
	PG_USER_UPDATE,
	PG_USER_DELETE,
	PG_SESSION_INSERT, PG_SESSION_GET, PG_SESSION_TOUCH, PG_SESSION_DELETE,
	PG_SESSIONS_OF_USER, PG_SESSIONS_DELETE_USER, PG_SESSIONS_EXPIRE,
	PG_TOKEN_INSERT, PG_TOKEN_LIST, PG_TOKEN_FIND, PG_TOKEN_DELETE,
	PG_MEMBER_LIST, PG_MEMBER_IS, PG_MEMBER_ADD, PG_MEMBER_REMOVE, PG_MEMBER_READ,
	PG_MEMBER_READ_LAST,
	PG_CHAT_ACTIVITY, PG_CHAT_ITEM,
	PG_INVITE_INSERT, PG_INVITE_GET, PG_INVITES_EXPIRE, PG_INVITES_DROP, PG_SERVERS_USING,
	PG_COUNT
};
/* postgres_sql.c: each statement's text, and the schema's migrations (1..count, in order). */
extern const char *const pg_sql[PG_COUNT];
extern const char *const pg_migrations[];
extern const size_t	 pg_migration_count;

struct fiber;
struct pg_link;
struct pg_waiter;

struct postgres_store {
	PGconn		*conn;
	struct pg_link	*link;			/* makes the next connection when this one is lost */
	unsigned	 answer_ms;		/* a round trip's wait for its answer gives up after (0: never) */
	int64_t		 waiting_since;		/* when the owner's wait for the server began (monotonic ms), or 0 */
	bool		 accounts;		/* messages carry "user_id" */
	bool		 in_transaction;
	bool		 held;			/* postgres_hold: the turn kept between round trips */
	bool		 unreachable;		/* the connection failed since the last statement that worked */
	char		 sqlstate[6];		/* of the last failed statement */
	char		 deployment[33];	/* the database's own name (table deployment) */
	struct lease	 fence;			/* writes check it (store_fence) when fencing */
	bool		 fencing;
	bool		 fenced;		/* the last write failed its check */
	char		 error[256];		/* its message's first line (for logs) */
	bool		 prepared[PG_COUNT];	/* on this connection */
	/* whose turn it is on the connection (postgres.c): a round trip, or a whole transaction */
	bool		 owned;
	struct fiber	*owner;			/* NULL: code on the loop's own stack */
	short		 owner_waits;		/* what its socket must be ready for (0: its turn) */
	bool		 loop_waits;		/* code outside a fiber waits for the connection */
	struct pg_waiter *first, **last;	/* fibers waiting for their turn, in order */
};

/* A statement's parameters, all sent as text (NULL is SQL NULL). */
#define PG_MAX_PARAMS 12
struct pg_params {
	const char	*value[PG_MAX_PARAMS];
	char		 number[PG_MAX_PARAMS][24];
	int		 n;
};

void		 pg_text(struct pg_params *p, const char *v);
void		 pg_int(struct pg_params *p, int64_t v);
void		 pg_real(struct pg_params *p, double v);
/* uint64_t positions beyond BIGINT mean "after everything". */
void		 pg_position(struct pg_params *p, uint64_t v);

/*
 * Runs a statement: its result (PQclear it) when it succeeded, else NULL
 * with the failure's SQLSTATE in st->sqlstate (logged unless it is a
 * constraint's). A lost connection fails the calls that meet it until a
 * new one is ready (postgres_link.c).
 */
PGresult	*postgres_run(struct postgres_store *st, enum pg_stmt id, const struct pg_params *p);
/* Runs a statement that returns no rows: the rows it changed, or -1. */
long		 postgres_exec(struct postgres_store *st, enum pg_stmt id, const struct pg_params *p);
/*
 * Statements that go out together (libpq's pipeline mode): one round trip
 * and one transaction for all (the pipeline's sync commits them).
 */
#define PG_BATCH_MAX (2 * LIMIT_POSTS_PER_COMMIT)
struct pg_batch {
	size_t			 n;
	enum pg_stmt		 id[PG_BATCH_MAX];
	const struct pg_params	*params[PG_BATCH_MAX];	/* NULL: none */
	PGresult		*result[PG_BATCH_MAX];	/* when it succeeded: PQclear each */
	bool			 maybe_committed;	/* failed: after the commit went out */
};
/*
 * Runs the batch's statements in order, in one round trip and one
 * transaction: 0 when every one succeeded and they committed, else -1,
 * every result dropped, st->sqlstate the failure's, and none of them
 * committed, unless b->maybe_committed: the connection broke (or the
 * answer was given up) after the whole batch and its commit went out,
 * with no statement refused, so whether it committed cannot be known.
 * Not inside a transaction the caller began.
 */
int		 postgres_run_batch(struct postgres_store *st, struct pg_batch *b);
/*
 * The caller's turn on the connection, kept from one round trip to the next
 * until postgres_let_go (no other caller's round trip comes in between).
 */
void		 postgres_hold(struct postgres_store *st);
void		 postgres_let_go(struct postgres_store *st);
/* What the last failure was: STORE_CONFLICT (unique), STORE_NOT_FOUND (foreign key), else STORE_ERROR. */
enum store_status postgres_failure(struct postgres_store *st);
int		 postgres_begin(struct postgres_store *st);
int		 postgres_commit(struct postgres_store *st);
const char	*postgres_deployment(const struct postgres_store *st);
/* Turn leases (postgres_leases.c): store.h. */
/* The lease as a statement's $1..$3 (p's numbers live in p: filled in place). */
void		 postgres_lease_params(struct pg_params *p, const struct lease *l);
enum store_status postgres_lease_take(struct postgres_store *st, struct lease *l,
		    char holder[LEASE_NODE_MAX], json_t **saved, json_t *ask);
enum store_status postgres_lease_asked(struct postgres_store *st, const struct lease *l,
		    json_t **asked);
enum store_status postgres_lease_keep(struct postgres_store *st, const struct lease *l,
		    json_t *state, bool *asked);
enum store_status postgres_lease_end(struct postgres_store *st, const struct lease *l);
json_t		*postgres_leases_lapsed(struct postgres_store *st);
enum store_status postgres_lease_turn(struct postgres_store *st, const char *chat_id,
		    json_t **turn);
json_t		*postgres_chat_positions(struct postgres_store *st, json_t *ids);
void		 postgres_fence(struct postgres_store *st, const struct lease *l);
/* A read-only transaction that sees one moment (REPEATABLE READ); postgres_commit ends it. */
int		 postgres_view_begin(struct postgres_store *st);
/* Rolls back and returns status, for `return postgres_fail(st, X);`. */
enum store_status postgres_fail(struct postgres_store *st, enum store_status status);

typedef json_t *(*pg_row_fn)(struct postgres_store *st, PGresult *r, int row);
/* The first row converted by conv in *out, or STORE_NOT_FOUND / STORE_ERROR. */
enum store_status postgres_one(struct postgres_store *st, enum pg_stmt id,
		    const struct pg_params *p, pg_row_fn conv, json_t **out);
/* Every row converted by conv; NULL on error. */
json_t		*postgres_collect(struct postgres_store *st, enum pg_stmt id,
		    const struct pg_params *p, pg_row_fn conv);

/* Column values: text (NULL for SQL NULL), JSON string or null, integer (0 for NULL), real. */
const char	*pg_col_text(PGresult *r, int row, int col);
json_t		*pg_col_json(PGresult *r, int row, int col);
int64_t		 pg_col_int(PGresult *r, int row, int col);
double		 pg_col_real(PGresult *r, int row, int col);

/* A row of MSG_READ columns as a Message. */
json_t		*postgres_row_message(struct postgres_store *st, PGresult *r, int row);
/* The chat's message seq, or STORE_NOT_FOUND / STORE_ERROR. */
enum store_status postgres_message_read(struct postgres_store *st, const char *chat_id,
		    uint64_t seq, json_t **message);
/*
 * Ends the caller's transaction that changed message seq: its shown
 * alternative kept as it now is, the Message read, its "message-update"
 * logged, committed (rolled back on failure).
 */
enum store_status postgres_message_changed(struct postgres_store *st, const char *chat_id,
		    uint64_t seq, json_t **message, uint64_t *event_id);
/*
 * Appends a durable event inside the caller's transaction (pruning the
 * chat's old ones); its id, or 0 on failure.
 */
uint64_t	 postgres_log_event(struct postgres_store *st, const char *chat_id,
		    const char *name, json_t *data);
/*
 * Makes the user a member of the chat inside the caller's transaction (already
 * one: STORE_OK); STORE_NOT_FOUND when there is no such chat or user.
 */
enum store_status postgres_member_insert(struct postgres_store *st, const char *chat_id,
		    const char *user_id);

/* ---- the store operations (store.h) ---- */

struct postgres_store *postgres_open(const char *conninfo, char **err);
void		 postgres_close(struct postgres_store *st);
void		postgres_set_accounts(struct postgres_store *st, bool accounts);
bool		postgres_available(struct postgres_store *st);
bool		postgres_unreachable(struct postgres_store *st);
long		postgres_servers_using(struct postgres_store *st);
json_t		*postgres_chat_list(struct postgres_store *st, const char *before,
		    unsigned limit, const char *member);
enum store_status postgres_chat_get(struct postgres_store *st, const char *id, json_t **chat);
json_t		*postgres_chat_activity(struct postgres_store *st, const char *member,
		    const char *reader, unsigned offset, unsigned limit);
json_t		*postgres_chat_item(struct postgres_store *st, const char *chat_id);
enum store_status postgres_chat_create(struct postgres_store *st, const char *title,
		    const char *policy, json_t *bot_ids, const char *creator, json_t **chat);
enum store_status postgres_chat_update(struct postgres_store *st, const char *id,
		    const struct chat_change *change, json_t **chat, uint64_t *event_id);
enum store_status postgres_chat_delete(struct postgres_store *st, const char *id);
enum store_status postgres_messages_after(struct postgres_store *st, const char *chat_id,
		    uint64_t after, unsigned limit, json_t **messages);
enum store_status postgres_messages_before(struct postgres_store *st, const char *chat_id,
		    uint64_t before, unsigned n, json_t **messages);
enum store_status postgres_message_get(struct postgres_store *st, const char *chat_id,
		    uint64_t seq, json_t **message);
enum store_status postgres_messages_add(struct postgres_store *st, const struct message_in *in,
		    size_t n, struct message_added *out);
enum store_status postgres_message_finish(struct postgres_store *st, const char *chat_id,
		    uint64_t seq, const char *body, const char *state, const char *error,
		    json_t **message, uint64_t *event_id);
enum store_status postgres_message_edit(struct postgres_store *st, const char *chat_id,
		    uint64_t seq, const char *body, json_t **message, uint64_t *event_id);
enum store_status postgres_message_delete(struct postgres_store *st, const char *chat_id,
		    uint64_t seq, uint64_t *event_id);
enum store_status postgres_message_reopen(struct postgres_store *st, const char *chat_id,
		    uint64_t seq, bool fresh, json_t **message, uint64_t *event_id);
enum store_status postgres_message_pick(struct postgres_store *st, const char *chat_id,
		    uint64_t seq, unsigned index, json_t **message, uint64_t *event_id);
enum store_status postgres_message_save_text(struct postgres_store *st, const char *chat_id,
		    uint64_t seq, const char *body);
json_t		*postgres_messages_streaming(struct postgres_store *st);
json_t		*postgres_messages_unleased(struct postgres_store *st);
enum store_status postgres_event_append(struct postgres_store *st, const char *chat_id,
		    const char *name, json_t *data, uint64_t *event_id);
enum store_status postgres_events_after(struct postgres_store *st, const char *chat_id,
		    uint64_t after, json_t **events);
json_t		*postgres_bot_list(struct postgres_store *st);
enum store_status postgres_bot_get(struct postgres_store *st, const char *id_or_name,
		    json_t **bot);
enum store_status postgres_bot_create(struct postgres_store *st, json_t *fields, json_t **bot);
enum store_status postgres_bot_update(struct postgres_store *st, const char *id,
		    json_t *old, json_t *fields, json_t **bot);
json_t		*postgres_bot_chats(struct postgres_store *st, const char *id);
enum store_status postgres_bot_delete(struct postgres_store *st, const char *id);
json_t		*postgres_user_list(struct postgres_store *st);
long		postgres_user_count(struct postgres_store *st);
enum store_status postgres_user_named(struct postgres_store *st, const char *name,
		    json_t **user, char **password);
enum store_status postgres_user_get(struct postgres_store *st, const char *id_or_name,
		    json_t **user, char **password);
enum store_status postgres_user_create(struct postgres_store *st, const char *name,
		    const char *display_name, const char *password, enum user_admin admin,
		    json_t **user);
enum store_status postgres_user_update(struct postgres_store *st, const char *id,
		    const char *display_name, const char *password, int admin, json_t **user);
enum store_status postgres_user_delete(struct postgres_store *st, const char *id);
enum store_status postgres_session_create(struct postgres_store *st, const char *hash,
		    const char *user_id, int64_t now);
enum store_status postgres_session_get(struct postgres_store *st, const char *hash,
		    char user_id[ID_LEN + 1], int64_t *last_seen);
enum store_status postgres_session_touch(struct postgres_store *st, const char *hash,
		    int64_t now);
enum store_status postgres_session_delete(struct postgres_store *st, const char *hash);
json_t		*postgres_user_sessions(struct postgres_store *st, const char *user_id);
enum store_status postgres_sessions_delete_user(struct postgres_store *st, const char *user_id,
		    const char *keep);
enum store_status postgres_sessions_expire(struct postgres_store *st, int64_t before);
enum store_status postgres_token_create(struct postgres_store *st, const char *user_id,
		    const char *name, const char *hash, json_t **token);
json_t		*postgres_token_list(struct postgres_store *st, const char *user_id);
enum store_status postgres_token_find(struct postgres_store *st, const char *hash,
		    char user_id[ID_LEN + 1], char token_id[ID_LEN + 1]);
enum store_status postgres_token_delete(struct postgres_store *st, const char *user_id,
		    const char *token_id, char **hash);
json_t		*postgres_member_list(struct postgres_store *st, const char *chat_id);
enum store_status postgres_member_is(struct postgres_store *st, const char *chat_id,
		    const char *user_id);
enum store_status postgres_member_read(struct postgres_store *st, const char *chat_id,
		    const char *user_id, uint64_t seq, uint64_t *mark);
enum store_status postgres_member_add(struct postgres_store *st, const char *chat_id,
		    const char *user_id);
enum store_status postgres_member_remove(struct postgres_store *st, const char *chat_id,
		    const char *user_id);
enum store_status postgres_invite_create(struct postgres_store *st, const char *hash,
		    const char *chat_id, const char *user_id, int64_t expires_at);
enum store_status postgres_invite_get(struct postgres_store *st, const char *hash, int64_t now,
		    char chat_id[ID_LEN + 1]);
enum store_status postgres_invites_expire(struct postgres_store *st, int64_t now);
enum store_status postgres_invites_drop(struct postgres_store *st, const char *chat_id);


#endif
