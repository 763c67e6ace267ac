/*
 * postgres_accounts.c - users, their sessions and API tokens, the members of
 * chats and invites to them, on PostgreSQL (store.h). User names are unique
 * without regard to case (a unique index on lower(name)). Sessions, tokens
 * and invites are found by the hash of their secret; the secret is never
 * stored. Each write is one statement; foreign keys make deleting a user
 * delete their sessions, tokens and memberships, never their messages, and
 * make a row naming a missing chat or user STORE_NOT_FOUND. Nothing is kept
 * in memory: several servers may share the database, so every question
 * (store_member_is too) is asked of it.
 */
#include "store/postgres.h"
#include "store/shapes.h"
#include "util/ids.h"
#include "util/xmalloc.h"

#include <stdio.h>
#include <string.h>

/* ---------- rows to JSON ---------- */

/* A row of USER_COLS as a User. */
static json_t *
row_user(struct postgres_store *st, PGresult *r, int row)
{
	(void)st;
	return shape_user(pg_col_text(r, row, 0), pg_col_text(r, row, 1),
	    pg_col_text(r, row, 2), pg_col_int(r, row, 3) != 0, pg_col_text(r, row, 4));
}

/* A member: the User, then when they were added. */
static json_t *
row_member(struct postgres_store *st, PGresult *r, int row)
{
	json_t *user = row_user(st, r, row);
	json_object_set_new(user, "added_at", pg_col_json(r, row, 5));
	return user;
}

static json_t *
row_token(struct postgres_store *st, PGresult *r, int row)
{
	(void)st;
	return shape_token(pg_col_text(r, row, 0), pg_col_text(r, row, 1),
	    pg_col_text(r, row, 2));
}

static json_t *
row_text(struct postgres_store *st, PGresult *r, int row)
{
	(void)st;
	return pg_col_json(r, row, 0);
}

/* Runs a query for one row: its result (PQclear it), else NULL and *rc says why. */
static PGresult *
one_row(struct postgres_store *st, enum pg_stmt id, const struct pg_params *p,
    enum store_status *rc)
{
	PGresult *r = postgres_run(st, id, p);
	*rc = r == NULL ? STORE_ERROR : PQntuples(r) > 0 ? STORE_OK : STORE_NOT_FOUND;
	if (*rc == STORE_OK)
		return r;
	PQclear(r);
	return NULL;
}

/* Copies the id in column col of the first row into out. */
static void
column_id(PGresult *r, int col, char out[ID_LEN + 1])
{
	snprintf(out, ID_LEN + 1, "%s", PQgetvalue(r, 0, col));
}

/* Runs a query for one row: its first column in id, and its second in id2 when not NULL. */
static enum store_status
one_ids(struct postgres_store *st, enum pg_stmt stmt, const struct pg_params *p,
    char id[ID_LEN + 1], char id2[ID_LEN + 1])
{
	enum store_status rc;
	PGresult *r = one_row(st, stmt, p, &rc);
	if (r == NULL)
		return rc;
	column_id(r, 0, id);
	if (id2 != NULL)
		column_id(r, 1, id2);
	PQclear(r);
	return STORE_OK;
}

/* ---------- writes ---------- */

/*
 * Runs a write: STORE_NOT_FOUND when a chat or user it names is missing (a
 * foreign key), STORE_CONFLICT when a unique value is taken, STORE_ERROR on
 * any other failure.
 */
static enum store_status
write_status(struct postgres_store *st, enum pg_stmt id, const struct pg_params *p)
{
	return postgres_exec(st, id, p) < 0 ? postgres_failure(st) : STORE_OK;
}

/* write_status, and STORE_NOT_FOUND when the write changed no row. */
static enum store_status
write_changes(struct postgres_store *st, enum pg_stmt id, const struct pg_params *p)
{
	long changed = postgres_exec(st, id, p);
	if (changed < 0)
		return postgres_failure(st);
	return changed > 0 ? STORE_OK : STORE_NOT_FOUND;
}

/* ---------- users ---------- */

json_t *
postgres_user_list(struct postgres_store *st)
{
	return postgres_collect(st, PG_USER_LIST, NULL, row_user);
}

long
postgres_user_count(struct postgres_store *st)
{
	PGresult *r = postgres_run(st, PG_USER_COUNT, NULL);
	if (r == NULL)
		return -1;
	long n = (long)pg_col_int(r, 0, 0);
	PQclear(r);
	return n;
}

/* The user statement id finds by ref, with its password when asked. */
static enum store_status
user_row(struct postgres_store *st, enum pg_stmt id, const char *ref, json_t **user,
    char **password)
{
	*user = NULL;
	if (password != NULL)
		*password = NULL;
	struct pg_params p = {0};
	pg_text(&p, ref);
	enum store_status rc;
	PGresult *r = one_row(st, id, &p, &rc);
	if (r == NULL)
		return rc;
	*user = row_user(st, r, 0);
	if (password != NULL && !PQgetisnull(r, 0, 5))
		*password = xstrdup(PQgetvalue(r, 0, 5));
	PQclear(r);
	return STORE_OK;
}

enum store_status
postgres_user_get(struct postgres_store *st, const char *id_or_name, json_t **user,
    char **password)
{
	return user_row(st, PG_USER_GET, id_or_name, user, password);
}

enum store_status
postgres_user_named(struct postgres_store *st, const char *name, json_t **user, char **password)
{
	return user_row(st, PG_USER_NAMED, name, user, password);
}


/*
 * The insert, for the first user's modes in a transaction under a lock that
 * every node making a first user takes: the insert's snapshot, taken after
 * the lock, sees any first user made meanwhile.
 */
static enum store_status
user_insert(struct postgres_store *st, const struct pg_params *p, enum user_admin admin)
{
	if (admin != USER_ADMIN_IF_FIRST && admin != USER_FIRST_ADMIN)
		return write_changes(st, PG_USER_INSERT, p);
	if (postgres_begin(st) != 0)
		return STORE_ERROR;
	if (postgres_exec(st, PG_FIRST_USER_LOCK, NULL) < 0)
		return postgres_fail(st, STORE_ERROR);
	enum store_status rc = write_changes(st, PG_USER_INSERT, p);
	if (rc != STORE_OK)
		return postgres_fail(st, rc);
	return postgres_commit(st) == 0 ? STORE_OK : STORE_ERROR;
}

/* A NULL display_name is the name. */
enum store_status
postgres_user_create(struct postgres_store *st, const char *name, const char *display_name,
    const char *password, enum user_admin admin, json_t **user)
{
	char id[ID_LEN + 1], now[21];
	id_generate(id);
	time_now_rfc3339(now);
	*user = NULL;
	struct pg_params p = {0};
	pg_text(&p, id);
	pg_text(&p, name);
	pg_text(&p, display_name);
	pg_int(&p, admin);
	pg_text(&p, now);
	pg_text(&p, password);
	enum store_status rc = user_insert(st, &p, admin);
	if (rc == STORE_NOT_FOUND)
		return STORE_CONFLICT;	/* USER_FIRST_ADMIN, and a user exists */
	return rc == STORE_OK ? postgres_user_get(st, id, user, NULL) : rc;
}

enum store_status
postgres_user_update(struct postgres_store *st, const char *id, const char *display_name,
    const char *password, int admin, json_t **user)
{
	*user = NULL;
	struct pg_params p = {0};
	pg_text(&p, id);
	pg_text(&p, display_name);
	pg_text(&p, password);
	if (admin == 0 || admin == 1)
		pg_int(&p, admin);
	else
		pg_text(&p, NULL);
	enum store_status rc = write_changes(st, PG_USER_UPDATE, &p);
	return rc == STORE_OK ? postgres_user_get(st, id, user, NULL) : rc;
}

enum store_status
postgres_user_delete(struct postgres_store *st, const char *id)
{
	struct pg_params p = {0};
	pg_text(&p, id);
	return write_changes(st, PG_USER_DELETE, &p);
}

/* ---------- sessions ---------- */

enum store_status
postgres_session_create(struct postgres_store *st, const char *hash, const char *user_id,
    int64_t now)
{
	struct pg_params p = {0};
	pg_text(&p, hash);
	pg_text(&p, user_id);
	pg_int(&p, now);
	return write_status(st, PG_SESSION_INSERT, &p);
}

enum store_status
postgres_session_get(struct postgres_store *st, const char *hash, char user_id[ID_LEN + 1],
    int64_t *last_seen)
{
	struct pg_params p = {0};
	pg_text(&p, hash);
	enum store_status rc;
	PGresult *r = one_row(st, PG_SESSION_GET, &p, &rc);
	if (r == NULL)
		return rc;
	column_id(r, 0, user_id);
	*last_seen = pg_col_int(r, 0, 1);
	PQclear(r);
	return STORE_OK;
}

enum store_status
postgres_session_touch(struct postgres_store *st, const char *hash, int64_t now)
{
	struct pg_params p = {0};
	pg_text(&p, hash);
	pg_int(&p, now);
	return write_changes(st, PG_SESSION_TOUCH, &p);
}

enum store_status
postgres_session_delete(struct postgres_store *st, const char *hash)
{
	struct pg_params p = {0};
	pg_text(&p, hash);
	return write_changes(st, PG_SESSION_DELETE, &p);
}

json_t *
postgres_user_sessions(struct postgres_store *st, const char *user_id)
{
	struct pg_params p = {0};
	pg_text(&p, user_id);
	return postgres_collect(st, PG_SESSIONS_OF_USER, &p, row_text);
}

enum store_status
postgres_sessions_delete_user(struct postgres_store *st, const char *user_id,
    const char *keep)
{
	struct pg_params p = {0};
	pg_text(&p, user_id);
	pg_text(&p, keep);
	return write_status(st, PG_SESSIONS_DELETE_USER, &p);
}

enum store_status
postgres_sessions_expire(struct postgres_store *st, int64_t before)
{
	struct pg_params p = {0};
	pg_int(&p, before);
	return write_status(st, PG_SESSIONS_EXPIRE, &p);
}

/* ---------- API tokens ---------- */

enum store_status
postgres_token_create(struct postgres_store *st, const char *user_id, const char *name,
    const char *hash, json_t **token)
{
	char id[ID_LEN + 1], now[21];
	id_generate(id);
	time_now_rfc3339(now);
	*token = NULL;
	struct pg_params p = {0};
	pg_text(&p, id);
	pg_text(&p, user_id);
	pg_text(&p, name);
	pg_text(&p, hash);
	pg_text(&p, now);
	enum store_status rc = write_status(st, PG_TOKEN_INSERT, &p);
	if (rc == STORE_OK)
		*token = shape_token(id, name, now);
	return rc;
}

json_t *
postgres_token_list(struct postgres_store *st, const char *user_id)
{
	struct pg_params p = {0};
	pg_text(&p, user_id);
	return postgres_collect(st, PG_TOKEN_LIST, &p, row_token);
}

enum store_status
postgres_token_find(struct postgres_store *st, const char *hash, char user_id[ID_LEN + 1],
    char token_id[ID_LEN + 1])
{
	struct pg_params p = {0};
	pg_text(&p, hash);
	return one_ids(st, PG_TOKEN_FIND, &p, user_id, token_id);
}

/* Only the user's own token: another's is STORE_NOT_FOUND. */
enum store_status
postgres_token_delete(struct postgres_store *st, const char *user_id, const char *token_id,
    char **hash)
{
	struct pg_params p = {0};
	pg_text(&p, token_id);
	pg_text(&p, user_id);
	enum store_status rc;
	PGresult *r = one_row(st, PG_TOKEN_DELETE, &p, &rc);
	if (hash != NULL)
		*hash = r != NULL ? xstrdup(PQgetvalue(r, 0, 0)) : NULL;
	PQclear(r);
	return rc;
}

/* ---------- members ---------- */

json_t *
postgres_member_list(struct postgres_store *st, const char *chat_id)
{
	struct pg_params p = {0};
	pg_text(&p, chat_id);
	return postgres_collect(st, PG_MEMBER_LIST, &p, row_member);
}

enum store_status
postgres_member_read(struct postgres_store *st, const char *chat_id, const char *user_id,
    uint64_t seq, uint64_t *mark)
{
	struct pg_params p = {0};
	pg_text(&p, chat_id);
	pg_text(&p, user_id);
	pg_position(&p, seq);
	enum store_status rc;
	PGresult *r = one_row(st, PG_MEMBER_READ, &p, &rc);
	if (r != NULL)
		*mark = (uint64_t)pg_col_int(r, 0, 0);
	PQclear(r);
	return rc;
}

/*
 * Asked for every chat a person reads, streams or posts to: the chat's
 * member ids, read each time (another server may have changed them).
 */
enum store_status
postgres_member_is(struct postgres_store *st, const char *chat_id, const char *user_id)
{
	struct pg_params p = {0};
	pg_text(&p, chat_id);
	pg_text(&p, user_id);
	enum store_status rc;
	PQclear(one_row(st, PG_MEMBER_IS, &p, &rc));
	return rc;
}

/*
 * One statement, in the caller's transaction or on its own (member_add);
 * in a transaction a failure aborts it: the caller ends it with postgres_fail.
 */
enum store_status
postgres_member_insert(struct postgres_store *st, const char *chat_id, const char *user_id)
{
	char now[21];
	time_now_rfc3339(now);
	struct pg_params p = {0};
	pg_text(&p, chat_id);
	pg_text(&p, user_id);
	pg_text(&p, now);
	return write_status(st, PG_MEMBER_ADD, &p);
}

enum store_status
postgres_member_add(struct postgres_store *st, const char *chat_id, const char *user_id)
{
	return postgres_member_insert(st, chat_id, user_id);
}

enum store_status
postgres_member_remove(struct postgres_store *st, const char *chat_id, const char *user_id)
{
	struct pg_params p = {0};
	pg_text(&p, chat_id);
	pg_text(&p, user_id);
	return write_changes(st, PG_MEMBER_REMOVE, &p);
}

/* ---------- invites ---------- */

enum store_status
postgres_invite_create(struct postgres_store *st, const char *hash, const char *chat_id,
    const char *user_id, int64_t expires_at)
{
	struct pg_params p = {0};
	pg_text(&p, hash);
	pg_text(&p, chat_id);
	pg_text(&p, user_id);
	pg_int(&p, expires_at);
	return write_status(st, PG_INVITE_INSERT, &p);
}

/* An invite that expires at now has expired. */
enum store_status
postgres_invite_get(struct postgres_store *st, const char *hash, int64_t now,
    char chat_id[ID_LEN + 1])
{
	struct pg_params p = {0};
	pg_text(&p, hash);
	pg_int(&p, now);
	return one_ids(st, PG_INVITE_GET, &p, chat_id, NULL);
}

enum store_status
postgres_invites_expire(struct postgres_store *st, int64_t now)
{
	struct pg_params p = {0};
	pg_int(&p, now);
	return write_status(st, PG_INVITES_EXPIRE, &p);
}

enum store_status
postgres_invites_drop(struct postgres_store *st, const char *chat_id)
{
	struct pg_params p = {0};
	pg_text(&p, chat_id);
	return write_status(st, PG_INVITES_DROP, &p);
}
