/*
 * store.c - the store's one seam: each store_* of store.h goes to the
 * implementation the --db value chose, SQLite (a file) or PostgreSQL (a
 * postgres:// URL). Callers never see which.
 */
#include "store/store.h"
#include "store/postgres.h"
#include "store/sqlite.h"
#include "util/xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct store {
	struct sqlite_store	*lite;
	struct postgres_store	*pg;
};

#define DISPATCH(op, ...) (st->pg ? postgres_##op(st->pg, __VA_ARGS__) : \
	sqlite_##op(st->lite, __VA_ARGS__))

/* A write that failed its lease check (store_fence) says so. */
static enum store_status
fenced(struct store *st, enum store_status rc)
{
	return rc != STORE_OK && st->pg != NULL && st->pg->fenced ? STORE_FENCED : rc;
}

bool
store_is_postgres_url(const char *db)
{
	return strncmp(db, "postgres://", 11) == 0 || strncmp(db, "postgresql://", 13) == 0;
}

struct store *
store_open(const char *db, bool sync_full, char **err)
{
	struct store *st = xcalloc(1, sizeof *st);
	if (store_is_postgres_url(db))
		st->pg = postgres_open(db, err);
	else
		st->lite = sqlite_open(db, sync_full, err);
	if (st->pg == NULL && st->lite == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->pg != NULL)
		postgres_close(st->pg);
	else
		sqlite_close(st->lite);
	free(st);
}

void
store_set_accounts(struct store *st, bool accounts)
{
	if (st->pg != NULL)
		postgres_set_accounts(st->pg, accounts);
	else
		sqlite_set_accounts(st->lite, accounts);
}

bool
store_available(struct store *st)
{
	return st->pg ? postgres_available(st->pg) : sqlite_available(st->lite);
}

bool
store_unreachable(struct store *st)
{
	return st->pg ? postgres_unreachable(st->pg) : sqlite_unreachable(st->lite);
}

long
store_servers_using(struct store *st)
{
	return st->pg ? postgres_servers_using(st->pg) : 0;
}

enum store_status
store_messages_last(struct store *st, const char *chat_id, unsigned n, json_t **messages)
{
	return store_messages_before(st, chat_id, UINT64_MAX, n, messages);
}

json_t *
store_chat_list(struct store *st, const char *before, unsigned limit, const char *member)
{
	return DISPATCH(chat_list, before, limit, member);
}

enum store_status
store_chat_get(struct store *st, const char *id, json_t **chat)
{
	return DISPATCH(chat_get, id, chat);
}

json_t *
store_chat_activity(struct store *st, const char *member, const char *reader,
    unsigned offset, unsigned limit)
{
	return DISPATCH(chat_activity, member, reader, offset, limit);
}

json_t *
store_chat_item(struct store *st, const char *chat_id)
{
	return DISPATCH(chat_item, chat_id);
}

enum store_status
store_chat_create(struct store *st, const char *title, const char *policy, json_t *bot_ids,
    const char *creator, json_t **chat)
{
	return DISPATCH(chat_create, title, policy, bot_ids, creator, chat);
}

enum store_status
store_chat_update(struct store *st, const char *id, const struct chat_change *change,
    json_t **chat, uint64_t *event_id)
{
	return DISPATCH(chat_update, id, change, chat, event_id);
}

enum store_status
store_chat_delete(struct store *st, const char *id)
{
	return DISPATCH(chat_delete, id);
}

enum store_status
store_messages_after(struct store *st, const char *chat_id, uint64_t after, unsigned limit,
    json_t **messages)
{
	return DISPATCH(messages_after, chat_id, after, limit, messages);
}

enum store_status
store_messages_before(struct store *st, const char *chat_id, uint64_t before, unsigned n,
    json_t **messages)
{
	return DISPATCH(messages_before, chat_id, before, n, messages);
}

enum store_status
store_message_get(struct store *st, const char *chat_id, uint64_t seq, json_t **message)
{
	return DISPATCH(message_get, chat_id, seq, message);
}

enum store_status
store_messages_add(struct store *st, const struct message_in *in, size_t n,
    struct message_added *out)
{
	enum store_status rc = fenced(st, DISPATCH(messages_add, in, n, out));
	for (size_t i = 0; i < n; i++)
		out[i].status = fenced(st, out[i].status);
	return rc;
}

enum store_status
store_message_finish(struct store *st, const char *chat_id, uint64_t seq, const char *body,
    const char *state, const char *error, json_t **message, uint64_t *event_id)
{
	return fenced(st, DISPATCH(message_finish, chat_id, seq, body, state, error, message,
	    event_id));
}

enum store_status
store_message_edit(struct store *st, const char *chat_id, uint64_t seq, const char *body,
    json_t **message, uint64_t *event_id)
{
	return DISPATCH(message_edit, chat_id, seq, body, message, event_id);
}

enum store_status
store_message_delete(struct store *st, const char *chat_id, uint64_t seq,
    uint64_t *event_id)
{
	return DISPATCH(message_delete, chat_id, seq, event_id);
}

enum store_status
store_message_reopen(struct store *st, const char *chat_id, uint64_t seq, bool fresh,
    json_t **message, uint64_t *event_id)
{
	return fenced(st, DISPATCH(message_reopen, chat_id, seq, fresh, message, event_id));
}

enum store_status
store_message_pick(struct store *st, const char *chat_id, uint64_t seq, unsigned index,
    json_t **message, uint64_t *event_id)
{
	return DISPATCH(message_pick, chat_id, seq, index, message, event_id);
}

enum store_status
store_message_save_text(struct store *st, const char *chat_id, uint64_t seq,
    const char *body)
{
	return fenced(st, DISPATCH(message_save_text, chat_id, seq, body));
}

json_t *
store_messages_streaming(struct store *st)
{
	return st->pg ? postgres_messages_streaming(st->pg) : sqlite_messages_streaming(st->lite);
}

json_t *
store_messages_unleased(struct store *st)
{
	return st->pg ? postgres_messages_unleased(st->pg) : sqlite_messages_streaming(st->lite);
}

enum store_status
store_event_append(struct store *st, const char *chat_id, const char *name, json_t *data,
    uint64_t *event_id)
{
	return fenced(st, DISPATCH(event_append, chat_id, name, data, event_id));
}

/* One node on SQLite: every lease is its own, and nothing lapses or is fenced. */
enum store_status
store_lease_take(struct store *st, struct lease *l, char other[LEASE_NODE_MAX], json_t **saved,
    json_t *ask)
{
	if (st->pg != NULL)
		return postgres_lease_take(st->pg, l, other, saved, ask);
	l->fence = 1;
	other[0] = '\0';
	*saved = NULL;
	return STORE_OK;
}

enum store_status
store_lease_keep(struct store *st, const struct lease *l, json_t *state, bool *asked)
{
	bool waits = false;
	enum store_status rc = st->pg != NULL ? postgres_lease_keep(st->pg, l, state, &waits) :
	    STORE_OK;
	if (asked != NULL)
		*asked = waits;
	return rc;
}

enum store_status
store_lease_asked(struct store *st, const struct lease *l, json_t **asked)
{
	if (st->pg != NULL)
		return postgres_lease_asked(st->pg, l, asked);
	*asked = json_array();
	return STORE_OK;
}

enum store_status
store_lease_end(struct store *st, const struct lease *l)
{
	return st->pg != NULL ? postgres_lease_end(st->pg, l) : STORE_OK;
}

json_t *
store_chat_positions(struct store *st, json_t *ids)
{
	if (st->pg != NULL)
		return postgres_chat_positions(st->pg, ids);
	json_t *out = json_object(), *id, *chat;
	size_t i;
	json_array_foreach(ids, i, id)
		if (sqlite_chat_get(st->lite, json_string_value(id), &chat) == STORE_OK) {
			json_object_set(out, json_string_value(id), json_object_get(chat,
			    "last_event_id"));
			json_decref(chat);
		}
	return out;
}

json_t *
store_leases_lapsed(struct store *st)
{
	return st->pg != NULL ? postgres_leases_lapsed(st->pg) : json_array();
}

enum store_status
store_lease_turn(struct store *st, const char *chat_id, json_t **turn)
{
	*turn = NULL;
	return st->pg != NULL ? postgres_lease_turn(st->pg, chat_id, turn) : STORE_NOT_FOUND;
}

void
store_fence(struct store *st, const struct lease *l)
{
	if (st->pg != NULL)
		postgres_fence(st->pg, l);
}

const char *
store_deployment(const struct store *st)
{
	return st->pg != NULL ? postgres_deployment(st->pg) : "";
}

void
store_view_begin(struct store *st)
{
	if (st->pg != NULL)
		postgres_view_begin(st->pg);
}

void
store_view_end(struct store *st)
{
	if (st->pg != NULL)
		postgres_commit(st->pg);
}

enum store_status
store_events_after(struct store *st, const char *chat_id, uint64_t after, json_t **events)
{
	return DISPATCH(events_after, chat_id, after, events);
}

json_t *
store_bot_list(struct store *st)
{
	return st->pg ? postgres_bot_list(st->pg) : sqlite_bot_list(st->lite);
}

enum store_status
store_bot_get(struct store *st, const char *id_or_name, json_t **bot)
{
	return DISPATCH(bot_get, id_or_name, bot);
}

enum store_status
store_bot_create(struct store *st, json_t *fields, json_t **bot)
{
	return DISPATCH(bot_create, fields, bot);
}

enum store_status
store_bot_update(struct store *st, const char *id, json_t *old, json_t *fields,
    json_t **bot)
{
	return DISPATCH(bot_update, id, old, fields, bot);
}

json_t *
store_bot_chats(struct store *st, const char *id)
{
	return DISPATCH(bot_chats, id);
}

enum store_status
store_bot_delete(struct store *st, const char *id)
{
	return DISPATCH(bot_delete, id);
}

json_t *
store_user_list(struct store *st)
{
	return st->pg ? postgres_user_list(st->pg) : sqlite_user_list(st->lite);
}

long
store_user_count(struct store *st)
{
	return st->pg ? postgres_user_count(st->pg) : sqlite_user_count(st->lite);
}

enum store_status
store_user_get(struct store *st, const char *id_or_name, json_t **user, char **password)
{
	return DISPATCH(user_get, id_or_name, user, password);
}

enum store_status
store_user_named(struct store *st, const char *name, json_t **user, char **password)
{
	return DISPATCH(user_named, name, user, password);
}

enum store_status
store_user_create(struct store *st, const char *name, const char *display_name,
    const char *password, enum user_admin admin, json_t **user)
{
	return DISPATCH(user_create, name, display_name, password, admin, user);
}

enum store_status
store_user_update(struct store *st, const char *id, const char *display_name,
    const char *password, int admin, json_t **user)
{
	return DISPATCH(user_update, id, display_name, password, admin, user);
}

enum store_status
store_user_delete(struct store *st, const char *id)
{
	return DISPATCH(user_delete, id);
}

enum store_status
store_session_create(struct store *st, const char *hash, const char *user_id, int64_t now)
{
	return DISPATCH(session_create, hash, user_id, now);
}

enum store_status
store_session_get(struct store *st, const char *hash, char user_id[ID_LEN + 1],
    int64_t *last_seen)
{
	return DISPATCH(session_get, hash, user_id, last_seen);
}

enum store_status
store_session_touch(struct store *st, const char *hash, int64_t now)
{
	return DISPATCH(session_touch, hash, now);
}

enum store_status
store_session_delete(struct store *st, const char *hash)
{
	return DISPATCH(session_delete, hash);
}

json_t *
store_user_sessions(struct store *st, const char *user_id)
{
	return DISPATCH(user_sessions, user_id);
}

enum store_status
store_sessions_delete_user(struct store *st, const char *user_id, const char *keep)
{
	return DISPATCH(sessions_delete_user, user_id, keep);
}

enum store_status
store_sessions_expire(struct store *st, int64_t before)
{
	return DISPATCH(sessions_expire, before);
}

enum store_status
store_token_create(struct store *st, const char *user_id, const char *name,
    const char *hash, json_t **token)
{
	return DISPATCH(token_create, user_id, name, hash, token);
}

json_t *
store_token_list(struct store *st, const char *user_id)
{
	return DISPATCH(token_list, user_id);
}

enum store_status
store_token_find(struct store *st, const char *hash, char user_id[ID_LEN + 1],
    char token_id[ID_LEN + 1])
{
	return DISPATCH(token_find, hash, user_id, token_id);
}

enum store_status
store_token_delete(struct store *st, const char *user_id, const char *token_id, char **hash)
{
	return DISPATCH(token_delete, user_id, token_id, hash);
}

json_t *
store_member_list(struct store *st, const char *chat_id)
{
	return DISPATCH(member_list, chat_id);
}

enum store_status
store_member_is(struct store *st, const char *chat_id, const char *user_id)
{
	return DISPATCH(member_is, chat_id, user_id);
}

enum store_status
store_member_read(struct store *st, const char *chat_id, const char *user_id, uint64_t seq,
    uint64_t *mark)
{
	return DISPATCH(member_read, chat_id, user_id, seq, mark);
}

enum store_status
store_member_add(struct store *st, const char *chat_id, const char *user_id)
{
	return DISPATCH(member_add, chat_id, user_id);
}

enum store_status
store_member_remove(struct store *st, const char *chat_id, const char *user_id)
{
	return DISPATCH(member_remove, chat_id, user_id);
}

enum store_status
store_invite_create(struct store *st, const char *hash, const char *chat_id,
    const char *user_id, int64_t expires_at)
{
	return DISPATCH(invite_create, hash, chat_id, user_id, expires_at);
}

enum store_status
store_invite_get(struct store *st, const char *hash, int64_t now, char chat_id[ID_LEN + 1])
{
	return DISPATCH(invite_get, hash, now, chat_id);
}

enum store_status
store_invites_expire(struct store *st, int64_t now)
{
	return DISPATCH(invites_expire, now);
}

enum store_status
store_invites_drop(struct store *st, const char *chat_id)
{
	return DISPATCH(invites_drop, chat_id);
}
