/*
 * sqlite_accounts.c - users, their sessions and API tokens, the members of
 * chats and invites to them, on SQLite (store.h). User names are unique
 * without regard to case (COLLATE NOCASE). Sessions, tokens and invites are
 * found by the hash of their secret; the secret is never stored. Each write
 * is one statement; foreign keys (on) make deleting a user delete their
 * sessions, tokens and memberships, never their messages, and make a row
 * naming a missing chat or user STORE_NOT_FOUND. Each chat's member ids are
 * kept in memory for store_member_is, and dropped whenever they change; a
 * Chat does not show its members, so nothing here changes a cached Chat.
 */
#include "store/shapes.h"
#include "store/sqlite.h"
#include "limits.h"
#include "util/ids.h"
#include "util/xmalloc.h"

#include <stdio.h>

/* ---------- rows to JSON ---------- */

static const char *
column_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* A row of USER_COLS as a User. */
static json_t *
row_user(struct sqlite_store *st, sqlite3_stmt *s)
{
	(void)st;
	return shape_user(column_text(s, 0), column_text(s, 1), column_text(s, 2),
	    sqlite3_column_int(s, 3) != 0, column_text(s, 4));
}

/* A member: the User, then when they were added. */
static json_t *
row_member(struct sqlite_store *st, sqlite3_stmt *s)
{
	json_t *user = row_user(st, s);
	json_object_set_new(user, "added_at", sqlite_column_json(s, 5));
	return user;
}

static json_t *
row_token(struct sqlite_store *st, sqlite3_stmt *s)
{
	(void)st;
	return shape_token(column_text(s, 0), column_text(s, 1), column_text(s, 2));
}

static json_t *
row_int(struct sqlite_store *st, sqlite3_stmt *s)
{
	(void)st;
	return json_integer(sqlite3_column_int64(s, 0));
}

static json_t *
row_text(struct sqlite_store *st, sqlite3_stmt *s)
{
	(void)st;
	return sqlite_column_json(s, 0);
}

/* Copies the id in column i into out. */
static void
column_id(sqlite3_stmt *s, int i, char out[ID_LEN + 1])
{
	snprintf(out, ID_LEN + 1, "%s", column_text(s, i));
}

/* Steps s once: its first column in id, and its second in id2 when not NULL. */
static enum store_status
one_ids(struct sqlite_store *st, sqlite3_stmt *s, char id[ID_LEN + 1], char id2[ID_LEN + 1])
{
	if (s == NULL)
		return STORE_ERROR;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		column_id(s, 0, id);
		if (id2 != NULL)
			column_id(s, 1, id2);
	}
	sqlite3_reset(s);
	return sqlite_step_status(st, s, rc);
}

/* ---------- writes ---------- */

/*
 * Steps a write (NULL: STORE_ERROR): STORE_NOT_FOUND when a chat or user it
 * names is missing (a foreign key), STORE_CONFLICT when a unique value is
 * taken; any other failure is logged.
 */
static enum store_status
write_status(struct sqlite_store *st, sqlite3_stmt *s)
{
	if (s == NULL)
		return STORE_ERROR;
	int rc = sqlite3_step(s);
	int ext = sqlite3_extended_errcode(st->db);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		return STORE_NOT_FOUND;
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		return STORE_CONFLICT;
	sqlite_log_error(st, sqlite3_sql(s));
	return STORE_ERROR;
}

/* write_status, and STORE_NOT_FOUND when the write changed no row. */
static enum store_status
write_changes(struct sqlite_store *st, sqlite3_stmt *s)
{
	enum store_status rc = write_status(st, s);
	if (rc == STORE_OK && sqlite3_changes(st->db) == 0)
		return STORE_NOT_FOUND;
	return rc;
}

/* ---------- users ---------- */

json_t *
sqlite_user_list(struct sqlite_store *st)
{
	return sqlite_collect(st, sqlite_stmt(st, SQL_USER_LIST), row_user);
}

long
sqlite_user_count(struct sqlite_store *st)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_USER_COUNT);
	if (s == NULL)
		return -1;
	int rc = sqlite3_step(s);
	long n = rc == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	return sqlite_step_status(st, s, rc) == STORE_OK ? n : -1;
}

/* The user statement id finds by ref, with its password when asked. */
static enum store_status
user_row(struct sqlite_store *st, enum stmt_id id, const char *ref, json_t **user,
    char **password)
{
	*user = NULL;
	if (password != NULL)
		*password = NULL;
	sqlite3_stmt *s = sqlite_stmt(st, id);
	if (s == NULL)
		return STORE_ERROR;
	sqlite_bind_text(s, 1, ref);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*user = row_user(st, s);
		if (password != NULL && sqlite3_column_type(s, 5) != SQLITE_NULL)
			*password = xstrdup(column_text(s, 5));
	}
	sqlite3_reset(s);
	return sqlite_step_status(st, s, rc);
}

enum store_status
sqlite_user_get(struct sqlite_store *st, const char *id_or_name, json_t **user, char **password)
{
	return user_row(st, SQL_USER_GET, id_or_name, user, password);
}

enum store_status
sqlite_user_named(struct sqlite_store *st, const char *name, json_t **user, char **password)
{
	return user_row(st, SQL_USER_NAMED, name, user, password);
}


/* A NULL display_name is the name. */
enum store_status
sqlite_user_create(struct sqlite_store *st, const char *name, const char *display_name,
    const char *password, enum user_admin admin, json_t **user)
{
	char id[ID_LEN + 1], now[21];
	id_generate(id);
	time_now_rfc3339(now);
	*user = NULL;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_USER_INSERT);
	if (s != NULL) {
		sqlite_bind_text(s, 1, id);
		sqlite_bind_text(s, 2, name);
		sqlite_bind_text(s, 3, display_name);
		sqlite3_bind_int(s, 4, (int)admin);
		sqlite_bind_text(s, 5, now);
		sqlite_bind_text(s, 6, password);
	}
	enum store_status rc = write_changes(st, s);
	if (rc == STORE_NOT_FOUND)
		return STORE_CONFLICT;	/* USER_FIRST_ADMIN, and a user exists */
	return rc == STORE_OK ? sqlite_user_get(st, id, user, NULL) : rc;
}

enum store_status
sqlite_user_update(struct sqlite_store *st, const char *id, const char *display_name,
    const char *password, int admin, json_t **user)
{
	*user = NULL;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_USER_UPDATE);
	if (s != NULL) {
		sqlite_bind_text(s, 1, id);
		sqlite_bind_text(s, 2, display_name);
		sqlite_bind_text(s, 3, password);
		if (admin == 0 || admin == 1)
			sqlite3_bind_int(s, 4, admin);
	}
	enum store_status rc = write_changes(st, s);
	return rc == STORE_OK ? sqlite_user_get(st, id, user, NULL) : rc;
}

enum store_status
sqlite_user_delete(struct sqlite_store *st, const char *id)
{
	json_object_clear(st->members);		/* the user leaves every chat */
	return sqlite_delete(st, SQL_USER_DELETE, id);
}

/* ---------- sessions ---------- */

enum store_status
sqlite_session_create(struct sqlite_store *st, const char *hash, const char *user_id, int64_t now)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_SESSION_INSERT);
	if (s != NULL) {
		sqlite_bind_text(s, 1, hash);
		sqlite_bind_text(s, 2, user_id);
		sqlite3_bind_int64(s, 3, now);
	}
	return write_status(st, s);
}

enum store_status
sqlite_session_get(struct sqlite_store *st, const char *hash, char user_id[ID_LEN + 1],
    int64_t *last_seen)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_SESSION_GET);
	if (s == NULL)
		return STORE_ERROR;
	sqlite_bind_text(s, 1, hash);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		column_id(s, 0, user_id);
		*last_seen = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return sqlite_step_status(st, s, rc);
}

enum store_status
sqlite_session_touch(struct sqlite_store *st, const char *hash, int64_t now)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_SESSION_TOUCH);
	if (s != NULL) {
		sqlite_bind_text(s, 1, hash);
		sqlite3_bind_int64(s, 2, now);
	}
	return write_changes(st, s);
}

enum store_status
sqlite_session_delete(struct sqlite_store *st, const char *hash)
{
	return sqlite_delete(st, SQL_SESSION_DELETE, hash);
}

json_t *
sqlite_user_sessions(struct sqlite_store *st, const char *user_id)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_SESSIONS_OF_USER);
	if (s != NULL)
		sqlite_bind_text(s, 1, user_id);
	return sqlite_collect(st, s, row_text);
}

enum store_status
sqlite_sessions_delete_user(struct sqlite_store *st, const char *user_id, const char *keep)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_SESSIONS_DELETE_USER);
	if (s != NULL) {
		sqlite_bind_text(s, 1, user_id);
		sqlite_bind_text(s, 2, keep);
	}
	return write_status(st, s);
}

enum store_status
sqlite_sessions_expire(struct sqlite_store *st, int64_t before)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_SESSIONS_EXPIRE);
	if (s != NULL)
		sqlite3_bind_int64(s, 1, before);
	return write_status(st, s);
}

/* ---------- API tokens ---------- */

enum store_status
sqlite_token_create(struct sqlite_store *st, const char *user_id, const char *name, const char *hash,
    json_t **token)
{
	char id[ID_LEN + 1], now[21];
	id_generate(id);
	time_now_rfc3339(now);
	*token = NULL;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_TOKEN_INSERT);
	if (s != NULL) {
		sqlite_bind_text(s, 1, id);
		sqlite_bind_text(s, 2, user_id);
		sqlite_bind_text(s, 3, name);
		sqlite_bind_text(s, 4, hash);
		sqlite_bind_text(s, 5, now);
	}
	enum store_status rc = write_status(st, s);
	if (rc == STORE_OK)
		*token = shape_token(id, name, now);
	return rc;
}

json_t *
sqlite_token_list(struct sqlite_store *st, const char *user_id)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_TOKEN_LIST);
	if (s != NULL)
		sqlite_bind_text(s, 1, user_id);
	return sqlite_collect(st, s, row_token);
}

enum store_status
sqlite_token_find(struct sqlite_store *st, const char *hash, char user_id[ID_LEN + 1],
    char token_id[ID_LEN + 1])
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_TOKEN_FIND);
	if (s != NULL)
		sqlite_bind_text(s, 1, hash);
	return one_ids(st, s, user_id, token_id);
}

/* Only the user's own token: another's is STORE_NOT_FOUND. */
enum store_status
sqlite_token_delete(struct sqlite_store *st, const char *user_id, const char *token_id, char **hash)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_TOKEN_DELETE);
	if (s != NULL) {
		sqlite_bind_text(s, 1, token_id);
		sqlite_bind_text(s, 2, user_id);
	}
	json_t *deleted;
	enum store_status rc = sqlite_one(st, s, row_text, &deleted);
	if (hash != NULL)
		*hash = rc == STORE_OK ? xstrdup(json_string_value(deleted)) : NULL;
	json_decref(deleted);
	return rc;
}

/* ---------- members ---------- */

json_t *
sqlite_member_list(struct sqlite_store *st, const char *chat_id)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MEMBER_LIST);
	if (s != NULL)
		sqlite_bind_text(s, 1, chat_id);
	return sqlite_collect(st, s, row_member);
}

/* The chat's member ids as a set {user id: true}, cached (borrowed), or NULL on error. */
static json_t *
member_set(struct sqlite_store *st, const char *chat_id)
{
	json_t *set = json_object_get(st->members, chat_id);
	if (set != NULL)
		return set;
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MEMBER_IDS);
	if (s != NULL)
		sqlite_bind_text(s, 1, chat_id);
	json_t *ids = sqlite_collect(st, s, row_text), *id;
	if (ids == NULL)
		return NULL;
	set = json_object();
	size_t i;
	json_array_foreach(ids, i, id)
		json_object_set_new(set, json_string_value(id), json_true());
	json_decref(ids);
	if (json_object_size(st->members) >= LIMIT_CHATS_CACHED)
		json_object_clear(st->members);
	json_object_set_new(st->members, chat_id, set);
	return set;
}

json_t *
sqlite_member_ids(struct sqlite_store *st, const char *chat_id)
{
	json_t *set = member_set(st, chat_id), *ids;
	if (set == NULL || (ids = json_array()) == NULL)
		return NULL;
	const char *id;
	json_t *v;
	json_object_foreach(set, id, v)
		json_array_append_new(ids, json_string(id));
	return ids;
}

enum store_status
sqlite_member_read(struct sqlite_store *st, const char *chat_id, const char *user_id, uint64_t seq,
    uint64_t *mark)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MEMBER_READ);
	if (s != NULL) {
		sqlite_bind_text(s, 1, chat_id);
		sqlite_bind_text(s, 2, user_id);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)seq);
	}
	json_t *moved;
	enum store_status rc = sqlite_one(st, s, row_int, &moved);
	if (rc == STORE_OK)
		*mark = (uint64_t)json_integer_value(moved);
	json_decref(moved);
	return rc;
}

/*
 * Asked for every chat a person reads, streams or posts to: answered from
 * memory (each chat's members are read once, and dropped when they change).
 */
enum store_status
sqlite_member_is(struct sqlite_store *st, const char *chat_id, const char *user_id)
{
	json_t *set = member_set(st, chat_id);
	if (set == NULL)
		return STORE_ERROR;
	return json_object_get(set, user_id) != NULL ? STORE_OK : STORE_NOT_FOUND;
}

enum store_status
sqlite_member_insert(struct sqlite_store *st, const char *chat_id, const char *user_id)
{
	json_object_del(st->members, chat_id);
	char now[21];
	time_now_rfc3339(now);
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MEMBER_ADD);
	if (s != NULL) {
		sqlite_bind_text(s, 1, chat_id);
		sqlite_bind_text(s, 2, user_id);
		sqlite_bind_text(s, 3, now);
	}
	return write_status(st, s);
}

enum store_status
sqlite_member_add(struct sqlite_store *st, const char *chat_id, const char *user_id)
{
	return sqlite_member_insert(st, chat_id, user_id);
}

enum store_status
sqlite_member_remove(struct sqlite_store *st, const char *chat_id, const char *user_id)
{
	json_object_del(st->members, chat_id);
	sqlite3_stmt *s = sqlite_stmt(st, SQL_MEMBER_REMOVE);
	if (s != NULL) {
		sqlite_bind_text(s, 1, chat_id);
		sqlite_bind_text(s, 2, user_id);
	}
	return write_changes(st, s);
}

/* ---------- invites ---------- */

enum store_status
sqlite_invite_create(struct sqlite_store *st, const char *hash, const char *chat_id,
    const char *user_id, int64_t expires_at)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_INVITE_INSERT);
	if (s != NULL) {
		sqlite_bind_text(s, 1, hash);
		sqlite_bind_text(s, 2, chat_id);
		sqlite_bind_text(s, 3, user_id);
		sqlite3_bind_int64(s, 4, expires_at);
	}
	return write_status(st, s);
}

/* An invite that expires at now has expired. */
enum store_status
sqlite_invite_get(struct sqlite_store *st, const char *hash, int64_t now, char chat_id[ID_LEN + 1])
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_INVITE_GET);
	if (s != NULL) {
		sqlite_bind_text(s, 1, hash);
		sqlite3_bind_int64(s, 2, now);
	}
	return one_ids(st, s, chat_id, NULL);
}

enum store_status
sqlite_invites_expire(struct sqlite_store *st, int64_t now)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_INVITES_EXPIRE);
	if (s != NULL)
		sqlite3_bind_int64(s, 1, now);
	return write_status(st, s);
}

enum store_status
sqlite_invites_drop(struct sqlite_store *st, const char *chat_id)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_INVITES_DROP);
	if (s != NULL)
		sqlite_bind_text(s, 1, chat_id);
	return write_status(st, s);
}
