/*
 * chats.c - chat operations shared by the API and the pages; see chats.h.
 * People's posts are committed in groups: each post joins the store's open
 * group, an event at the end of the loop iteration commits it, the store
 * tells each post its outcome (it is published then, so events leave in id
 * order however the group ended), and the same event answers them.
 */
#include "chat/chats.h"
#include "app.h"
#include "chat/bots.h"
#include "chat/turns.h"
#include "http/respond.h"
#include "hub/hub.h"
#include "limits.h"
#include "store/store.h"
#include "util/ids.h"
#include "util/text.h"
#include "util/xmalloc.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

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
	if (v == NULL || json_is_null(v))
		return policies[0];
	for (size_t i = 0; json_is_string(v) && i < sizeof policies / sizeof *policies; i++)
		if (strcmp(json_string_value(v), policies[i]) == 0)
			return policies[i];
	problem_set(p, 422, "policy: must be one of round-robin, mentions, natural, manual");
	return NULL;
}

int
chats_create(struct app *app, const struct chat_fields *in, json_t **chat, struct problem *p)
{
	char *title = trimmed_text(in->title, "title", LIMIT_TITLE_CHARS, p);
	if (title == NULL)
		return -1;
	const char *policy = policy_name(in->policy, p);
	json_t *bot_ids = NULL;
	int rc = -1;
	if (policy != NULL && (in->bots == NULL || (bot_ids = bots_resolve(app, in->bots, p)))) {
		enum store_status st = store_chat_create(app->store, title, policy, bot_ids, chat);
		rc = st == STORE_OK ? 0 : store_problem(st, p);
	}
	json_decref(bot_ids);
	free(title);
	return rc;
}

int
chats_update(struct app *app, const char *id, const struct chat_fields *in, json_t **chat,
    struct problem *p)
{
	char *title = NULL;
	const char *policy = NULL;
	json_t *bot_ids = NULL;
	if (chats_get(app, id, chat, p) != 0)
		return -1;
	json_decref(*chat);
	*chat = NULL;
	if ((in->title != NULL &&
	    (title = trimmed_text(in->title, "title", LIMIT_TITLE_CHARS, p)) == NULL) ||
	    (in->policy != NULL && !json_is_null(in->policy) &&
	    (policy = policy_name(in->policy, p)) == NULL) ||
	    (in->bots != NULL && (bot_ids = bots_resolve(app, in->bots, p)) == NULL)) {
		free(title);
		return -1;
	}
	uint64_t event_id;
	enum store_status st = store_chat_update(app->store, id, title, policy, bot_ids, chat,
	    &event_id);
	free(title);
	json_decref(bot_ids);
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
	turns_forget(app->turns, id);
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

/* A person's message on its way: stored in the open group, answered after its commit. */
struct post {
	STAILQ_ENTRY(post)	 next;
	struct app		*app;
	json_t			*message;
	uint64_t		 event_id;
	bool			 durable;
	chats_posted_fn		*posted;
	void			*arg;
};

struct posts {
	struct app		*app;
	struct event		*settle;	/* end of the loop iteration */
	STAILQ_HEAD(, post)	 ended;		/* their group is over: to be answered */
};

/* Called by the store as the group ends: it must not call the store again. */
static void
post_ended(void *arg, bool ok)
{
	struct post *post = arg;
	struct posts *posts = post->app->posts;
	post->durable = ok;
	if (ok)
		hub_publish(post->app->hub, json_string_value(json_object_get(post->message,
		    "chat_id")), post->event_id, "message", post->message);
	STAILQ_INSERT_TAIL(&posts->ended, post, next);
	event_active(posts->settle, 0, 0);
}

/* The bots answer a committed post as the chat is now (a PATCH may have come first). */
static void
post_answer(struct post *post)
{
	struct app *app = post->app;
	json_t *chat;
	if (post->durable) {
		if (!app->stopping && store_chat_get(app->store, json_string_value(
		    json_object_get(post->message, "chat_id")), &chat) == STORE_OK) {
			turns_on_message(app->turns, chat, post->message);
			json_decref(chat);
		}
		post->posted(post->arg, post->message, NULL);
	} else {
		struct problem p;
		problem_set(&p, 500, "the database failed; try again");
		post->posted(post->arg, NULL, &p);
	}
	json_decref(post->message);
	free(post);
}

/* Commits the open group, then answers every post whose group is over. */
static void
settle(evutil_socket_t fd, short what, void *arg)
{
	struct posts *posts = arg;
	struct post *post;
	(void)fd;
	(void)what;
	store_group_commit(posts->app->store);
	while ((post = STAILQ_FIRST(&posts->ended)) != NULL) {
		STAILQ_REMOVE_HEAD(&posts->ended, next);
		post_answer(post);
	}
}

struct posts *
posts_new(struct app *app)
{
	struct posts *posts = xcalloc(1, sizeof *posts);
	posts->app = app;
	posts->settle = event_new(app->base, -1, 0, settle, posts);
	STAILQ_INIT(&posts->ended);
	return posts;
}

void
posts_free(struct posts *posts)
{
	if (posts == NULL)
		return;
	settle(-1, 0, posts);
	event_free(posts->settle);
	free(posts);
}

/* Stores the message in the open group; the answer follows from settle. */
static int
post_add(struct app *app, const char *chat_id, const struct message_in *in,
    chats_posted_fn *posted, void *arg, struct problem *p)
{
	struct post *post = xcalloc(1, sizeof *post);
	*post = (struct post){ .app = app, .posted = posted, .arg = arg };
	enum store_status st = store_message_add_grouped(app->store, chat_id, in,
	    &post->message, &post->event_id, post_ended, post);
	if (st != STORE_OK) {
		free(post);
		return store_problem(st, p);
	}
	event_active(app->posts->settle, 0, 0);
	return 0;
}

int
chats_post(struct app *app, const char *id, json_t *author_v, json_t *body_v,
    chats_posted_fn *posted, void *arg, struct problem *p)
{
	json_t *chat;
	if (app->stopping) {
		problem_set(p, 503, "the server is shutting down");
		return -1;
	}
	if (chats_get(app, id, &chat, p) != 0)
		return -1;
	char *author = trimmed_text(author_v, "author", LIMIT_AUTHOR_CHARS, p);
	char *body = author ? message_body(body_v, p) : NULL;
	int rc = -1;
	if (body != NULL) {
		struct message_in in = { .kind = "person", .author = author, .body = body,
		    .state = "complete" };
		rc = post_add(app, id, &in, posted, arg, p);
	}
	json_decref(chat);
	free(author);
	free(body);
	return rc;
}

static bool
chat_has_bot(json_t *chat, const char *bot_id)
{
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(chat, "bots"), i, b)
		if (strcmp(json_string_value(json_object_get(b, "id")), bot_id) == 0)
			return true;
	return false;
}

int
chats_turn(struct app *app, const char *id, json_t *bot_ref, struct problem *p)
{
	json_t *chat, *bot = NULL;
	if (app->stopping) {
		problem_set(p, 503, "the server is shutting down");
		return -1;
	}
	if (chats_get(app, id, &chat, p) != 0)
		return -1;
	int rc = -1;
	if (!json_is_string(bot_ref))
		problem_set(p, 422, "bot: required, a bot id or name");
	else if (store_bot_get(app->store, json_string_value(bot_ref), &bot) != STORE_OK ||
	    !chat_has_bot(chat, json_string_value(json_object_get(bot, "id"))))
		problem_set(p, 422, "bot: not a bot of this chat");
	else {
		turns_request(app->turns, chat, bot);
		rc = 0;
	}
	json_decref(bot);
	json_decref(chat);
	return rc;
}

int
chats_stop(struct app *app, const char *id, struct problem *p)
{
	json_t *chat;
	if (chats_get(app, id, &chat, p) != 0)
		return -1;
	json_decref(chat);
	turns_stop(app->turns, id);
	return 0;
}

/* A reply being generated shows with its text so far. */
static void
overlay_current(struct app *app, const char *id, json_t *messages)
{
	json_t *current = turns_current(app->turns, id);
	size_t i;
	json_t *m;
	json_array_foreach(messages, i, m)
		if (current && json_equal(json_object_get(m, "seq"), json_object_get(current, "seq")))
			json_array_set(messages, i, current);
	json_decref(current);
}

int
chats_recent(struct app *app, const char *id, unsigned n, json_t **messages, struct problem *p)
{
	enum store_status st = store_messages_last(app->store, id, n, messages);
	if (st != STORE_OK)
		return store_problem(st, p);
	overlay_current(app, id, *messages);
	return 0;
}

int
chats_snapshot(struct app *app, const char *id, unsigned n, json_t **snapshot,
    struct problem *p)
{
	json_t *chat, *messages;
	/* messages first: reading them commits any open group, which the chat then shows */
	if (chats_recent(app, id, n, &messages, p) != 0)
		return -1;
	if (chats_get(app, id, &chat, p) != 0) {
		json_decref(messages);
		return -1;
	}
	*snapshot = json_pack("{s:s, s:b, s:O, s:O, s:O, s:o, s:o, s:O}",
	    "chat_id", id, "ready", 1, "title", json_object_get(chat, "title"),
	    "policy", json_object_get(chat, "policy"), "bots", json_object_get(chat, "bots"),
	    "messages", messages, "turn", turns_state(app->turns, id),
	    "last_event_id", json_object_get(chat, "last_event_id"));
	json_decref(chat);
	return 0;
}
