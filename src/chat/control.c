/*
 * control.c - conversation control; see control.h.
 */
#include "chat/control.h"
#include "chat/bots.h"
#include "chat/chats.h"
#include "chat/events.h"
#include "chat/turns.h"
#include "chat/validate.h"
#include "chat/who.h"
#include "limits.h"
#include "store/store.h"
#include "util/problem.h"
#include "util/xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct control {
	struct store	*store;
	struct events	*events;
	struct chats	*chats;
	struct bots	*bots;
	struct turns	*turns;
};

struct control *
control_new(struct store *st, struct events *ev, struct chats *chats, struct bots *bots,
    struct turns *turns)
{
	struct control *k = xcalloc(1, sizeof *k);
	*k = (struct control){ st, ev, chats, bots, turns };
	return k;
}

void
control_free(struct control *k)
{
	free(k);
}

static const char *
str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

bool
control_may_change(const struct who *who, json_t *message)
{
	if (strcmp(str(message, "kind"), "person") != 0 || who_admin(who))
		return true;
	const char *author = str(message, "user_id");
	return author != NULL && strcmp(author, who->user_id) == 0;
}

/* What a store failure on a message means to the client. */
static int
message_problem(struct control *k, enum store_status rc, struct problem *p)
{
	if (rc == STORE_CONFLICT) {
		problem_set(p, 409, "the message is being written; stop it or wait until it ends");
		return -1;
	}
	return validate_store(k->store, rc, "message", p);
}

/*
 * The chat (who may see it) and its message seq, which who may change
 * (rights: control_may_change); bot_only: a bot's message is asked for.
 */
static int
message_for(struct control *k, const struct who *who, const char *chat_id, uint64_t seq,
    bool bot_only, json_t **chat, json_t **message, struct problem *p)
{
	if (chats_get(k->chats, who, chat_id, chat, p) != 0)
		return -1;
	enum store_status rc = store_message_get(k->store, chat_id, seq, message);
	const char *kind = rc == STORE_OK ? str(*message, "kind") : "";
	if (rc == STORE_OK && bot_only && strcmp(kind, "bot") != 0)
		problem_set(p, 422, "only a bot's message can be written again");
	else if (rc == STORE_OK && !control_may_change(who, *message))
		problem_set(p, 403, "only its author or an administrator may change a message");
	else if (rc == STORE_OK)
		return 0;
	else
		message_problem(k, rc, p);
	json_decref(*chat);
	if (rc == STORE_OK)
		json_decref(*message);
	return -1;
}

int
control_edit(struct control *k, const struct who *who, const char *chat_id, uint64_t seq,
    json_t *body_v, json_t **message, struct problem *p)
{
	json_t *chat, *old;
	if (message_for(k, who, chat_id, seq, false, &chat, &old, p) != 0)
		return -1;
	json_decref(chat);
	json_decref(old);
	char *body = validate_message_body(body_v, p);
	if (body == NULL)
		return -1;
	*message = NULL;
	enum store_status rc = events_message_edit(k->events, chat_id, seq, body, message);
	free(body);
	return rc == STORE_OK ? 0 : message_problem(k, rc, p);
}

int
control_delete(struct control *k, const struct who *who, const char *chat_id, uint64_t seq,
    struct problem *p)
{
	json_t *chat, *old;
	if (message_for(k, who, chat_id, seq, false, &chat, &old, p) != 0)
		return -1;
	json_decref(chat);
	json_decref(old);
	turns_stop_message(k->turns, chat_id, seq);	/* stopped first (SPEC 8) */
	enum store_status rc = events_message_delete(k->events, chat_id, seq);
	turns_go_on(k->turns, chat_id);		/* the next turn reads the chat without it */
	return rc == STORE_OK ? 0 : message_problem(k, rc, p);
}

int
control_redo(struct control *k, const struct who *who, const char *chat_id, uint64_t seq,
    bool fresh, struct problem *p)
{
	json_t *chat, *msg, *bot = NULL;
	enum turn_asked asked;
	if (chats_stopping(k->chats)) {
		problem_set(p, 503, "the server is shutting down");
		return -1;
	}
	if (message_for(k, who, chat_id, seq, true, &chat, &msg, p) != 0)
		return -1;
	int rc = -1;
	if (strcmp(str(msg, "state"), "streaming") == 0)
		message_problem(k, STORE_CONFLICT, p);
	else if (fresh && json_integer_value(json_object_get(msg, "alternatives")) +
	    (json_int_t)turns_fresh_redos(k->turns, chat_id, seq) >= LIMIT_ALTERNATIVES)
		problem_set(p, 409, "the message has %d alternatives, the most it may have",
		    LIMIT_ALTERNATIVES);
	else if (str(msg, "bot_id") == NULL || store_bot_get(k->store, str(msg, "bot_id"),
	    &bot) != STORE_OK)
		problem_set(p, 422, "the bot that wrote this message no longer exists");
	else if ((asked = turns_redo(k->turns, chat, bot, seq, fresh)) == TURN_NOT_IN_CHAT)
		problem_set(p, 422, "%s is no longer a bot of this chat", str(bot, "name"));
	else if (asked == TURN_QUEUE_FULL)
		problem_set(p, 429, "%d turns are waiting in this chat already; try again when"
		    " some are done", LIMIT_QUEUED_TURNS);
	else
		rc = 0;
	json_decref(bot);
	json_decref(msg);
	json_decref(chat);
	return rc;
}

int
control_pick(struct control *k, const struct who *who, const char *chat_id, uint64_t seq,
    json_t *index, json_t **message, struct problem *p)
{
	json_t *chat, *msg;
	if (message_for(k, who, chat_id, seq, true, &chat, &msg, p) != 0)
		return -1;
	json_int_t n = json_integer_value(json_object_get(msg, "alternatives"));
	json_decref(chat);
	json_decref(msg);
	if (!json_is_integer(index) || json_integer_value(index) < 0 ||
	    json_integer_value(index) >= n) {
		problem_set(p, 422, "index: must be an integer from 0 to %lld", (long long)n - 1);
		return -1;
	}
	*message = NULL;
	enum store_status rc = events_message_pick(k->events, chat_id, seq,
	    (unsigned)json_integer_value(index), message);
	return rc == STORE_OK ? 0 : message_problem(k, rc, p);
}
