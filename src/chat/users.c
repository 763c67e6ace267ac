/*
 * users.c - users and API tokens (SPEC section 7); see accounts.h. Anyone
 * signed in sees the users; administrators create, change and delete them;
 * people change their own display name and password (with the old one).
 * The last administrator cannot be removed or demoted. A password reset by
 * an administrator, and a deleted user, end the user's sessions and streams.
 */
#include "chat/accounts_impl.h"
#include "chat/credentials.h"
#include "chat/validate.h"
#include "chat/who.h"
#include "limits.h"
#include "store/store.h"
#include "util/problem.h"
#include "util/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
refuse(struct problem *p, int status, const char *detail)
{
	problem_set(p, status, "%s", detail);
	return -1;
}

/* With --auth none there are no accounts: nobody makes, changes or uses one. */
static int
need_accounts(const struct who *who, struct problem *p)
{
	return who->anyone ? refuse(p, 404, NO_ACCOUNTS) : 0;
}

static int
need_admin(const struct who *who, struct problem *p)
{
	if (need_accounts(who, p) != 0)
		return -1;
	return who_admin(who) ? 0 : refuse(p, 403, "only an administrator may do that");
}

/* Tells done about a problem at once (for the slow operations). */
static void
fail_now(accounts_done_fn *done, void *arg, const struct problem *p)
{
	done(arg, NULL, NULL, p);
}

int
accounts_me(struct accounts *a, const struct who *who, json_t **user, struct problem *p)
{
	if (who->user_id[0] == '\0')
		return refuse(p, 401, "sign in");
	enum store_status rc = store_user_get(a->store, who->user_id, user, NULL);
	return rc == STORE_OK ? 0 : validate_store(a->store, rc, "user", p);
}

int
accounts_users(struct accounts *a, const struct who *who, json_t **users, struct problem *p)
{
	if (need_accounts(who, p) != 0)
		return -1;
	if (who->user_id[0] == '\0')
		return refuse(p, 401, "sign in");
	*users = store_user_list(a->store);
	return *users ? 0 : validate_store(a->store, STORE_ERROR, "user", p);
}

/* The display name given, trimmed (free it), or a copy of fallback when absent. */
static char *
display_name(json_t *v, const char *fallback, struct problem *p)
{
	if (v == NULL)
		return xstrdup(fallback);
	return validate_text(v, "display_name", LIMIT_DISPLAY_NAME_CHARS, p);
}

static void
user_created(struct slow *s)
{
	struct problem p;
	json_t *user;
	enum store_status rc = s->hashed != 0 ? STORE_ERROR : store_user_create(s->a->store,
	    s->name, s->display_name, s->hash, s->admin == 1 ? USER_ADMIN : USER_NOT_ADMIN, &user);
	if (rc != STORE_OK) {
		validate_store(s->a->store, rc, "user", &p);
		accounts_slow_end(s, NULL, NULL, &p);
		return;
	}
	accounts_slow_end(s, user, NULL, NULL);
	json_decref(user);
}

void
accounts_user_create(struct accounts *a, const struct who *who, json_t *body,
    accounts_done_fn *done, void *arg)
{
	struct problem p;
	json_t *name = json_object_get(body, "name"), *admin = json_object_get(body, "admin");
	char *shown = NULL;
	if (need_admin(who, &p) != 0 || accounts_check_name(name, &p) != 0 ||
	    accounts_check_password(json_object_get(body, "password"), "password", &p) != 0 ||
	    (admin != NULL && !json_is_boolean(admin) && refuse(&p, 422, "admin: true or false")) ||
	    (shown = display_name(json_object_get(body, "display_name"), json_string_value(name),
	    &p)) == NULL) {
		fail_now(done, arg, &p);
		return;
	}
	struct slow *s = accounts_slow_new(a, SLOW_HASH, done, arg, user_created);
	snprintf(s->name, sizeof s->name, "%s", json_string_value(name));
	s->display_name = shown;
	s->password = xstrdup(json_string_value(json_object_get(body, "password")));
	s->admin = json_is_true(admin);
	accounts_slow_start(s);
}

/* True when id is the only administrator left. */
static bool
last_admin(struct accounts *a, const char *id)
{
	json_t *users = store_user_list(a->store), *u;
	size_t i, admins = 0;
	bool is_admin = false;
	json_array_foreach(users, i, u) {
		admins += json_is_true(json_object_get(u, "admin"));
		if (strcmp(json_string_value(json_object_get(u, "id")), id) == 0)
			is_admin = json_is_true(json_object_get(u, "admin"));
	}
	json_decref(users);
	return is_admin && admins == 1;
}

/* Stores what s carries (display name, new password, admin), then answers. */
static void
user_changed(struct slow *s)
{
	struct problem p;
	json_t *user;
	if (s->task == SLOW_CHANGE && !s->checked) {
		refuse(&p, 403, "old_password: that is not the current password");
		accounts_slow_end(s, NULL, NULL, &p);
		return;
	}
	if (s->admin == 0 && last_admin(s->a, s->user_id)) {
		/* checked again: another change may have landed while the password hashed */
		refuse(&p, 409, "admin: the last administrator stays one");
		accounts_slow_end(s, NULL, NULL, &p);
		return;
	}
	credentials_clear(s->a->credentials);	/* who they are changes */
	enum store_status rc = s->password && s->hashed != 0 ? STORE_ERROR :
	    store_user_update(s->a->store, s->user_id, s->display_name,
	    s->password ? s->hash : NULL, s->admin, &user);
	if (rc != STORE_OK) {
		validate_store(s->a->store, rc, "user", &p);
		accounts_slow_end(s, NULL, NULL, &p);
		return;
	}
	if (s->password != NULL) {	/* every other session ends: only the new password opens */
		const char *keep = s->task == SLOW_CHANGE ? s->keep : NULL;
		accounts_end_sessions(s->a, s->user_id, keep, "revoked");
		store_sessions_delete_user(s->a->store, s->user_id, keep);
	}
	if (s->display_name != NULL) {	/* who is here, on every node, by the new name */
		const char *shown = json_string_value(json_object_get(user, "display_name"));
		if (s->a->renamed != NULL)
			s->a->renamed(s->a->renamed_arg, s->user_id, shown);
		bus_renamed(&s->a->bus, s->user_id, shown);
	}
	if (s->admin == 0) {	/* their streams saw every chat: they reopen as what they are */
		struct bus_match m = { .user_id = s->user_id, .reason = "revoked" };
		bus_end_streams(&s->a->bus, &m);
	}
	accounts_slow_end(s, user, NULL, NULL);
	json_decref(user);
}

/* Checks a change of user id by who; the slow operation that makes it, or NULL and p. */
static struct slow *
plan_change(struct accounts *a, const struct who *who, json_t *target, json_t *body,
    struct problem *p)
{
	const char *id = json_string_value(json_object_get(target, "id"));
	bool self = strcmp(id, who->user_id) == 0;
	json_t *pw = json_object_get(body, "password"), *admin = json_object_get(body, "admin");
	json_t *old = json_object_get(body, "old_password"), *shown = json_object_get(body,
	    "display_name");
	char *name = NULL;
	if ((!self && need_admin(who, p) != 0) ||
	    (admin != NULL && (need_admin(who, p) != 0 || (!json_is_boolean(admin) &&
	    refuse(p, 422, "admin: true or false")) || (json_is_false(admin) &&
	    last_admin(a, id) && refuse(p, 409, "admin: the last administrator stays one")))) ||
	    (pw != NULL && accounts_check_password(pw, "password", p) != 0) ||
	    (pw != NULL && self && !json_is_string(old) &&
	    refuse(p, 422, "old_password: required to change one's own password")) ||
	    (shown != NULL && (name = validate_text(shown, "display_name",
	    LIMIT_DISPLAY_NAME_CHARS, p)) == NULL))
		return NULL;
	struct slow *s = accounts_slow_new(a, pw && self ? SLOW_CHANGE : SLOW_HASH, NULL, NULL,
	    user_changed);
	snprintf(s->user_id, sizeof s->user_id, "%s", id);
	snprintf(s->keep, sizeof s->keep, "%s", who->credential);
	s->display_name = name;
	s->password = pw ? xstrdup(json_string_value(pw)) : NULL;
	s->old_password = pw && self ? xstrdup(json_string_value(old)) : NULL;
	/* -1: no change (an administrator made one again, or a member made a member) */
	s->admin = admin && json_is_true(admin) != json_is_true(json_object_get(target, "admin")) ?
	    json_is_true(admin) : -1;
	return s;
}

void
accounts_user_update(struct accounts *a, const struct who *who, const char *id, json_t *body,
    accounts_done_fn *done, void *arg)
{
	struct problem p;
	json_t *target;
	struct slow *s;
	enum store_status rc = store_user_get(a->store, id, &target, NULL);
	if (rc != STORE_OK) {
		validate_store(a->store, rc, "user", &p);
		fail_now(done, arg, &p);
		return;
	}
	s = plan_change(a, who, target, body, &p);
	json_decref(target);
	if (s != NULL && s->task == SLOW_CHANGE && store_user_get(a->store, id, &target,
	    &s->stored) == STORE_OK)
		json_decref(target);
	if (s == NULL) {
		fail_now(done, arg, &p);
		return;
	}
	s->done = done;
	s->arg = arg;
	if (s->password != NULL)
		accounts_slow_start(s);
	else
		user_changed(s);
}

int
accounts_user_delete(struct accounts *a, const struct who *who, const char *id,
    struct problem *p)
{
	json_t *user;
	if (need_admin(who, p) != 0)
		return -1;
	enum store_status rc = store_user_get(a->store, id, &user, NULL);
	if (rc != STORE_OK)
		return validate_store(a->store, rc, "user", p);
	char uid[ID_LEN + 1];
	snprintf(uid, sizeof uid, "%s", json_string_value(json_object_get(user, "id")));
	json_decref(user);
	if (last_admin(a, uid))
		return refuse(p, 409, "the last administrator cannot be removed");
	credentials_clear(a->credentials);
	if ((rc = store_user_delete(a->store, uid)) != STORE_OK)
		return validate_store(a->store, rc, "user", p);
	struct bus_match m = { .user_id = uid, .reason = "revoked" };
	bus_end_streams(&a->bus, &m);
	return 0;
}

/* ---------- API tokens ---------- */

int
accounts_token_create(struct accounts *a, const struct who *who, json_t *name, json_t **token,
    struct problem *p)
{
	char secret[SECRET_LEN + 1], hash[SECRET_HEX + 1];
	if (need_accounts(who, p) != 0)
		return -1;
	char *label = validate_text(name, "name", LIMIT_TOKEN_NAME_CHARS, p);
	if (label == NULL)
		return -1;
	secret_new(secret);
	secret_hash(secret, hash);
	enum store_status rc = store_token_create(a->store, who->user_id, label, hash, token);
	free(label);
	if (rc != STORE_OK)
		return validate_store(a->store, rc, "user", p);
	json_object_set_new(*token, "token", json_string(secret));	/* shown this once */
	explicit_bzero(secret, sizeof secret);
	return 0;
}

int
accounts_tokens(struct accounts *a, const struct who *who, json_t **tokens, struct problem *p)
{
	if (need_accounts(who, p) != 0)
		return -1;
	*tokens = store_token_list(a->store, who->user_id);
	return *tokens ? 0 : validate_store(a->store, STORE_ERROR, "token", p);
}

int
accounts_token_delete(struct accounts *a, const struct who *who, const char *id,
    struct problem *p)
{
	char *hash = NULL;
	if (need_accounts(who, p) != 0)
		return -1;
	enum store_status rc = store_token_delete(a->store, who->user_id, id, &hash);
	if (rc != STORE_OK)
		return validate_store(a->store, rc, "token", p);
	credentials_forget(a->credentials, hash);
	struct bus_match m = { .credential = hash, .reason = "revoked" };
	bus_end_streams(&a->bus, &m);
	free(hash);
	return 0;
}

/* ---------- the command line's way back in ---------- */

int
accounts_reset_password(struct store *st, const char *name, char password[SECRET_LEN + 1],
    char **err)
{
	char hash[PASSWORD_ENCODED_MAX];
	json_t *user, *updated;
	*err = NULL;
	if (store_user_get(st, name, &user, NULL) != STORE_OK) {
		if (asprintf(err, "there is no user %s", name) < 0)
			*err = NULL;
		return -1;
	}
	secret_new(password);
	const char *id = json_string_value(json_object_get(user, "id"));
	int rc = password_hash(password, hash) == 0 &&
	    store_user_update(st, id, NULL, hash, -1, &updated) == STORE_OK &&
	    store_sessions_delete_user(st, id, NULL) == STORE_OK ? 0 : -1;
	if (rc == 0)
		json_decref(updated);
	else if (asprintf(err, "the database failed") < 0)
		*err = NULL;
	json_decref(user);
	return rc;
}
