/*
 * test_store_accounts.c - accounts in the SQLite store (src/store/
 * sqlite_accounts.c) on ":memory:": users (names without regard to case,
 * deleting one takes their sessions, tokens and memberships, not their
 * messages), sessions, API tokens, chat members and invites; the chats of a
 * member, a chat's creator as its first member, a message's user_id; and
 * on a file, a database of schema 3 migrated with its rows kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/sqlite.h"
#include "util/ids.h"

#define PW "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"

static int
setup(void **state)
{
	char *err = NULL;
	struct store *st = store_open(":memory:", false, &err);
	if (st == NULL) {
		fprintf(stderr, "store_open: %s\n", err ? err : "?");
		free(err);
		return -1;
	}
	store_set_accounts(st, true);
	*state = st;
	return 0;
}

static int
teardown(void **state)
{
	store_close(*state);
	return 0;
}

static const char *
str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* "YYYY-MM-DDTHH:MM:SSZ" */
static void
assert_rfc3339(const char *s)
{
	assert_int_equal(strlen(s), 20);
	assert_int_equal(s[10], 'T');
	assert_int_equal(s[19], 'Z');
}

/* A new user: its id is copied into id (ID_LEN + 1 bytes). */
static void
new_user(struct store *st, const char *name, char *id)
{
	json_t *user = NULL;
	assert_int_equal(store_user_create(st, name, name, PW, USER_NOT_ADMIN, &user), STORE_OK);
	snprintf(id, ID_LEN + 1, "%s", str(user, "id"));
	json_decref(user);
}

/* A new chat, created by creator (or NULL): its id is copied into id. */
static void
new_chat(struct store *st, const char *title, const char *creator, char *id)
{
	json_t *chat = NULL;
	assert_int_equal(store_chat_create(st, title, "manual", NULL, creator, &chat), STORE_OK);
	snprintf(id, ID_LEN + 1, "%s", str(chat, "id"));
	json_decref(chat);
}

/* The ids of a list of objects, joined by spaces, into out. */
static const char *
ids_of(json_t *list, char *out, size_t size)
{
	size_t i, n = 0;
	json_t *o;
	out[0] = '\0';
	assert_non_null(list);
	json_array_foreach(list, i, o)
		n += (size_t)snprintf(out + n, size - n, "%s%s", i ? " " : "", str(o, "id"));
	return out;
}

/* Where stderr goes for a while: what was logged meanwhile is counted. */
struct capture {
	int	saved;
	FILE	*file;
};

static void
capture_start(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	assert_non_null(c->file);
	c->saved = dup(2);
	dup2(fileno(c->file), 2);
}

static long
capture_end(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	fseek(c->file, 0, SEEK_END);
	long n = ftell(c->file);
	fclose(c->file);
	return n;
}

/* ---------- users ---------- */

static void
test_user_create_get(void **state)
{
	struct store *st = *state;
	json_t *user = NULL, *got = NULL;
	assert_int_equal(store_user_create(st, "Ada", "Ada L.", PW, USER_NOT_ADMIN, &user), STORE_OK);
	assert_int_equal(json_object_size(user), 5);
	const char *id = str(user, "id");
	assert_true(id_valid(id));
	assert_string_equal(str(user, "name"), "Ada");
	assert_string_equal(str(user, "display_name"), "Ada L.");
	assert_true(json_is_false(json_object_get(user, "admin")));
	assert_rfc3339(str(user, "created_at"));

	/* by id, by name in any case; the password only when asked */
	const char *keys[] = { id, "Ada", "ada", "ADA" };
	for (size_t i = 0; i < 4; i++) {
		char *pw = NULL;
		assert_int_equal(store_user_get(st, keys[i], &got, &pw), STORE_OK);
		assert_true(json_equal(got, user));
		assert_string_equal(pw, PW);
		free(pw);
		json_decref(got);
	}
	assert_int_equal(store_user_get(st, "ada", &got, NULL), STORE_OK);
	json_decref(got);
	char *pw = (char *)1;
	got = (json_t *)1;
	assert_int_equal(store_user_get(st, "nobody", &got, &pw), STORE_NOT_FOUND);
	assert_null(got);
	assert_null(pw);

	/* no password, an admin, the name as display name; an id wins over a name */
	json_t *other = NULL;
	assert_int_equal(store_user_create(st, id, NULL, NULL, USER_ADMIN, &other), STORE_OK);
	assert_string_equal(str(other, "display_name"), id);
	assert_true(json_is_true(json_object_get(other, "admin")));
	assert_int_equal(store_user_get(st, id, &got, &pw), STORE_OK);
	assert_true(json_equal(got, user));
	free(pw);
	json_decref(got);
	assert_int_equal(store_user_get(st, str(other, "id"), &got, &pw), STORE_OK);
	assert_true(json_equal(got, other));
	assert_null(pw);
	json_decref(got);
	json_decref(other);
	json_decref(user);
}

/* Creates name with admin's mode: its status, and whether it became an administrator. */
static enum store_status
create_as(struct store *st, const char *name, enum user_admin admin, bool *is_admin)
{
	json_t *user = NULL;
	enum store_status rc = store_user_create(st, name, NULL, NULL, admin, &user);
	*is_admin = json_is_true(json_object_get(user, "admin"));
	json_decref(user);
	return rc;
}

/* The first user's modes: decided by whether any user exists, with the insert. */
static void
test_user_first_admin(void **state)
{
	struct store *st = *state;
	bool admin;
	assert_int_equal(create_as(st, "ada", USER_FIRST_ADMIN, &admin), STORE_OK);
	assert_true(admin);
	assert_int_equal(create_as(st, "bob", USER_FIRST_ADMIN, &admin), STORE_CONFLICT);
	assert_int_equal(create_as(st, "bob", USER_ADMIN_IF_FIRST, &admin), STORE_OK);
	assert_false(admin);
	assert_int_equal(store_user_count(st), 2);

	struct store *empty = NULL;
	char *err = NULL;
	assert_non_null(empty = store_open(":memory:", false, &err));
	assert_int_equal(create_as(empty, "cy", USER_ADMIN_IF_FIRST, &admin), STORE_OK);
	assert_true(admin);
	store_close(empty);
}

static void
test_user_conflict_list_count(void **state)
{
	struct store *st = *state;
	json_t *list = store_user_list(st), *user = (json_t *)1;
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(store_user_count(st), 0);

	char a[ID_LEN + 1], b[ID_LEN + 1], c[ID_LEN + 1], ids[64], want[64];
	new_user(st, "ada", a);
	new_user(st, "bob", b);
	new_user(st, "cy", c);
	assert_int_equal(store_user_create(st, "ADA", "x", PW, USER_NOT_ADMIN, &user), STORE_CONFLICT);
	assert_null(user);
	assert_int_equal(store_user_create(st, "Bob", "x", NULL, USER_ADMIN, &user), STORE_CONFLICT);
	assert_int_equal(store_user_count(st), 3);

	list = store_user_list(st);
	snprintf(want, sizeof want, "%s %s %s", a, b, c);
	assert_string_equal(ids_of(list, ids, sizeof ids), want);
	assert_int_equal(json_object_size(json_array_get(list, 0)), 5);
	json_decref(list);
}

static void
test_user_update(void **state)
{
	struct store *st = *state;
	char id[ID_LEN + 1], *pw = NULL;
	new_user(st, "ada", id);
	json_t *user = NULL, *got = NULL;

	assert_int_equal(store_user_update(st, id, "Ada Lovelace", NULL, -1, &user), STORE_OK);
	assert_string_equal(str(user, "display_name"), "Ada Lovelace");
	assert_true(json_is_false(json_object_get(user, "admin")));
	assert_int_equal(store_user_get(st, id, &got, &pw), STORE_OK);
	assert_true(json_equal(got, user));
	assert_string_equal(pw, PW);
	free(pw);
	json_decref(got);
	json_decref(user);

	assert_int_equal(store_user_update(st, id, NULL, "$argon2id$new", -1, &user), STORE_OK);
	assert_string_equal(str(user, "display_name"), "Ada Lovelace");
	assert_int_equal(store_user_get(st, id, &got, &pw), STORE_OK);
	assert_string_equal(pw, "$argon2id$new");
	free(pw);
	json_decref(got);
	json_decref(user);

	assert_int_equal(store_user_update(st, id, NULL, NULL, 1, &user), STORE_OK);
	assert_true(json_is_true(json_object_get(user, "admin")));
	json_decref(user);
	assert_int_equal(store_user_update(st, id, NULL, NULL, -1, &user), STORE_OK);
	assert_true(json_is_true(json_object_get(user, "admin")));
	assert_string_equal(str(user, "name"), "ada");
	json_decref(user);
	assert_int_equal(store_user_update(st, id, NULL, NULL, 0, &user), STORE_OK);
	assert_true(json_is_false(json_object_get(user, "admin")));
	json_decref(user);

	user = (json_t *)1;
	assert_int_equal(store_user_update(st, "zzzzzzzzzzzz", "x", NULL, 1, &user),
	    STORE_NOT_FOUND);
	assert_null(user);
}

/* Deleting a user takes their sessions, tokens and memberships; messages stay. */
static void
test_user_delete_cascades(void **state)
{
	struct store *st = *state;
	char ada[ID_LEN + 1], bob[ID_LEN + 1], chat[ID_LEN + 1], uid[ID_LEN + 1], tid[ID_LEN + 1];
	new_user(st, "ada", ada);
	new_user(st, "bob", bob);
	new_chat(st, "Ours", ada, chat);
	assert_int_equal(store_member_add(st, chat, bob), STORE_OK);
	assert_int_equal(store_session_create(st, "s-ada", ada, 10), STORE_OK);
	assert_int_equal(store_session_create(st, "s-bob", bob, 10), STORE_OK);
	json_t *token = NULL;
	assert_int_equal(store_token_create(st, ada, "ci", "t-ada", &token), STORE_OK);
	json_decref(token);
	assert_int_equal(store_token_create(st, bob, "ci", "t-bob", &token), STORE_OK);
	json_decref(token);
	assert_int_equal(store_invite_create(st, "i-ada", chat, ada, 1000), STORE_OK);
	struct message_in in = { .chat_id = chat, .kind = "person", .author = "Ada",
	    .user_id = ada, .body = "hi", .state = "complete" };
	struct message_added out;
	assert_int_equal(store_messages_add(st, &in, 1, &out), STORE_OK);
	json_decref(out.message);

	assert_int_equal(store_user_delete(st, ada), STORE_OK);
	assert_int_equal(store_user_delete(st, ada), STORE_NOT_FOUND);
	json_t *got = NULL;
	assert_int_equal(store_user_get(st, ada, &got, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_user_count(st), 1);
	assert_int_equal(store_session_get(st, "s-ada", uid, &(int64_t){ 0 }), STORE_NOT_FOUND);
	json_t *list = store_user_sessions(st, ada);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(store_token_find(st, "t-ada", uid, tid), STORE_NOT_FOUND);
	assert_int_equal(store_member_is(st, chat, ada), STORE_NOT_FOUND);
	list = store_chat_list(st, NULL, 100, ada);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	/* the invite stays (without its inviter), and so do the chat and the message */
	assert_int_equal(store_invite_get(st, "i-ada", 0, uid), STORE_OK);
	assert_int_equal(store_chat_get(st, chat, &got), STORE_OK);
	json_decref(got);
	assert_int_equal(store_messages_last(st, chat, 10, &list), STORE_OK);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(str(json_array_get(list, 0), "user_id"), ada);
	json_decref(list);

	/* bob keeps everything */
	assert_int_equal(store_session_get(st, "s-bob", uid, &(int64_t){ 0 }), STORE_OK);
	assert_int_equal(store_token_find(st, "t-bob", uid, tid), STORE_OK);
	list = store_member_list(st, chat);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(str(json_array_get(list, 0), "id"), bob);
	json_decref(list);
}

/* ---------- sessions ---------- */

static void
test_sessions(void **state)
{
	struct store *st = *state;
	char ada[ID_LEN + 1], bob[ID_LEN + 1], uid[ID_LEN + 1];
	int64_t seen = 0;
	new_user(st, "ada", ada);
	new_user(st, "bob", bob);
	assert_int_equal(store_session_create(st, "s1", ada, 100), STORE_OK);
	assert_int_equal(store_session_create(st, "s2", ada, 200), STORE_OK);
	assert_int_equal(store_session_create(st, "s3", ada, 300), STORE_OK);
	assert_int_equal(store_session_create(st, "s4", bob, 100), STORE_OK);
	assert_int_equal(store_session_create(st, "s5", "zzzzzzzzzzzz", 100), STORE_NOT_FOUND);
	assert_int_equal(store_session_get(st, "s5", uid, &seen), STORE_NOT_FOUND);

	assert_int_equal(store_session_get(st, "s1", uid, &seen), STORE_OK);
	assert_string_equal(uid, ada);
	assert_int_equal(seen, 100);
	assert_int_equal(store_session_touch(st, "s1", 150), STORE_OK);
	assert_int_equal(store_session_get(st, "s1", uid, &seen), STORE_OK);
	assert_int_equal(seen, 150);
	assert_int_equal(store_session_touch(st, "nope", 150), STORE_NOT_FOUND);

	json_t *hashes = store_user_sessions(st, ada);
	assert_int_equal(json_array_size(hashes), 3);
	assert_true(json_is_string(json_array_get(hashes, 0)));
	json_decref(hashes);

	/* not seen since 200: s1 (150) and s4 (100) go */
	assert_int_equal(store_sessions_expire(st, 200), STORE_OK);
	assert_int_equal(store_session_get(st, "s1", uid, &seen), STORE_NOT_FOUND);
	assert_int_equal(store_session_get(st, "s4", uid, &seen), STORE_NOT_FOUND);
	assert_int_equal(store_session_get(st, "s2", uid, &seen), STORE_OK);

	assert_int_equal(store_session_create(st, "s6", ada, 400), STORE_OK);
	assert_int_equal(store_session_create(st, "s7", bob, 400), STORE_OK);
	assert_int_equal(store_sessions_delete_user(st, ada, "s3"), STORE_OK);
	hashes = store_user_sessions(st, ada);
	assert_int_equal(json_array_size(hashes), 1);
	assert_string_equal(json_string_value(json_array_get(hashes, 0)), "s3");
	json_decref(hashes);
	assert_int_equal(store_sessions_delete_user(st, ada, NULL), STORE_OK);
	hashes = store_user_sessions(st, ada);
	assert_int_equal(json_array_size(hashes), 0);
	json_decref(hashes);
	assert_int_equal(store_session_get(st, "s7", uid, &seen), STORE_OK);
	assert_string_equal(uid, bob);

	assert_int_equal(store_session_delete(st, "s7"), STORE_OK);
	assert_int_equal(store_session_delete(st, "s7"), STORE_NOT_FOUND);
	assert_int_equal(store_session_get(st, "s7", uid, &seen), STORE_NOT_FOUND);
}

/* ---------- API tokens ---------- */

static void
test_tokens(void **state)
{
	struct store *st = *state;
	char ada[ID_LEN + 1], bob[ID_LEN + 1], uid[ID_LEN + 1], tid[ID_LEN + 1];
	char ids[64], want[64];
	new_user(st, "ada", ada);
	new_user(st, "bob", bob);
	json_t *t1 = NULL, *t2 = NULL, *t3 = NULL, *x = (json_t *)1;
	assert_int_equal(store_token_create(st, ada, "ci", "h1", &t1), STORE_OK);
	assert_int_equal(json_object_size(t1), 3);
	assert_true(id_valid(str(t1, "id")));
	assert_string_equal(str(t1, "name"), "ci");
	assert_rfc3339(str(t1, "created_at"));
	assert_int_equal(store_token_create(st, ada, "backup", "h2", &t2), STORE_OK);
	assert_int_equal(store_token_create(st, bob, "ci", "h3", &t3), STORE_OK);
	assert_int_equal(store_token_create(st, "zzzzzzzzzzzz", "x", "h4", &x), STORE_NOT_FOUND);
	assert_null(x);
	assert_int_equal(store_token_create(st, bob, "again", "h1", &x), STORE_CONFLICT);

	json_t *list = store_token_list(st, ada);
	snprintf(want, sizeof want, "%s %s", str(t1, "id"), str(t2, "id"));
	assert_string_equal(ids_of(list, ids, sizeof ids), want);
	assert_true(json_equal(json_array_get(list, 0), t1));
	json_decref(list);

	assert_int_equal(store_token_find(st, "h3", uid, tid), STORE_OK);
	assert_string_equal(uid, bob);
	assert_string_equal(tid, str(t3, "id"));
	assert_int_equal(store_token_find(st, "nope", uid, tid), STORE_NOT_FOUND);

	/* only one's own token */
	char *hash = (char *)1;
	assert_int_equal(store_token_delete(st, ada, str(t3, "id"), &hash), STORE_NOT_FOUND);
	assert_null(hash);
	assert_int_equal(store_token_find(st, "h3", uid, tid), STORE_OK);
	assert_int_equal(store_token_delete(st, ada, str(t1, "id"), &hash), STORE_OK);
	assert_string_equal(hash, "h1");
	free(hash);
	assert_int_equal(store_token_find(st, "h1", uid, tid), STORE_NOT_FOUND);
	assert_int_equal(store_token_delete(st, ada, str(t1, "id"), &hash), STORE_NOT_FOUND);
	assert_int_equal(store_token_delete(st, bob, str(t3, "id"), NULL), STORE_OK);
	list = store_token_list(st, ada);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	list = store_token_list(st, bob);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	json_decref(t1);
	json_decref(t2);
	json_decref(t3);
}

/* ---------- members and invites ---------- */

static void
test_members(void **state)
{
	struct store *st = *state;
	char ada[ID_LEN + 1], bob[ID_LEN + 1], chat[ID_LEN + 1];
	new_user(st, "ada", ada);
	new_user(st, "bob", bob);
	new_chat(st, "Club", NULL, chat);
	json_t *list = store_member_list(st, chat);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(store_member_is(st, chat, ada), STORE_NOT_FOUND);

	assert_int_equal(store_member_add(st, chat, ada), STORE_OK);
	assert_int_equal(store_member_add(st, chat, ada), STORE_OK);
	/* a missing chat or user: not found, and nothing logged */
	struct capture c;
	capture_start(&c);
	enum store_status no_chat = store_member_add(st, "zzzzzzzzzzzz", ada);
	enum store_status no_user = store_member_add(st, chat, "zzzzzzzzzzzz");
	assert_int_equal(capture_end(&c), 0);
	assert_int_equal(no_chat, STORE_NOT_FOUND);
	assert_int_equal(no_user, STORE_NOT_FOUND);

	list = store_member_list(st, chat);
	assert_int_equal(json_array_size(list), 1);
	json_t *m = json_array_get(list, 0), *user = NULL;
	assert_int_equal(json_object_size(m), 6);
	assert_rfc3339(str(m, "added_at"));
	assert_int_equal(store_user_get(st, ada, &user, NULL), STORE_OK);
	json_object_del(m, "added_at");
	assert_true(json_equal(m, user));
	json_decref(user);
	json_decref(list);
	assert_int_equal(store_member_is(st, chat, ada), STORE_OK);
	assert_int_equal(store_member_is(st, chat, bob), STORE_NOT_FOUND);

	assert_int_equal(store_member_add(st, chat, bob), STORE_OK);
	assert_int_equal(store_member_remove(st, chat, ada), STORE_OK);
	assert_int_equal(store_member_remove(st, chat, ada), STORE_NOT_FOUND);
	assert_int_equal(store_member_is(st, chat, ada), STORE_NOT_FOUND);
	list = store_member_list(st, chat);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(str(json_array_get(list, 0), "name"), "bob");
	json_decref(list);

	/* a deleted chat's members go with it */
	assert_int_equal(store_chat_delete(st, chat), STORE_OK);
	assert_int_equal(store_member_is(st, chat, bob), STORE_NOT_FOUND);
}

static void
test_invites(void **state)
{
	struct store *st = *state;
	char ada[ID_LEN + 1], chat[ID_LEN + 1], got[ID_LEN + 1];
	new_user(st, "ada", ada);
	new_chat(st, "Club", ada, chat);
	assert_int_equal(store_invite_create(st, "i1", chat, ada, 1000), STORE_OK);
	assert_int_equal(store_invite_create(st, "i2", chat, NULL, 2000), STORE_OK);
	assert_int_equal(store_invite_create(st, "i3", "zzzzzzzzzzzz", ada, 1000),
	    STORE_NOT_FOUND);

	assert_int_equal(store_invite_get(st, "i1", 999, got), STORE_OK);
	assert_string_equal(got, chat);
	assert_int_equal(store_invite_get(st, "i1", 1000, got), STORE_NOT_FOUND);
	assert_int_equal(store_invite_get(st, "i1", 5000, got), STORE_NOT_FOUND);
	assert_int_equal(store_invite_get(st, "i2", 1500, got), STORE_OK);
	assert_int_equal(store_invite_get(st, "i3", 0, got), STORE_NOT_FOUND);
	assert_int_equal(store_invite_get(st, "nope", 0, got), STORE_NOT_FOUND);
	/* expired ones are dropped; the rest stay */
	assert_int_equal(store_invites_expire(st, 1000), STORE_OK);
	assert_int_equal(store_invite_get(st, "i1", 0, got), STORE_NOT_FOUND);
	assert_int_equal(store_invite_get(st, "i2", 1500, got), STORE_OK);

	assert_int_equal(store_chat_delete(st, chat), STORE_OK);
	assert_int_equal(store_invite_get(st, "i2", 1500, got), STORE_NOT_FOUND);
}

/* ---------- chats and messages of accounts ---------- */

/* A member's chats: newest first, paged by the same cursor as all chats. */
static void
test_chat_list_member(void **state)
{
	struct store *st = *state;
	char ada[ID_LEN + 1], bob[ID_LEN + 1], c[5][ID_LEN + 1], ids[128], want[128];
	new_user(st, "ada", ada);
	new_user(st, "bob", bob);
	for (int i = 0; i < 5; i++)
		new_chat(st, "C", i % 2 == 0 ? ada : bob, c[i]);
	assert_int_equal(store_member_add(st, c[3], ada), STORE_OK);

	json_t *list = store_chat_list(st, NULL, 100, ada);
	snprintf(want, sizeof want, "%s %s %s %s", c[4], c[3], c[2], c[0]);
	assert_string_equal(ids_of(list, ids, sizeof ids), want);
	json_t *chat = NULL;
	assert_int_equal(store_chat_get(st, c[4], &chat), STORE_OK);
	assert_true(json_equal(json_array_get(list, 0), chat));
	json_decref(chat);
	json_decref(list);

	list = store_chat_list(st, NULL, 2, ada);
	snprintf(want, sizeof want, "%s %s", c[4], c[3]);
	assert_string_equal(ids_of(list, ids, sizeof ids), want);
	json_decref(list);
	list = store_chat_list(st, c[3], 2, ada);
	snprintf(want, sizeof want, "%s %s", c[2], c[0]);
	assert_string_equal(ids_of(list, ids, sizeof ids), want);
	json_decref(list);
	/* the cursor may be a chat the member is not in */
	list = store_chat_list(st, c[1], 100, ada);
	assert_string_equal(ids_of(list, ids, sizeof ids), c[0]);
	json_decref(list);
	list = store_chat_list(st, "zzzzzzzzzzzz", 100, ada);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);

	list = store_chat_list(st, NULL, 100, bob);
	snprintf(want, sizeof want, "%s %s", c[3], c[1]);
	assert_string_equal(ids_of(list, ids, sizeof ids), want);
	json_decref(list);
	list = store_chat_list(st, NULL, 100, "zzzzzzzzzzzz");
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	list = store_chat_list(st, NULL, 100, NULL);
	assert_int_equal(json_array_size(list), 5);
	json_decref(list);
}

/* The creator is the first member; a creator who is not a user: no chat. */
static void
test_chat_create_creator(void **state)
{
	struct store *st = *state;
	char ada[ID_LEN + 1], before[ID_LEN + 1];
	new_user(st, "ada", ada);
	new_chat(st, "Before", NULL, before);
	json_t *cached = NULL, *chat = NULL;
	assert_int_equal(store_chat_get(st, before, &cached), STORE_OK);

	assert_int_equal(store_chat_create(st, "Mine", "manual", NULL, ada, &chat), STORE_OK);
	assert_int_equal(json_object_size(chat), 8);
	assert_int_equal(store_member_is(st, str(chat, "id"), ada), STORE_OK);
	json_t *members = store_member_list(st, str(chat, "id"));
	assert_int_equal(json_array_size(members), 1);
	assert_string_equal(str(json_array_get(members, 0), "id"), ada);
	json_decref(members);
	json_decref(chat);

	chat = NULL;
	assert_int_equal(store_chat_create(st, "Orphan", "manual", NULL, "zzzzzzzzzzzz", &chat),
	    STORE_NOT_FOUND);
	assert_null(chat);
	json_t *list = store_chat_list(st, NULL, 100, NULL);
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
	/* what was read before still reads the same */
	assert_int_equal(store_chat_get(st, before, &chat), STORE_OK);
	assert_true(json_equal(chat, cached));
	json_decref(chat);
	json_decref(cached);
}

/* A person's message names their account, in its JSON and in the events replayed. */
static void
test_message_user_id(void **state)
{
	struct store *st = *state;
	char ada[ID_LEN + 1], chat[ID_LEN + 1];
	new_user(st, "ada", ada);
	new_chat(st, "Talk", ada, chat);
	struct message_in in[3] = {
		{ .chat_id = chat, .kind = "person", .author = "Ada", .user_id = ada,
		  .body = "hi", .state = "complete" },
		{ .chat_id = chat, .kind = "person", .author = "Ada", .user_id = ada,
		  .body = "typing", .state = "streaming" },
		{ .chat_id = chat, .kind = "bot", .bot_id = "dice", .body = "4",
		  .state = "complete" },
	};
	struct message_added out[3];
	assert_int_equal(store_messages_add(st, in, 3, out), STORE_OK);
	assert_int_equal(json_object_size(out[0].message), 13);
	assert_string_equal(str(out[0].message, "user_id"), ada);
	assert_string_equal(str(out[1].message, "user_id"), ada);
	assert_true(json_is_null(json_object_get(out[2].message, "user_id")));

	json_t *msgs = NULL, *events = NULL, *done = NULL;
	assert_int_equal(store_messages_after(st, chat, 0, 10, &msgs), STORE_OK);
	assert_int_equal(store_events_after(st, chat, 0, &events), STORE_OK);
	assert_int_equal(json_array_size(msgs), 3);
	assert_int_equal(json_array_size(events), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_true(json_equal(json_array_get(msgs, i), out[i].message));
		assert_true(json_equal(json_object_get(json_array_get(events, i), "data"),
		    out[i].message));
	}
	json_decref(msgs);
	json_decref(events);

	uint64_t event_id;
	assert_int_equal(store_message_finish(st, chat, 2, "typed", "complete", NULL, &done,
	    &event_id), STORE_OK);
	assert_string_equal(str(done, "user_id"), ada);
	assert_int_equal(store_events_after(st, chat, event_id - 1, &events), STORE_OK);
	assert_true(json_equal(json_object_get(json_array_get(events, 0), "data"), done));
	json_decref(events);
	json_decref(done);
	for (size_t i = 0; i < 3; i++)
		json_decref(out[i].message);
}

/* One person's post in a chat; returns its seq. */
static uint64_t
post_as(struct store *st, const char *chat, const char *user, const char *body)
{
	struct message_in in = { .chat_id = chat, .kind = "person", .author = user,
	    .user_id = user, .body = body, .state = "complete" };
	struct message_added out;
	assert_int_equal(store_messages_add(st, &in, 1, &out), STORE_OK);
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(out.message, "seq"));
	json_decref(out.message);
	return seq;
}

/* The item of chat in a member's activity list (its index in *at). */
static json_t *
item_of(json_t *list, const char *chat, size_t *at)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
		if (strcmp(str(item, "id"), chat) == 0) {
			*at = i;
			return item;
		}
	fail_msg("chat %s not in the list", chat);
	return NULL;
}

static json_int_t
int_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void
test_activity_and_read_marks(void **state)
{
	struct store *st = *state;
	char ada[ID_LEN + 1], bob[ID_LEN + 1], shared[ID_LEN + 1], mine[ID_LEN + 1],
	    theirs[ID_LEN + 1];
	new_user(st, "ada", ada);
	new_user(st, "bob", bob);
	new_chat(st, "Shared", ada, shared);
	new_chat(st, "Mine", ada, mine);
	new_chat(st, "Theirs", bob, theirs);
	assert_int_equal(store_member_add(st, shared, bob), STORE_OK);

	post_as(st, mine, ada, "note to self");
	post_as(st, shared, bob, "one");
	uint64_t two = post_as(st, shared, bob, "two");
	size_t at_shared, at_mine;
	json_t *list = store_chat_activity(st, ada, ada, 0, 10);
	assert_int_equal(json_array_size(list), 2);	/* not Bob's own chat */
	json_t *item = item_of(list, shared, &at_shared);
	assert_int_equal(int_of(item, "read_seq"), 0);
	assert_int_equal(int_of(json_object_get(item, "last"), "seq"), (json_int_t)two);
	assert_string_equal(str(json_object_get(item, "last"), "user_id"), bob);
	assert_string_equal(str(json_object_get(item, "last"), "body"), "two");
	/* one's own post is read: Ada's mark in her own chat is her message */
	assert_int_equal(int_of(item_of(list, mine, &at_mine), "read_seq"), 1);
	assert_true(at_shared < at_mine);	/* latest activity first */
	json_decref(list);

	/* a mark moves forward only, and no further than the newest message */
	uint64_t mark = 0;
	assert_int_equal(store_member_read(st, shared, ada, 1, &mark), STORE_OK);
	assert_int_equal(mark, 1);
	assert_int_equal(store_member_read(st, shared, ada, two + 100, &mark), STORE_OK);
	assert_int_equal(mark, two);
	assert_int_equal(store_member_read(st, shared, ada, 1, &mark), STORE_NOT_FOUND);
	assert_int_equal(store_member_read(st, shared, ada, two, &mark), STORE_NOT_FOUND);
	assert_int_equal(store_member_read(st, theirs, ada, 1, &mark), STORE_NOT_FOUND);
	list = store_chat_activity(st, ada, ada, 0, 10);
	assert_int_equal(int_of(item_of(list, shared, &at_shared), "read_seq"), (json_int_t)two);
	json_decref(list);

	/* Ada's post moves her chat up, and moves her mark, not Bob's */
	uint64_t three = post_as(st, shared, ada, "three");
	post_as(st, mine, ada, "later");
	list = store_chat_activity(st, bob, bob, 0, 10);
	assert_int_equal(json_array_size(list), 2);
	item = item_of(list, shared, &at_shared);
	assert_int_equal(int_of(item, "read_seq"), (json_int_t)two);
	assert_int_equal(int_of(json_object_get(item, "last"), "seq"), (json_int_t)three);
	json_decref(list);
	list = store_chat_activity(st, ada, ada, 0, 10);
	assert_int_equal(int_of(item_of(list, shared, &at_shared), "read_seq"), (json_int_t)three);
	assert_int_equal(at_shared, 1);
	assert_int_equal(int_of(item_of(list, mine, &at_mine), "read_seq"), 2);
	json_decref(list);
	/* paging by offset */
	list = store_chat_activity(st, ada, ada, 1, 10);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(str(json_array_get(list, 0), "id"), shared);
	json_decref(list);
}

/* ---------- on a file: from schema 3 ---------- */

/* The schema of migrations 1 to 3, as servers before accounts left it. */
static const char schema_3[] =
	"CREATE TABLE chats (id TEXT PRIMARY KEY, title TEXT NOT NULL, policy TEXT NOT NULL,"
	"  created_at TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,"
	"  last_event_id INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE messages (chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL, kind TEXT NOT NULL, author TEXT, bot_id TEXT,"
	"  body TEXT NOT NULL, state TEXT NOT NULL, error TEXT,"
	"  created_at TEXT NOT NULL, PRIMARY KEY (chat_id, seq)) WITHOUT ROWID;"
	"CREATE TABLE events (chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
	"  id INTEGER NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL,"
	"  PRIMARY KEY (chat_id, id)) WITHOUT ROWID;"
	"CREATE TABLE bots (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  persona TEXT NOT NULL DEFAULT '', backend TEXT NOT NULL, model TEXT,"
	"  base_url TEXT, api_key_env TEXT, temperature REAL NOT NULL DEFAULT 0.7,"
	"  max_tokens INTEGER NOT NULL DEFAULT 512,"
	"  talkativeness REAL NOT NULL DEFAULT 0.5);"
	"CREATE TABLE chat_bots (chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
	"  bot_id TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,"
	"  position INTEGER NOT NULL, PRIMARY KEY (chat_id, bot_id)) WITHOUT ROWID;"
	"CREATE INDEX chat_bots_by_bot ON chat_bots (bot_id);"
	"CREATE INDEX messages_streaming ON messages (state) WHERE state = 'streaming';"
	"ALTER TABLE messages ADD COLUMN event_id INTEGER;"
	"PRAGMA user_version = 3;"
	"INSERT INTO chats (id, title, policy, created_at)"
	"  VALUES ('oldchat00001', 'Old', 'manual', '2026-01-01T00:00:00Z');"
	"INSERT INTO bots (id, name, backend) VALUES ('oldbot000001', 'Echo', 'echo');"
	"INSERT INTO chat_bots VALUES ('oldchat00001', 'oldbot000001', 0);"
	"INSERT INTO messages (chat_id, seq, kind, author, body, state, created_at, event_id)"
	"  VALUES ('oldchat00001', 1, 'person', 'ann', 'old', 'complete',"
	"  '2026-01-01T00:00:00Z', 1);";

static void
test_file_from_schema_3(void **state)
{
	(void)state;
	char dir[] = "/tmp/parley-store-XXXXXX", path[64], name[80];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/p.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, schema_3, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	char *err = NULL, ada[ID_LEN + 1];
	struct store *st = store_open(path, false, &err);
	assert_non_null(st);
	store_set_accounts(st, true);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 7);	/* migrated to the latest */
	sqlite3_finalize(s);
	sqlite3_close(db);
	json_t *chat = NULL, *msgs = NULL, *list;
	assert_int_equal(store_chat_get(st, "oldchat00001", &chat), STORE_OK);
	assert_string_equal(str(json_array_get(json_object_get(chat, "bots"), 0), "name"), "Echo");
	assert_int_equal(json_integer_value(json_object_get(chat, "last_event_id")), 1);
	json_decref(chat);
	assert_int_equal(store_messages_last(st, "oldchat00001", 10, &msgs), STORE_OK);
	assert_int_equal(json_array_size(msgs), 1);
	assert_int_equal(json_object_size(json_array_get(msgs, 0)), 13);
	assert_true(json_is_null(json_object_get(json_array_get(msgs, 0), "user_id")));
	/* migration 6: one text, never edited */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(msgs, 0),
	    "alternatives")), 1);
	assert_true(json_is_null(json_object_get(json_array_get(msgs, 0), "edited_at")));
	json_decref(msgs);

	/* the new tables are there, and the old chat takes members */
	assert_int_equal(store_user_count(st), 0);
	new_user(st, "ada", ada);
	assert_int_equal(store_member_add(st, "oldchat00001", ada), STORE_OK);
	assert_int_equal(store_session_create(st, "s", ada, 1), STORE_OK);
	list = store_chat_list(st, NULL, 10, ada);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	struct message_in in = { .chat_id = "oldchat00001", .kind = "person", .author = "ada",
	    .user_id = ada, .body = "new", .state = "complete" };
	struct message_added out;
	assert_int_equal(store_messages_add(st, &in, 1, &out), STORE_OK);
	assert_int_equal(out.event_id, 2);
	json_decref(out.message);
	store_close(st);

	const char *suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
		unlink(name);
	}
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_from_schema_3),
		cmocka_unit_test_setup_teardown(test_user_create_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_conflict_list_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_first_admin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_delete_cascades, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_list_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_create_creator, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_user_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_activity_and_read_marks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
