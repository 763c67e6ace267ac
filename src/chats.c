/*
 * chats.c - chat operations shared by the API and the pages; see chats.h.
 */
#include "chats.h"
#include "app.h"
#include "http/respond.h"
#include "hub/hub.h"
#include "limits.h"
#include "store/store.h"
#include "util/ids.h"
#include "util/text.h"
#include "util/xmalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const policies[] = { "round-robin", "mentions", "natural", "manual" };

static int
store_problem(enum store_status rc, struct problem *p)
{
	if (rc == STORE_NOT_FOUND)
		problem_set(p, 404, "chat not found");
	else
		problem_set(p, 500, "the database failed; try again");
	return -1;
}

/*
 * Checks that v is a string of 1..max_chars characters after trimming and
 * returns the trimmed copy (free it); NULL and a 422 naming field otherwise.
 */
static char *
trimmed_text(json_t *v, const char *field, size_t max_chars, struct problem *p)
{
	if (!json_is_string(v)) {
		problem_set(p, 422, "%s: required, a string", field);
		return NULL;
	}
	const char *s = json_string_value(v);
	if (!text_utf8_valid(s, json_string_length(v))) {
		problem_set(p, 422, "%s: must be UTF-8 text without NUL", field);
		return NULL;
	}
	char *t = text_trim(s);
	size_t n = text_utf8_chars(t);
	if (n == 0 || n > max_chars) {
		problem_set(p, 422, "%s: must be 1 to %zu characters", field, max_chars);
		free(t);
		return NULL;
	}
	return t;
}

/* The policy's name, "round-robin" when absent; NULL and a 422 when unknown. */
static const char *
policy_name(json_t *v, struct problem *p)
{
	if (v == NULL)
		return policies[0];
	for (size_t i = 0; json_is_string(v) && i < sizeof policies / sizeof *policies; i++)
		if (strcmp(json_string_value(v), policies[i]) == 0)
			return policies[i];
	problem_set(p, 422, "policy: must be one of round-robin, mentions, natural, manual");
	return NULL;
}

/* Bots come with the bots feature; until then a chat accepts only an empty list. */
static int
check_bots(json_t *v, struct problem *p)
{
	if (v == NULL || (json_is_array(v) && json_array_size(v) == 0))
		return 0;
	if (!json_is_array(v))
		problem_set(p, 422, "bots: must be a list of bot ids or names");
	else
		problem_set(p, 422, "bots: unknown bot");
	return -1;
}

int
chats_create(struct app *app, const struct chat_fields *in, json_t **chat, struct problem *p)
{
	char *title = trimmed_text(in->title, "title", LIMIT_TITLE_CHARS, p);
	if (title == NULL)
		return -1;
	const char *policy = policy_name(in->policy, p);
	int rc = -1;
	if (policy != NULL && check_bots(in->bots, p) == 0) {
		enum store_status st = store_chat_create(app->store, title, policy, NULL, chat);
		rc = st == STORE_OK ? 0 : store_problem(st, p);
	}
	free(title);
	return rc;
}

int
chats_update(struct app *app, const char *id, const struct chat_fields *in, json_t **chat,
    struct problem *p)
{
	char *title = NULL;
	const char *policy = NULL;
	if (in->title != NULL &&
	    (title = trimmed_text(in->title, "title", LIMIT_TITLE_CHARS, p)) == NULL)
		return -1;
	if ((in->policy != NULL && (policy = policy_name(in->policy, p)) == NULL) ||
	    check_bots(in->bots, p) != 0 || chats_get(app, id, chat, p) != 0) {
		free(title);
		return -1;
	}
	json_decref(*chat);

	uint64_t event_id;
	enum store_status st = store_chat_update(app->store, id, title, policy, NULL, chat, &event_id);
	free(title);
	if (st != STORE_OK)
		return store_problem(st, p);
	hub_publish(app->hub, id, event_id, "chat", *chat);
	return 0;
}

int
chats_delete(struct app *app, const char *id, struct problem *p)
{
	enum store_status st = id_valid(id) ? store_chat_delete(app->store, id) : STORE_NOT_FOUND;
	if (st != STORE_OK)
		return store_problem(st, p);
	hub_chat_deleted(app->hub, id);
	return 0;
}

int
chats_get(struct app *app, const char *id, json_t **chat, struct problem *p)
{
	enum store_status st = id_valid(id) ? store_chat_get(app->store, id, chat) : STORE_NOT_FOUND;
	return st == STORE_OK ? 0 : store_problem(st, p);
}

/* Message bodies keep their text as written, with line ends made LF. */
static char *
message_body(json_t *v, struct problem *p)
{
	if (!json_is_string(v)) {
		problem_set(p, 422, "body: required, a string");
		return NULL;
	}
	size_t len = json_string_length(v);
	const char *s = json_string_value(v);
	if (len > LIMIT_MESSAGE_BODY_BYTES) {
		problem_set(p, 413, "body: larger than %d bytes", LIMIT_MESSAGE_BODY_BYTES);
		return NULL;
	}
	if (!text_utf8_valid(s, len) || text_blank(s)) {
		problem_set(p, 422, "body: must be non-blank UTF-8 text without NUL");
		return NULL;
	}
	char *body = xmalloc(len + 1), *o = body;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '\r' && s[i + 1] == '\n'))
			*o++ = s[i] == '\r' ? '\n' : s[i];
	*o = '\0';
	return body;
}

int
chats_post(struct app *app, const char *id, json_t *author_v, json_t *body_v,
    json_t **message, struct problem *p)
{
	json_t *chat;
	if (chats_get(app, id, &chat, p) != 0)
		return -1;
	json_decref(chat);
	char *author = trimmed_text(author_v, "author", LIMIT_AUTHOR_CHARS, p);
	char *body = author ? message_body(body_v, p) : NULL;
	int rc = -1;
	if (body != NULL) {
		struct message_in in = { .kind = "person", .author = author, .body = body,
		    .state = "complete" };
		uint64_t event_id;
		enum store_status st = store_message_add(app->store, id, &in, message, &event_id);
		if (st == STORE_OK) {
			hub_publish(app->hub, id, event_id, "message", *message);
			rc = 0;
		} else
			store_problem(st, p);
	}
	free(author);
	free(body);
	return rc;
}

int
chats_snapshot(struct app *app, const char *id, json_t **snapshot, struct problem *p)
{
	json_t *chat, *messages;
	if (chats_get(app, id, &chat, p) != 0)
		return -1;
	enum store_status st = store_messages_last(app->store, id, LIMIT_SNAPSHOT_MESSAGES,
	    &messages);
	if (st != STORE_OK) {
		json_decref(chat);
		return store_problem(st, p);
	}
	*snapshot = json_pack("{s:s, s:b, s:O, s:O, s:O, s:o, s:{s:s, s:n, s:[]}, s:O}",
	    "chat_id", id, "ready", 1, "title", json_object_get(chat, "title"),
	    "policy", json_object_get(chat, "policy"), "bots", json_object_get(chat, "bots"),
	    "messages", messages, "turn", "state", "idle", "speaker", "queue",
	    "last_event_id", json_object_get(chat, "last_event_id"));
	json_decref(chat);
	return 0;
}
