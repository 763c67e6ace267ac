/*
 * chats.c - the chat service; see chats.h. It never writes an event itself:
 * every change goes through the events module, which stores, then publishes.
 */
#include "chat/chats.h"
#include "chat/bots.h"
#include "chat/events.h"
#include "chat/policy.h"
#include "chat/turns.h"
#include "chat/validate.h"
#include "chat/who.h"
#include "limits.h"
#include "store/store.h"
#include "util/fiber.h"
#include "util/hash.h"
#include "util/ids.h"
#include "util/problem.h"
#include "util/text.h"
#include "util/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* A chat as read for a post, good while no chat or bot has changed since. */
struct posted_chat {
	char		 id[ID_LEN + 1];
	json_t		*chat;
	uint64_t	 chat_changes, bots;	/* events_chat_changes, bots_version then */
};

struct chats {
	struct store		*store;
	struct events		*events;
	struct bots		*bots;
	struct turns		*turns;
	bool			 stopping;
	struct posted_chat	 posted[LIMIT_POSTED_CHATS];
};

static const char *const policies[] = { "round-robin", "mentions", "natural", "manual" };

struct chats *
chats_new(struct store *st, struct events *ev, struct bots *bots, struct turns *turns)
{
	struct chats *c = xcalloc(1, sizeof *c);
	*c = (struct chats){ .store = st, .events = ev, .bots = bots, .turns = turns };
	return c;
}

void
chats_free(struct chats *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < LIMIT_POSTED_CHATS; i++)
		json_decref(c->posted[i].chat);
	free(c);
}

void
chats_shutdown(struct chats *c)
{
	c->stopping = true;
}

bool
chats_stopping(const struct chats *c)
{
	return c->stopping;
}

static int
refuse_stopping(const struct chats *c, struct problem *p)
{
	if (!c->stopping)
		return 0;
	problem_set(p, 503, "the server is shutting down");
	return -1;
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
chats_list(struct chats *c, const struct who *who, const char *before, unsigned limit,
    json_t **chats, json_t **next, struct problem *p)
{
	limit = limit < 1 ? 1 : limit > LIMIT_LIST_MAX ? LIMIT_LIST_MAX : limit;
	/* one more than asked for says whether another page follows */
	*chats = store_chat_list(c->store, before, limit + 1, who_admin(who) ? NULL : who->user_id);
	if (*chats == NULL)
		return validate_store(c->store, STORE_ERROR, "chat", p);
	*next = json_null();
	if (json_array_size(*chats) > limit) {
		json_array_remove(*chats, limit);
		*next = json_incref(json_object_get(json_array_get(*chats, limit - 1), "id"));
	}
	return 0;
}

int
chats_activity(struct chats *c, const struct who *who, unsigned offset, unsigned limit,
    json_t **items, struct problem *p)
{
	const char *reader = who->user_id[0] != '\0' ? who->user_id : NULL;
	*items = store_chat_activity(c->store, who_admin(who) ? NULL : who->user_id, reader,
	    offset, limit);
	return *items ? 0 : validate_store(c->store, STORE_ERROR, "chat", p);
}

int
chats_mark_read(struct chats *c, const struct who *who, const char *id, json_t *seq,
    struct problem *p)
{
	json_t *chat;
	if (!json_is_integer(seq) || json_integer_value(seq) < 0) {
		problem_set(p, 422, "seq: required, the seq of the last message read");
		return -1;
	}
	if (chats_get(c, who, id, &chat, p) != 0)
		return -1;
	json_decref(chat);
	if (who->user_id[0] == '\0')
		return 0;	/* --auth none: the browser keeps its own marks */
	uint64_t mark;
	enum store_status st = store_member_read(c->store, id, who->user_id,
	    (uint64_t)json_integer_value(seq), &mark);
	if (st == STORE_OK)
		events_list_read(c->events, id, who->user_id, mark);
	return st == STORE_OK || st == STORE_NOT_FOUND ? 0 : validate_store(c->store, st, "chat", p);
}

/* True when ids (an array of strings) holds id. */
static bool
has_id(json_t *ids, json_t *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
		if (json_equal(v, id))
			return true;
	return false;
}

/*
 * The bots of bot_ids not in before (NULL: none) that have a greeting greet
 * the chat: each says it as a message of its own (SPEC 8).
 */
static void
greet(struct chats *c, const char *chat_id, json_t *bot_ids, json_t *before)
{
	size_t i;
	json_t *id, *bot, *msg;
	json_array_foreach(bot_ids, i, id) {
		if ((before != NULL && has_id(before, id)) ||
		    store_bot_get(c->store, json_string_value(id), &bot) != STORE_OK)
			continue;
		const char *name = json_string_value(json_object_get(bot, "name"));
		const char *greeting = json_string_value(json_object_get(bot, "greeting"));
		if (greeting != NULL && !text_blank(greeting)) {
			char *body = text_card_macros(greeting, name, "everyone");
			struct message_in in = { .chat_id = chat_id, .kind = "bot", .author = name,
			    .bot_id = json_string_value(id), .body = body, .state = "complete" };
			if (events_message_add(c->events, &in, &msg) == STORE_OK)
				json_decref(msg);
			free(body);
		}
		json_decref(bot);
	}
}

/* The ids of the chat's bots (a Chat's "bots"). */
static json_t *
bot_ids_of(json_t *chat)
{
	json_t *ids = json_array();
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(chat, "bots"), i, b)
		json_array_append(ids, json_object_get(b, "id"));
	return ids;
}

int
chats_create(struct chats *c, const struct who *who, const struct chat_fields *in,
    json_t **chat, struct problem *p)
{
	char *title = validate_text(in->title, "title", LIMIT_TITLE_CHARS, p);
	if (title == NULL)
		return -1;
	const char *policy = policy_name(in->policy, p);
	json_t *bot_ids = NULL;
	int rc = -1;
	if (policy != NULL && (in->bots == NULL || (bot_ids = bots_resolve(c->bots, in->bots, p)))) {
		enum store_status st = store_chat_create(c->store, title, policy, bot_ids,
		    who->anyone ? NULL : who->user_id, chat);
		rc = st == STORE_OK ? 0 : validate_store(c->store, st, "chat", p);
	}
	if (rc == 0) {
		const char *id = json_string_value(json_object_get(*chat, "id"));
		greet(c, id, bot_ids, NULL);
		events_list_chat(c->events, id);
	}
	json_decref(bot_ids);
	free(title);
	return rc;
}

/* The muted bots (refs: ids or names) as ids, each one of bot_ids; NULL and p if not. */
static json_t *
muted_ids(struct chats *c, json_t *refs, json_t *bot_ids, struct problem *p)
{
	json_t *ids = bots_resolve(c->bots, refs, p);
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id)
		if (!has_id(bot_ids, id)) {
			problem_set(p, 422, "muted: %s is not a bot of this chat", json_string_value(id));
			json_decref(ids);
			return NULL;
		}
	if (ids == NULL && p->status == 422)
		problem_set(p, 422, "muted: must be a list of bots of this chat (ids or names)");
	return ids;
}

/* auto_rounds as given (-1: not given); -2 and p when it is out of range. */
static int
auto_rounds(json_t *v, struct problem *p)
{
	if (v == NULL)
		return -1;
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= LIMIT_AUTO_ROUNDS)
		return (int)json_integer_value(v);
	problem_set(p, 422, "auto_rounds: must be an integer from 0 to %d", LIMIT_AUTO_ROUNDS);
	return -2;
}

/* The change in fields, checked against the chat as it is (old); -1 and p when invalid. */
static int
chat_change_of(struct chats *c, const struct chat_fields *in, json_t *old,
    struct chat_change *out, struct problem *p)
{
	*out = (struct chat_change){ .auto_rounds = auto_rounds(in->auto_rounds, p) };
	char *title = NULL;
	if (out->auto_rounds == -2 || (in->title != NULL &&
	    (title = validate_text(in->title, "title", LIMIT_TITLE_CHARS, p)) == NULL) ||
	    (in->policy != NULL && !json_is_null(in->policy) &&
	    (out->policy = policy_name(in->policy, p)) == NULL) ||
	    (in->bots != NULL && (out->bot_ids = bots_resolve(c->bots, in->bots, p)) == NULL))
		goto bad;
	out->title = title;
	json_t *now = out->bot_ids ? json_incref(out->bot_ids) : bot_ids_of(old);
	if (in->muted != NULL)
		out->muted = muted_ids(c, in->muted, now, p);
	json_decref(now);
	if (in->muted == NULL || out->muted != NULL)
		return 0;
bad:
	free(title);
	json_decref(out->bot_ids);
	return -1;
}

int
chats_update(struct chats *c, const struct who *who, const char *id,
    const struct chat_fields *in, json_t **chat, struct problem *p)
{
	struct chat_change change;
	json_t *old;
	*chat = NULL;
	if (chats_get(c, who, id, &old, p) != 0)
		return -1;
	if (chat_change_of(c, in, old, &change, p) != 0) {
		json_decref(old);
		return -1;
	}
	enum store_status st = events_chat_update(c->events, id, &change, chat);
	if (st == STORE_OK && change.bot_ids != NULL) {
		json_t *before = bot_ids_of(old);
		greet(c, id, change.bot_ids, before);
		json_decref(before);
	}
	if (st == STORE_OK && change.auto_rounds == 0)
		turns_end_auto(c->turns, id);
	if (st == STORE_OK && change.bot_ids != NULL)
		turns_bots_changed(c->turns, id);	/* a bot taken out stops talking */
	free((char *)change.title);
	json_decref(change.bot_ids);
	json_decref(change.muted);
	json_decref(old);
	return st == STORE_OK ? 0 : validate_store(c->store, st, "chat", p);
}

int
chats_delete(struct chats *c, const struct who *who, const char *id, struct problem *p)
{
	json_t *chat;
	if (chats_get(c, who, id, &chat, p) != 0)
		return -1;
	json_decref(chat);
	enum store_status st = events_chat_delete(c->events, id);
	if (st != STORE_OK)
		return validate_store(c->store, st, "chat", p);
	turns_forget(c->turns, id);
	return 0;
}

/* who may see the chat: a member, an administrator, or anyone with --auth none. */
static bool
may_see(struct chats *c, const struct who *who, const char *id)
{
	return who_admin(who) || store_member_is(c->store, id, who->user_id) == STORE_OK;
}

/* The chat read as st says, if who may see it: 0, else -1 and p. */
static int
visible(struct chats *c, const struct who *who, const char *id, enum store_status st,
    json_t **chat, struct problem *p)
{
	if (st == STORE_OK && !may_see(c, who, id)) {
		json_decref(*chat);
		*chat = NULL;
		st = STORE_NOT_FOUND;	/* to who, it does not exist */
	}
	return st == STORE_OK ? 0 : validate_store(c->store, st, "chat", p);
}

static struct posted_chat *
posted_slot(struct chats *c, const char *id)
{
	return &c->posted[hash_fnv1a(id, strlen(id)) % LIMIT_POSTED_CHATS];
}

/* What a chat read starts with: where the changes stood before it (remember_chat). */
struct chat_read {
	uint64_t	 chat_changes, bots;
};

static struct chat_read
chat_read_starts(struct chats *c)
{
	return (struct chat_read){ events_chat_changes(c->events), bots_version(c->bots) };
}

/* A copy of the chat as read (from at), kept for posts to it while nothing changes. */
static void
remember_chat(struct chats *c, const char *id, json_t *chat, struct chat_read at)
{
	struct posted_chat *slot = posted_slot(c, id);
	json_decref(slot->chat);
	*slot = (struct posted_chat){ .chat = json_deep_copy(chat), .chat_changes = at.chat_changes,
	    .bots = at.bots };
	snprintf(slot->id, sizeof slot->id, "%s", id);
}

/* A chat read from the store (and kept for posts). */
static enum store_status
chat_read(struct chats *c, const char *id, json_t **chat)
{
	struct chat_read at = chat_read_starts(c);
	enum store_status st = store_chat_get(c->store, id, chat);
	if (st == STORE_OK)
		remember_chat(c, id, *chat, at);
	return st;
}

/*
 * The chat's settings for a post (its bots, policy, mutes; not its counters):
 * from memory while no chat or bot has changed through this server since
 * they were read (for a post, a snapshot or a GET), so a busy chat's posts,
 * and the first post of a tab that opened the chat, need no read of it.
 */
static enum store_status
chat_for_post(struct chats *c, const char *id, json_t **chat)
{
	struct posted_chat *slot = posted_slot(c, id);
	struct chat_read now = chat_read_starts(c);
	if (slot->chat != NULL && strcmp(slot->id, id) == 0 &&
	    slot->chat_changes == now.chat_changes && slot->bots == now.bots) {
		*chat = json_incref(slot->chat);
		return STORE_OK;
	}
	return chat_read(c, id, chat);
}

int
chats_get(struct chats *c, const struct who *who, const char *id, json_t **chat,
    struct problem *p)
{
	enum store_status st = id_valid(id) ? chat_read(c, id, chat) : STORE_NOT_FOUND;
	return visible(c, who, id, st, chat, p);
}

/* A post on its way to its commit, and who to tell. */
struct post {
	struct chats	*chats;
	chats_posted_fn	*posted;
	void		*arg;
	json_t		*chat;			/* as read before the post was queued */
	uint64_t	 chat_changes, bots;	/* events_chat_changes, bots_version then */
	json_t		*message;		/* once committed */
};

/* The chat as it is now: the one read before the post, unless a chat or bot changed since. */
static json_t *
chat_now(struct post *post, const char *chat_id)
{
	struct chats *c = post->chats;
	json_t *chat = NULL;
	if (post->chat_changes == events_chat_changes(c->events) &&
	    post->bots == bots_version(c->bots))
		return json_incref(post->chat);
	return store_chat_get(c->store, chat_id, &chat) == STORE_OK ? chat : NULL;
}

static void
post_free(struct post *post)
{
	json_decref(post->chat);
	json_decref(post->message);
	free(post);
}

/*
 * In the services' turn: the bots answer a committed post as the chat is
 * now (a PATCH may have come first), then the poster hears.
 */
static void
post_answered(void *arg)
{
	struct post *post = arg;
	struct chats *c = post->chats;
	const char *chat_id = json_string_value(json_object_get(post->message, "chat_id"));
	json_t *chat;
	if (!c->stopping && (chat = chat_now(post, chat_id)) != NULL) {
		turns_on_message(c->turns, chat, post->message);
		json_decref(chat);
	}
	post->posted(post->arg, post->message, NULL);
	post_free(post);
}

/* Whether the turn flow has nothing to do with the post: no bots then or now, no flow. */
static bool
no_turn(struct post *post, const char *chat_id)
{
	struct chats *c = post->chats;
	return post->chat_changes == events_chat_changes(c->events) &&
	    post->bots == bots_version(c->bots) &&
	    json_array_size(json_object_get(post->chat, "bots")) == 0 &&
	    !turns_busy(c->turns, chat_id);
}

/*
 * Told by the committer: a post nothing answers is acknowledged at once,
 * the others once the turn flow heard of them (in the services' turn).
 */
static void
post_committed(void *arg, json_t *message, enum store_status status)
{
	struct post *post = arg;
	struct problem p;
	if (message == NULL) {
		validate_store(post->chats->store, status, "chat", &p);
		post->posted(post->arg, NULL, &p);
		post_free(post);
	} else if (no_turn(post, json_string_value(json_object_get(message, "chat_id")))) {
		post->posted(post->arg, message, NULL);
		post_free(post);
	} else {
		post->message = json_incref(message);
		fiber_run_serial(post_answered, post);
	}
}

int
chats_post(struct chats *c, const struct who *who, const char *id, json_t *author_v,
    json_t *body_v, chats_posted_fn *posted, void *arg, struct problem *p)
{
	json_t *chat;
	struct chat_read at = chat_read_starts(c);	/* before the read may wait */
	if (refuse_stopping(c, p) != 0 || visible(c, who, id, id_valid(id) ?
	    chat_for_post(c, id, &chat) : STORE_NOT_FOUND, &chat, p) != 0)
		return -1;
	/* with accounts the author is who posts; an author in the request is ignored */
	char *author = who->anyone ? validate_text(author_v, "author", LIMIT_AUTHOR_CHARS, p) :
	    xstrdup(who->display_name);
	char *body = author ? validate_message_body(body_v, p) : NULL;
	if (body != NULL) {
		struct post *post = xmalloc(sizeof *post);
		*post = (struct post){ c, posted, arg, json_incref(chat), at.chat_changes, at.bots,
		    NULL };
		struct message_in in = { .chat_id = id, .kind = "person", .author = author,
		    .user_id = who->anyone ? NULL : who->user_id, .body = body,
		    .state = "complete" };
		events_post(c->events, &in, post_committed, post);
	}
	json_decref(chat);
	free(author);
	free(body);
	return body != NULL ? 0 : -1;
}

int
chats_turn(struct chats *c, const struct who *who, const char *id, json_t *bot_ref,
    struct problem *p)
{
	json_t *chat, *bot = NULL;
	if (refuse_stopping(c, p) != 0 || chats_get(c, who, id, &chat, p) != 0)
		return -1;
	int rc = -1;
	enum turn_asked asked = TURN_NOT_IN_CHAT;
	if (!json_is_string(bot_ref))
		problem_set(p, 422, "bot: required, a bot id or name");
	else if (bots_get(c->bots, json_string_value(bot_ref), &bot, p) != 0 ||
	    (asked = turns_request(c->turns, chat, bot)) == TURN_NOT_IN_CHAT)
		problem_set(p, 422, "bot: not a bot of this chat");
	else if (asked == TURN_QUEUE_FULL)
		problem_set(p, 429, "%d turns are waiting in this chat already; try again when"
		    " some are done", LIMIT_QUEUED_TURNS);
	else
		rc = 0;
	json_decref(bot);
	json_decref(chat);
	return rc;
}

/* True when the chat (JSON) has the bot (by id). */
static bool
chat_has(json_t *chat, const char *bot_id)
{
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(chat, "bots"), i, b)
		if (strcmp(json_string_value(json_object_get(b, "id")), bot_id) == 0)
			return true;
	return false;
}

json_t *
chats_absent_mentions(struct chats *c, const char *id, const char *text)
{
	struct problem p;
	json_t *chat, *bots, *absent = json_array();
	if (store_chat_get(c->store, id, &chat) != STORE_OK)
		return absent;
	if (bots_list(c->bots, &bots, &p) == 0) {
		size_t n = json_array_size(bots), found[LIMIT_MENTIONS_SEEN], k;
		struct chat_bot *all = xcalloc(n ? n : 1, sizeof *all);
		for (size_t i = 0; i < n; i++)
			all[i].name = json_string_value(json_object_get(json_array_get(bots, i), "name"));
		k = mentions_find(text, all, n, found, LIMIT_MENTIONS_SEEN);
		for (size_t i = 0; i < k; i++) {
			json_t *bot = json_array_get(bots, found[i]);
			if (!chat_has(chat, json_string_value(json_object_get(bot, "id"))))
				json_array_append(absent, json_object_get(bot, "name"));
		}
		free(all);
		json_decref(bots);
	}
	json_decref(chat);
	return absent;
}

int
chats_stop(struct chats *c, const struct who *who, const char *id, struct problem *p)
{
	json_t *chat;
	if (chats_get(c, who, id, &chat, p) != 0)
		return -1;
	json_decref(chat);
	turns_stop(c->turns, id);
	return 0;
}

/*
 * A reply being generated shows with its text so far (or its end, not
 * stored yet), while the store still has it as being written: one heard of
 * from another node may have ended unheard.
 */
static void
overlay_current(struct chats *c, const char *id, json_t *messages)
{
	json_t *current = chats_reply_so_far(c, id), *streaming = json_string("streaming");
	size_t i;
	json_t *m;
	json_array_foreach(messages, i, m)
		if (current && json_equal(json_object_get(m, "seq"), json_object_get(current, "seq")) &&
		    json_equal(json_object_get(m, "state"), streaming))
			json_array_set(messages, i, current);
	json_decref(streaming);
	json_decref(current);
}

/* A page of the chat's messages (after seq, or before it), access checked first. */
static int
messages_page(struct chats *c, const struct who *who, const char *id, bool after,
    uint64_t seq, unsigned n, json_t **messages, struct problem *p)
{
	json_t *chat;
	if (chats_get(c, who, id, &chat, p) != 0)
		return -1;
	json_decref(chat);
	enum store_status st = after ? store_messages_after(c->store, id, seq, n, messages) :
	    store_messages_before(c->store, id, seq, n, messages);
	if (st != STORE_OK)
		return validate_store(c->store, st, "chat", p);
	overlay_current(c, id, *messages);
	return 0;
}

int
chats_messages(struct chats *c, const struct who *who, const char *id, uint64_t after,
    unsigned limit, json_t **messages, struct problem *p)
{
	return messages_page(c, who, id, true, after, limit, messages, p);
}

int
chats_messages_before(struct chats *c, const struct who *who, const char *id, uint64_t before,
    unsigned n, json_t **messages, struct problem *p)
{
	return messages_page(c, who, id, false, before, n, messages, p);
}

int
chats_recent(struct chats *c, const char *id, unsigned n, json_t **messages, struct problem *p)
{
	enum store_status st = store_messages_last(c->store, id, n, messages);
	if (st != STORE_OK)
		return validate_store(c->store, st, "chat", p);
	overlay_current(c, id, *messages);
	return 0;
}

/* The chat, its last n messages and its turn as of one moment (other nodes write meanwhile). */
static int
read_snapshot(struct chats *c, const char *id, unsigned n, json_t **chat, json_t **messages,
    json_t **turn, struct problem *p)
{
	store_view_begin(c->store);
	enum store_status st = chat_read(c, id, chat);
	int rc = st == STORE_OK ? chats_recent(c, id, n, messages, p) :
	    validate_store(c->store, st, "chat", p);
	if (rc == 0)
		*turn = turns_state(c->turns, *chat);
	store_view_end(c->store);
	if (rc != 0 && st == STORE_OK)
		json_decref(*chat);
	return rc;
}

int
chats_snapshot(struct chats *c, const char *id, unsigned n, json_t **snapshot,
    struct problem *p)
{
	json_t *chat, *messages, *turn;
	if (read_snapshot(c, id, n, &chat, &messages, &turn, p) != 0)
		return -1;
	*snapshot = json_pack("{s:s, s:b, s:O, s:O, s:O, s:O, s:O, s:o, s:o, s:O}",
	    "chat_id", id, "ready", 1, "title", json_object_get(chat, "title"),
	    "policy", json_object_get(chat, "policy"), "bots", json_object_get(chat, "bots"),
	    "muted", json_object_get(chat, "muted"),
	    "auto_rounds", json_object_get(chat, "auto_rounds"),
	    "messages", messages, "turn", turn,
	    "last_event_id", json_object_get(chat, "last_event_id"));
	json_decref(chat);
	return 0;
}

enum store_status
chats_events_after(struct chats *c, const char *id, uint64_t after, json_t **events,
    uint64_t *newest)
{
	json_t *chat;
	store_view_begin(c->store);
	enum store_status st = store_chat_get(c->store, id, &chat);
	if (st == STORE_OK) {
		*newest = (uint64_t)json_integer_value(json_object_get(chat, "last_event_id"));
		json_decref(chat);
		st = store_events_after(c->store, id, after, events);
	}
	store_view_end(c->store);
	return st;
}

json_t *
chats_reply_so_far(struct chats *c, const char *id)
{
	json_t *here = turns_current(c->turns, id);
	return here != NULL ? here : events_reply_elsewhere(c->events, id);
}

bool
chats_busy(struct chats *c, const char *id)
{
	return turns_busy(c->turns, id);
}
