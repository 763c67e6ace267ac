/*
 * members.c - a chat's members and invites; see members.h. An invite is
 * kept as the SHA-256 of its token's pass (util/secret.h) and may be used
 * by anyone signed in until it expires.
 */
#include "chat/members.h"
#include "chat/chats.h"
#include "chat/events.h"
#include "chat/validate.h"
#include "chat/who.h"
#include "limits.h"
#include "store/store.h"
#include "util/problem.h"
#include "util/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INVITE_DEFAULT_HOURS 168

struct members {
	struct store	*store;
	struct events	*events;
	struct chats	*chats;
};

struct members *
members_new(struct store *st, struct events *ev, struct chats *chats)
{
	struct members *m = xcalloc(1, sizeof *m);
	*m = (struct members){ .store = st, .events = ev, .chats = chats };
	return m;
}

void
members_free(struct members *m)
{
	free(m);
}

/* who may manage the chat's members: it has members, and who may see it. */
static int
may_manage(struct members *m, const struct who *who, const char *chat_id, struct problem *p)
{
	json_t *chat;
	if (who->anyone) {
		problem_set(p, 404, "chats have no members without accounts (--auth none)");
		return -1;
	}
	if (chats_get(m->chats, who, chat_id, &chat, p) != 0)
		return -1;
	json_decref(chat);
	return 0;
}

int
members_list(struct members *m, const struct who *who, const char *chat_id, json_t **users,
    struct problem *p)
{
	if (may_manage(m, who, chat_id, p) != 0)
		return -1;
	*users = store_member_list(m->store, chat_id);
	return *users ? 0 : validate_store(m->store, STORE_ERROR, "chat", p);
}

/*
 * The id of the user named by ref (an id or a name), and whether they are an
 * administrator (admin may be NULL); -1 and a 422 when there is none.
 */
static int
user_id_of(struct members *m, const char *ref, char id[ID_LEN + 1], bool *admin,
    const char *field, struct problem *p)
{
	json_t *user;
	enum store_status rc = ref != NULL ? store_user_get(m->store, ref, &user, NULL) :
	    STORE_NOT_FOUND;
	if (rc == STORE_NOT_FOUND) {
		problem_set(p, 422, "%s: no such user", field);
		return -1;
	}
	if (rc != STORE_OK)
		return validate_store(m->store, rc, "user", p);
	snprintf(id, ID_LEN + 1, "%s", json_string_value(json_object_get(user, "id")));
	if (admin != NULL)
		*admin = json_is_true(json_object_get(user, "admin"));
	json_decref(user);
	return 0;
}

int
members_add(struct members *m, const struct who *who, const char *chat_id, json_t *user,
    struct problem *p)
{
	char id[ID_LEN + 1];
	if (may_manage(m, who, chat_id, p) != 0 ||
	    user_id_of(m, json_string_value(user), id, NULL, "user", p) != 0)
		return -1;
	enum store_status rc = store_member_add(m->store, chat_id, id);
	if (rc != STORE_OK)
		return validate_store(m->store, rc, "chat", p);
	events_list_chat(m->events, chat_id);
	return 0;
}

int
members_remove(struct members *m, const struct who *who, const char *chat_id, const char *user,
    struct problem *p)
{
	char id[ID_LEN + 1];
	bool admin;
	if (may_manage(m, who, chat_id, p) != 0)
		return -1;
	if (user_id_of(m, user, id, &admin, "user", p) != 0) {
		if (p->status == 422)	/* named in the path: no such user is no such thing */
			problem_set(p, 404, "user not found");
		return -1;
	}
	enum store_status rc = store_member_remove(m->store, chat_id, id);
	/* the links go: whoever is removed (not leaving) may have seen one */
	if (rc == STORE_OK && strcmp(id, who->user_id) != 0)
		rc = store_invites_drop(m->store, chat_id);
	if (rc != STORE_OK)
		return validate_store(m->store, rc, "member", p);
	if (!admin) {	/* an administrator still sees the chat */
		struct bus_match match = { .chat_id = chat_id, .user_id = id, .reason = "removed" };
		events_end_streams(m->events, &match);
		events_list_gone(m->events, chat_id, id);
	}
	return 0;
}

int
members_invite(struct members *m, const struct who *who, const char *chat_id, json_t *hours,
    char token[SECRET_LEN + 1], char expires_at[21], struct problem *p)
{
	char hash[SECRET_HEX + 1];
	if (may_manage(m, who, chat_id, p) != 0)
		return -1;
	json_int_t h = hours == NULL ? INVITE_DEFAULT_HOURS :
	    json_is_integer(hours) ? json_integer_value(hours) : 0;
	if (h < 1 || h > LIMIT_INVITE_HOURS) {
		problem_set(p, 422, "hours: an integer from 1 to %d", LIMIT_INVITE_HOURS);
		return -1;
	}
	time_t expires = time(NULL) + (time_t)h * 3600;
	struct tm tm;
	gmtime_r(&expires, &tm);
	strftime(expires_at, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
	char pass[SECRET_HEX + 1];
	secret_new(token);
	secret_link_pass(token, pass);
	secret_hash(pass, hash);
	enum store_status rc = store_invite_create(m->store, hash, chat_id, who->user_id,
	    (int64_t)expires);
	return rc == STORE_OK ? 0 : validate_store(m->store, rc, "chat", p);
}

/* The chat id of a valid invite (by its pass); -1 and a 404 otherwise. */
static int
invite_chat(struct members *m, const char *pass, char chat_id[ID_LEN + 1], struct problem *p)
{
	char hash[SECRET_HEX + 1];
	if (secret_pass_plausible(pass)) {
		secret_hash(pass, hash);
		if (store_invite_get(m->store, hash, (int64_t)time(NULL), chat_id) == STORE_OK)
			return 0;
	}
	problem_set(p, 404, "this invitation does not exist or has expired");
	return -1;
}

int
members_invited_to(struct members *m, const char *pass, json_t **chat, struct problem *p)
{
	char chat_id[ID_LEN + 1];
	if (invite_chat(m, pass, chat_id, p) != 0)
		return -1;
	enum store_status rc = store_chat_get(m->store, chat_id, chat);
	return rc == STORE_OK ? 0 : validate_store(m->store, rc, "chat", p);
}

int
members_join(struct members *m, const struct who *who, const char *pass, json_t **chat,
    struct problem *p)
{
	char chat_id[ID_LEN + 1];
	if (who->anyone) {
		problem_set(p, 404, "chats have no members without accounts (--auth none)");
		return -1;
	}
	if (invite_chat(m, pass, chat_id, p) != 0)
		return -1;
	enum store_status rc = store_member_add(m->store, chat_id, who->user_id);
	if (rc == STORE_OK) {
		events_list_chat(m->events, chat_id);
		rc = store_chat_get(m->store, chat_id, chat);
	}
	return rc == STORE_OK ? 0 : validate_store(m->store, rc, "chat", p);
}
