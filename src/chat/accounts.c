/*
 * accounts.c - who asks, signing in and out, and the first administrator;
 * see accounts.h. Sessions are found by the SHA-256 of their id; their last
 * use is stored at most once an hour; an unused one expires after the
 * configured days. A name that has no account costs as much time as one
 * that has (a password is hashed for nothing), and throttled attempts cost
 * nothing at all.
 */
#include "chat/accounts_impl.h"
#include "chat/credentials.h"
#include "chat/throttle.h"
#include "chat/validate.h"
#include "chat/who.h"
#include "limits.h"
#include "store/store.h"
#include "util/fiber.h"
#include "util/log.h"
#include "util/problem.h"
#include "util/text.h"
#include "util/workers.h"
#include "util/xmalloc.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HASH_THREADS 2

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* ---------- slow work on the workers ---------- */

static void
slow_work(void *arg)
{
	struct slow *s = arg;
	switch (s->task) {
	case SLOW_CHECK:
		if (s->stored != NULL)
			s->checked = password_verify(s->stored, s->password);
		else
			password_waste(s->password);
		break;
	case SLOW_HASH:
		s->hashed = password_hash(s->password, s->hash);
		break;
	case SLOW_CHANGE:
		s->checked = password_verify(s->stored, s->old_password);
		if (s->checked)
			s->hashed = password_hash(s->password, s->hash);
		break;
	}
}

static void
slow_done(void *arg)
{
	struct slow *s = arg;
	s->finish(s);
}

struct slow *
accounts_slow_new(struct accounts *a, enum slow_task task, accounts_done_fn *done, void *arg,
    void (*finish)(struct slow *s))
{
	struct slow *s = xcalloc(1, sizeof *s);
	*s = (struct slow){ .a = a, .task = task, .done = done, .arg = arg, .finish = finish,
	    .admin = -1, .hashed = -1 };
	return s;
}

int
accounts_slow_start(struct slow *s)
{
	if (workers_submit(s->a->workers, slow_work, slow_done, s) == 0)
		return 0;
	struct problem p;
	problem_set(&p, 503, "too many sign-ins at once; try again in a moment");
	accounts_slow_end(s, NULL, NULL, &p);
	return -1;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
accounts_slow_end(struct slow *s, json_t *result, const char *session_id,
    const struct problem *p)
{
	s->done(s->arg, result, session_id, p);
	free(s->display_name);
	free_secret(s->password);
	free_secret(s->old_password);
	free(s->stored);
	explicit_bzero(s->hash, sizeof s->hash);
	free(s);
}

/* ---------- checks ---------- */

int
accounts_check_name(json_t *v, struct problem *p)
{
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > LIMIT_USER_NAME_CHARS || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") != n) {
		problem_set(p, 422, "name: must be 1 to %d letters, digits, _ . or -",
		    LIMIT_USER_NAME_CHARS);
		return -1;
	}
	return 0;
}

int
accounts_check_password(json_t *v, const char *field, struct problem *p)
{
	const char *s = json_string_value(v);
	size_t chars = s && text_utf8_valid(s, json_string_length(v)) ? text_utf8_chars(s) : 0;
	if (chars < LIMIT_PASSWORD_MIN_CHARS || chars > LIMIT_PASSWORD_MAX_CHARS) {
		problem_set(p, 422, "%s: must be %d to %d characters", field,
		    LIMIT_PASSWORD_MIN_CHARS, LIMIT_PASSWORD_MAX_CHARS);
		return -1;
	}
	return 0;
}

/* ---------- who asks ---------- */

void
accounts_who(struct who *who, json_t *user, const char *credential)
{
	memset(who, 0, sizeof *who);
	snprintf(who->user_id, sizeof who->user_id, "%s",
	    json_string_value(json_object_get(user, "id")));
	snprintf(who->name, sizeof who->name, "%s", json_string_value(json_object_get(user, "name")));
	snprintf(who->display_name, sizeof who->display_name, "%s",
	    json_string_value(json_object_get(user, "display_name")));
	who->admin = json_is_true(json_object_get(user, "admin"));
	snprintf(who->credential, sizeof who->credential, "%s", credential ? credential : "");
}

/* Fills who for user_id; -1 when there is no such user. */
static int
who_of(struct accounts *a, const char *user_id, const char *credential, struct who *who)
{
	json_t *user;
	if (store_user_get(a->store, user_id, &user, NULL) != STORE_OK)
		return -1;
	accounts_who(who, user, credential);
	json_decref(user);
	return 0;
}

/* who a session is, and when it was last seen: from memory, else from the store. */
static int
session_who(struct accounts *a, const char *hash, struct who *who, int64_t *last)
{
	char user_id[ID_LEN + 1];
	if (credentials_get(a->credentials, hash, who, last) && !who->by_token)
		return 0;
	if (store_session_get(a->store, hash, user_id, last) != STORE_OK ||
	    who_of(a, user_id, hash, who) != 0)
		return -1;
	credentials_put(a->credentials, hash, who, *last);
	return 0;
}

int
accounts_by_session(struct accounts *a, const char *session_id, struct who *who)
{
	char hash[SECRET_HEX + 1];
	int64_t last, now = now_s();
	if (session_id == NULL || !secret_plausible(session_id))
		return -1;
	secret_hash(session_id, hash);
	if (session_who(a, hash, who, &last) != 0)
		return -1;
	if (now - last > a->session_seconds) {
		store_session_delete(a->store, hash);
		credentials_forget(a->credentials, hash);
		return -1;
	}
	if (now - last >= LIMIT_SESSION_TOUCH_SECONDS &&
	    store_session_touch(a->store, hash, now) == STORE_OK)
		credentials_put(a->credentials, hash, who, now);
	return 0;
}

int
accounts_by_token(struct accounts *a, const char *token, struct who *who)
{
	char hash[SECRET_HEX + 1], user_id[ID_LEN + 1], token_id[ID_LEN + 1];
	int64_t unused;
	if (token == NULL || !secret_plausible(token))
		return -1;
	secret_hash(token, hash);
	if (credentials_get(a->credentials, hash, who, &unused) && who->by_token)
		return 0;
	if (store_token_find(a->store, hash, user_id, token_id) != STORE_OK ||
	    who_of(a, user_id, hash, who) != 0)
		return -1;
	who->by_token = true;
	credentials_put(a->credentials, hash, who, 0);
	return 0;
}

int
accounts_by_proxy(struct accounts *a, const char *name, struct who *who)
{
	struct problem p;
	json_t *user, *v = json_string(name ? name : "");
	int rc = accounts_check_name(v, &p);
	json_decref(v);
	if (rc != 0)
		return -1;
	/* by name only: a proxy's name that is someone's id is not that someone */
	if (store_user_named(a->store, name, &user, NULL) != STORE_OK) {
		enum store_status made = store_user_create(a->store, name, name, NULL,
		    USER_ADMIN_IF_FIRST, &user);
		/* made meanwhile (another node, or a request of the same name here): that one */
		if (made == STORE_CONFLICT)
			made = store_user_named(a->store, name, &user, NULL);
		if (made != STORE_OK)
			return -1;
	}
	accounts_who(who, user, NULL);
	json_decref(user);
	return 0;
}

void
accounts_anyone(struct who *who)
{
	memset(who, 0, sizeof *who);
	who->anyone = true;
}

/* ---------- sessions ---------- */

/* A new session for the user; its id in id (for the cookie); -1 when it cannot be stored. */
static int
session_new(struct accounts *a, const char *user_id, char id[SECRET_LEN + 1])
{
	char hash[SECRET_HEX + 1];
	secret_new(id);
	secret_hash(id, hash);
	return store_session_create(a->store, hash, user_id, now_s()) == STORE_OK ? 0 : -1;
}

/* Answers s with the user and a new session, or the problem of storing it. */
static void
signed_in(struct slow *s, json_t *user)
{
	char id[SECRET_LEN + 1];
	struct problem p;
	if (session_new(s->a, json_string_value(json_object_get(user, "id")), id) != 0) {
		validate_store(s->a->store, STORE_ERROR, "session", &p);
		accounts_slow_end(s, NULL, NULL, &p);
		return;
	}
	accounts_slow_end(s, user, id, NULL);
	explicit_bzero(id, sizeof id);
}

void
accounts_count_sign_in(struct accounts *a, const char *name, const char *address, bool failed)
{
	if (failed) {
		throttle_fail(a->by_name, name, now_s());
		throttle_fail(a->by_addr, address, now_s());
	} else {
		throttle_clear(a->by_name, name);
	}
}

/*
 * A sign-in is counted as failed when it is let in (so attempts at once
 * cannot pass the limit together); one that turns out right, or is never
 * checked, takes its failure back.
 */
static void
count_ahead(struct accounts *a, const char *name, const char *peer)
{
	throttle_fail(a->by_name, name, now_s());
	throttle_fail(a->by_addr, peer, now_s());
}

static void
take_back(struct accounts *a, const char *name, const char *peer)
{
	throttle_unfail(a->by_name, name);
	throttle_unfail(a->by_addr, peer);
}

static void
sign_in_checked(struct slow *s)
{
	struct problem p;
	json_t *user;
	bool failed = !s->checked ||
	    store_user_named(s->a->store, s->name, &user, NULL) != STORE_OK;
	if (!failed) {
		take_back(s->a, s->name, s->peer);
		throttle_clear(s->a->by_name, s->name);
	}
	bus_sign_in(&s->a->bus, s->name, s->peer, failed);
	if (failed) {
		problem_set(&p, 401, "wrong name or password");
		accounts_slow_end(s, NULL, NULL, &p);
		return;
	}
	signed_in(s, user);
	json_decref(user);
}

/* 429 while the name or the address has failed too often (the right password too). */
static bool
throttled(struct accounts *a, const char *name, const char *peer, struct problem *p)
{
	unsigned wait = throttle_wait(a->by_name, name, now_s());
	unsigned by_addr = throttle_wait(a->by_addr, peer, now_s());
	if (by_addr > wait)
		wait = by_addr;
	if (wait == 0)
		return false;
	problem_set(p, 429, "too many failed sign-ins; try again in %u seconds", wait);
	p->retry_after = wait;
	return true;
}

void
accounts_sign_in(struct accounts *a, const char *peer, json_t *name, json_t *password,
    accounts_done_fn *done, void *arg)
{
	struct problem p;
	json_t *user = NULL;
	char key[LIMIT_USER_NAME_CHARS + 1];
	if (a->mode == AUTH_NONE) {	/* users made before stay for --auth accounts */
		problem_set(&p, 404, NO_ACCOUNTS);
		done(arg, NULL, NULL, &p);
		return;
	}
	if (!json_is_string(name) || !json_is_string(password)) {
		problem_set(&p, 422, "%s: required, a string", json_is_string(name) ? "password" : "name");
		done(arg, NULL, NULL, &p);
		return;
	}
	/* cut where a character ends: the key goes to other nodes as a JSON string */
	size_t len = text_utf8_prefix(json_string_value(name), json_string_length(name),
	    sizeof key - 1);
	snprintf(key, sizeof key, "%.*s", (int)len, json_string_value(name));
	for (char *c = key; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	if (throttled(a, key, peer, &p)) {
		done(arg, NULL, NULL, &p);
		return;
	}
	struct slow *s = accounts_slow_new(a, SLOW_CHECK, done, arg, sign_in_checked);
	snprintf(s->name, sizeof s->name, "%s", key);
	snprintf(s->peer, sizeof s->peer, "%s", peer);
	s->password = xstrdup(json_string_value(password));
	/*
	 * By name only, and only a name that could be one: an id, or a
	 * spelling PostgreSQL's lower() would fold into a name, is a name
	 * nobody has (checked against nothing, as slowly, and counted).
	 */
	if (accounts_check_name(name, &p) == 0 &&
	    store_user_named(a->store, key, &user, &s->stored) == STORE_OK)
		json_decref(user);
	count_ahead(a, key, peer);
	if (accounts_slow_start(s) != 0)
		take_back(a, key, peer);
}

int
accounts_sign_out(struct accounts *a, const struct who *who, struct problem *p)
{
	if (who->by_token || who->credential[0] == '\0') {
		problem_set(p, 422, "only a signed-in browser session can sign out");
		return -1;
	}
	enum store_status rc = store_session_delete(a->store, who->credential);
	credentials_forget(a->credentials, who->credential);
	struct bus_match m = { .credential = who->credential, .reason = "signed-out" };
	bus_end_streams(&a->bus, &m);
	return rc == STORE_OK || rc == STORE_NOT_FOUND ? 0 : validate_store(a->store, rc,
	    "session", p);
}

void
accounts_end_sessions(struct accounts *a, const char *user_id, const char *keep,
    const char *reason)
{
	json_t *hashes = store_user_sessions(a->store, user_id);
	size_t i;
	json_t *h;
	json_array_foreach(hashes, i, h) {
		if (keep != NULL && strcmp(json_string_value(h), keep) == 0)
			continue;
		struct bus_match m = { .credential = json_string_value(h), .reason = reason };
		bus_end_streams(&a->bus, &m);
	}
	json_decref(hashes);
}

/* ---------- the first administrator ---------- */

static void
setup_hashed(struct slow *s)
{
	struct problem p;
	json_t *user;
	enum store_status rc = s->hashed != 0 ? STORE_ERROR : store_user_create(s->a->store,
	    s->name, s->display_name, s->hash, USER_FIRST_ADMIN, &user);
	if (rc != STORE_OK) {
		if (rc == STORE_CONFLICT)
			problem_set(&p, 409, "setup is done already");
		else if (s->hashed != 0)
			problem_set(&p, 500, "hashing the password failed; try again");
		else
			validate_store(s->a->store, rc, "user", &p);
		accounts_slow_end(s, NULL, NULL, &p);
		return;
	}
	s->a->setup_hash[0] = '\0';	/* once */
	memset(s->a->setup_elsewhere, 0, sizeof s->a->setup_elsewhere);
	log_info("the first administrator, %s, was created", s->name);
	signed_in(s, user);
	json_decref(user);
}

/* The link (its pass's hash) is this node's, or another waiting node's. */
static bool
setup_link_of(struct accounts *a, const char *hash)
{
	bool found = secret_equal(hash, a->setup_hash, SECRET_HEX);
	for (size_t i = 0; i < ACCOUNTS_SETUP_NODES; i++)
		found |= a->setup_elsewhere[i][0] != '\0' &&
		    secret_equal(hash, a->setup_elsewhere[i], SECRET_HEX);
	return found;
}

void
accounts_setup(struct accounts *a, const char *pass, json_t *name, json_t *password,
    accounts_done_fn *done, void *arg)
{
	struct problem p;
	char hash[SECRET_HEX + 1];
	if (a->setup_hash[0] == '\0' || !secret_pass_plausible(pass)) {
		problem_set(&p, 404, "no setup is waiting for that token");
		done(arg, NULL, NULL, &p);
		return;
	}
	secret_hash(pass, hash);
	if (!setup_link_of(a, hash)) {
		problem_set(&p, 404, "no setup is waiting for that token");
		done(arg, NULL, NULL, &p);
		return;
	}
	if (accounts_check_name(name, &p) != 0 || accounts_check_password(password, "password",
	    &p) != 0) {
		done(arg, NULL, NULL, &p);
		return;
	}
	struct slow *s = accounts_slow_new(a, SLOW_HASH, done, arg, setup_hashed);
	snprintf(s->name, sizeof s->name, "%s", json_string_value(name));
	s->display_name = xstrdup(json_string_value(name));
	s->password = xstrdup(json_string_value(password));
	accounts_slow_start(s);
}

/* The administrator named by the environment (PARLEY_ADMIN, PARLEY_ADMIN_PASSWORD). */
static int
admin_from_env(struct accounts *a, const char *name, const char *password, char **err)
{
	struct problem p;
	char hash[PASSWORD_ENCODED_MAX];
	json_t *user = NULL, *n = json_string(name), *pw = json_string(password);
	int rc = accounts_check_name(n, &p) == 0 &&
	    accounts_check_password(pw, "PARLEY_ADMIN_PASSWORD", &p) == 0 ? 0 : -1;
	json_decref(n);
	json_decref(pw);
	if (rc == 0 && password_hash(password, hash) != 0) {
		problem_set(&p, 500, "hashing the password failed");
		rc = -1;
	}
	enum store_status made = rc == 0 ?
	    store_user_create(a->store, name, name, hash, USER_FIRST_ADMIN, &user) : STORE_OK;
	json_decref(user);
	if (made == STORE_CONFLICT)	/* another node starting at the same time made it */
		log_info("the first administrator was made by another node");
	else if (made != STORE_OK) {
		problem_set(&p, 500, "the database failed");
		rc = -1;
	}
	if (rc != 0 && asprintf(err, "cannot create the administrator %s: %s", name,
	    p.detail) < 0)
		*err = NULL;
	return rc;
}

int
accounts_first_admin(struct accounts *a, const char *name, const char *password,
    char setup[SECRET_LEN + 1], char **err)
{
	setup[0] = '\0';
	*err = NULL;
	if (a->mode != AUTH_ACCOUNTS)
		return 0;
	long users = store_user_count(a->store);
	if (users < 0) {
		*err = xstrdup("cannot read the users from the database");
		return -1;
	}
	if (users > 0)
		return 0;
	if (name != NULL && *name && password != NULL && *password)
		return admin_from_env(a, name, password, err);
	char pass[SECRET_HEX + 1];
	secret_new(setup);
	secret_link_pass(setup, pass);
	secret_hash(pass, a->setup_hash);
	return 0;
}

bool
accounts_need_setup(struct accounts *a)
{
	return a->setup_hash[0] != '\0';
}

const char *
accounts_setup_hash(struct accounts *a)
{
	return a->setup_hash[0] != '\0' ? a->setup_hash : NULL;
}

void
accounts_setup_heard(struct accounts *a, const char *hash)
{
	size_t free_slot = ACCOUNTS_SETUP_NODES;
	for (size_t i = 0; i < ACCOUNTS_SETUP_NODES; i++) {
		if (strcmp(a->setup_elsewhere[i], hash) == 0)
			return;
		if (a->setup_elsewhere[i][0] == '\0' && free_slot == ACCOUNTS_SETUP_NODES)
			free_slot = i;
	}
	if (a->setup_hash[0] == '\0')
		return;		/* no setup waits here: the first administrator exists */
	if (free_slot == ACCOUNTS_SETUP_NODES)
		free_slot = (size_t)(hash[0] % ACCOUNTS_SETUP_NODES);	/* full: one makes room */
	snprintf(a->setup_elsewhere[free_slot], SECRET_HEX + 1, "%s", hash);
}

/* ---------- life cycle ---------- */

static void
sweep_now(void *arg)
{
	struct accounts *a = arg;
	credentials_clear(a->credentials);
	store_sessions_expire(a->store, now_s() - a->session_seconds);
	store_invites_expire(a->store, now_s());
}

static void
sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fiber_run_serial(sweep_now, arg);
}

struct accounts *
accounts_new(struct event_base *base, struct store *st, struct bus bus, enum auth_mode mode,
    unsigned session_days)
{
	struct accounts *a = xcalloc(1, sizeof *a);
	a->store = st;
	a->bus = bus;
	a->mode = mode;
	a->session_seconds = (int64_t)session_days * 86400;
	a->workers = workers_new(base, HASH_THREADS, LIMIT_HASHES_QUEUED);
	a->by_name = throttle_new(LIMIT_SIGNIN_NAME_FAILURES, LIMIT_SIGNIN_WINDOW_SECONDS,
	    LIMIT_SIGNIN_KEYS);
	a->by_addr = throttle_new(LIMIT_SIGNIN_ADDR_FAILURES, LIMIT_SIGNIN_WINDOW_SECONDS,
	    LIMIT_SIGNIN_KEYS);
	a->credentials = credentials_new();
	a->sweep = event_new(base, -1, EV_PERSIST, sweep, a);
	event_add(a->sweep, &(struct timeval){ .tv_sec = LIMIT_ACCOUNTS_SWEEP_SECONDS });
	sweep_now(a);
	return a;
}

void
accounts_on_rename(struct accounts *a, accounts_renamed_fn *renamed, void *arg)
{
	a->renamed = renamed;
	a->renamed_arg = arg;
}

void
accounts_share(struct accounts *a)
{
	credentials_free(a->credentials);
	a->credentials = NULL;
}

void
accounts_free(struct accounts *a)
{
	if (a == NULL)
		return;
	event_free(a->sweep);
	workers_free(a->workers);	/* the last answers go out */
	throttle_free(a->by_name);
	throttle_free(a->by_addr);
	credentials_free(a->credentials);
	free(a);
}
