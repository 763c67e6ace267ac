/*
 * bots.c - bot validation and changes; see bots.h.
 */
#include "chat/bots.h"
#include "backends/endpoint.h"
#include "chat/card.h"
#include "chat/events.h"
#include "chat/turns.h"
#include "chat/validate.h"
#include "chat/who.h"
#include "limits.h"
#include "store/store.h"
#include "util/problem.h"
#include "util/text.h"
#include "util/workers.h"
#include "util/xmalloc.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CARD_THREADS	1
#define CARDS_QUEUED	8	/* cards waiting to be read: more is 503 */

struct bots {
	struct store	*store;
	struct events	*events;
	struct turns	*turns;
	struct workers	*cards;		/* reads character cards */
	bool		 allow_link_local;	/* bots may reach link-local addresses */
	uint64_t	 version;
};

static const char *const backends[] = { "echo", "eliza", "dice", "openai" };

struct bots *
bots_new(struct event_base *base, struct store *st, struct events *ev, struct turns *turns,
    bool allow_link_local)
{
	struct bots *b = xcalloc(1, sizeof *b);
	b->store = st;
	b->events = ev;
	b->turns = turns;
	b->cards = workers_new(base, CARD_THREADS, CARDS_QUEUED);
	b->allow_link_local = allow_link_local;
	return b;
}

void
bots_free(struct bots *b)
{
	workers_free(b->cards);	/* the imports still queued are answered first */
	free(b);
}

uint64_t
bots_version(const struct bots *b)
{
	return b->version;
}

/* A bot changed here: pages and posts read bots again, here and on the other nodes. */
static void
bots_changed(struct bots *b)
{
	b->version++;
	events_bots_changed(b->events);
}

void
bots_heard_change(struct bots *b)
{
	b->version++;
}

static bool
valid_name(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '-')
			return false;
	return n >= 1 && n <= LIMIT_BOT_NAME_CHARS;
}

/* A variable meant to hold a key: PARLEY_KEY_ and letters, digits or _ (no other may be sent). */
static bool
valid_key_env(const char *s)
{
	static const char prefix[] = "PARLEY_KEY_";
	size_t n = strlen(s);
	if (strncmp(s, prefix, sizeof prefix - 1) != 0 || n == sizeof prefix - 1 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

static bool
is_text(json_t *v, size_t max_bytes)
{
	return json_is_string(v) && json_string_length(v) <= max_bytes &&
	    text_utf8_valid(json_string_value(v), json_string_length(v));
}

static bool
in_range(json_t *v, double lo, double hi)
{
	return json_is_number(v) && json_number_value(v) >= lo && json_number_value(v) <= hi;
}

/* Checks one field of a Bot; the problem names it when it is invalid. */
static int
check_field(const struct bots *b, const char *key, json_t *v, struct problem *p)
{
	bool ok = true;
	char url_why[160];
	const char *why = "";
	if (strcmp(key, "name") == 0)
		ok = json_is_string(v) && valid_name(json_string_value(v)),
		why = "1 to 32 letters, digits, _ or -";
	else if (strcmp(key, "backend") == 0) {
		ok = false;
		for (size_t i = 0; json_is_string(v) && i < 4; i++)
			ok = ok || strcmp(json_string_value(v), backends[i]) == 0;
		why = "one of echo, eliza, dice, openai";
	} else if (strcmp(key, "persona") == 0)
		ok = is_text(v, LIMIT_PERSONA_BYTES), why = "text of at most 8000 bytes";
	else if (strcmp(key, "model") == 0)
		ok = json_is_null(v) || (is_text(v, LIMIT_MODEL_BYTES) && json_string_length(v) > 0),
		why = "null or a model name";
	else if (strcmp(key, "base_url") == 0)
		ok = json_is_null(v) || (json_is_string(v) && endpoint_check_url(json_string_value(v),
		    b->allow_link_local, url_why, sizeof url_why) == 0),
		why = json_is_string(v) ? url_why : "null or an http:// or https:// URL";
	else if (strcmp(key, "api_key_env") == 0)
		ok = json_is_null(v) || (json_is_string(v) && valid_key_env(json_string_value(v))),
		why = "null or the name of a variable starting with PARLEY_KEY_";
	else if (strcmp(key, "temperature") == 0)
		ok = in_range(v, 0, 2), why = "a number from 0 to 2";
	else if (strcmp(key, "max_tokens") == 0)
		ok = json_is_integer(v) && in_range(v, 1, 32768), why = "an integer from 1 to 32768";
	else if (strcmp(key, "talkativeness") == 0)
		ok = in_range(v, 0, 1), why = "a number from 0 to 1";
	else if (strcmp(key, "greeting") == 0)
		ok = is_text(v, LIMIT_MESSAGE_BODY_BYTES), why = "text of at most 16384 bytes";
	if (!ok)
		problem_set(p, 422, "%s: must be %s", key, why);
	return ok ? 0 : -1;
}

static const char *const field_names[] = { "name", "persona", "backend", "model",
    "base_url", "api_key_env", "temperature", "max_tokens", "talkativeness", "greeting" };

/*
 * base with the known fields of patch applied and checked; NULL and p
 * otherwise. A new base_url drops the key variable unless patch names one:
 * a key never follows a bot to another host.
 */
static json_t *
merge(const struct bots *b, json_t *base, json_t *patch, struct problem *p)
{
	json_t *bot = json_deep_copy(base);
	json_t *url = json_object_get(patch, "base_url");
	if (url != NULL && !json_equal(url, json_object_get(base, "base_url")) &&
	    json_object_get(patch, "api_key_env") == NULL)
		json_object_set_new(bot, "api_key_env", json_null());
	for (size_t i = 0; i < sizeof field_names / sizeof *field_names; i++) {
		json_t *v = json_object_get(patch, field_names[i]);
		if (v == NULL)
			continue;
		if (check_field(b, field_names[i], v, p) != 0) {
			json_decref(bot);
			return NULL;
		}
		/* temperature and talkativeness are stored as reals even when given as 1 */
		bool real = json_is_integer(v) && strcmp(field_names[i], "max_tokens") != 0;
		json_object_set_new(bot, field_names[i],
		    real ? json_real((double)json_integer_value(v)) : json_incref(v));
	}
	if (strcmp(json_string_value(json_object_get(bot, "backend")), "openai") == 0 &&
	    json_is_null(json_object_get(bot, "base_url"))) {
		problem_set(p, 422, "base_url: required for the openai backend");
		json_decref(bot);
		return NULL;
	}
	return bot;
}

/*
 * Where an openai bot's words come from is an administrator's to say: the
 * backend, its server, the key variable and the model (a key must not be
 * sent where someone else chose), on any bot: a server and key set on a
 * built-in bot would be used once an administrator made it an openai one.
 */
static int
check_rights(const struct who *who, json_t *old, json_t *fields, struct problem *p)
{
	static const char *const settings[] = { "backend", "base_url", "api_key_env", "model" };
	if (who_admin(who))
		return 0;
	bool openai = strcmp(json_string_value(json_object_get(fields, "backend")) ?
	    json_string_value(json_object_get(fields, "backend")) : "", "openai") == 0 ||
	    (old != NULL && strcmp(json_string_value(json_object_get(old, "backend")),
	    "openai") == 0);
	for (size_t i = 0; i < sizeof settings / sizeof *settings; i++) {
		json_t *v = json_object_get(fields, settings[i]);
		bool server_setting = i > 0 && !json_is_null(v);
		if (v != NULL && (openai || server_setting) &&
		    (old == NULL || !json_equal(v, json_object_get(old, settings[i])))) {
			problem_set(p, 403, "%s: only an administrator may set a model server",
			    settings[i]);
			return -1;
		}
	}
	return 0;
}

/* After a bot changed, each chat it is in publishes its new state. */
static void
touch_chats(struct bots *b, json_t *chat_ids)
{
	size_t i;
	json_t *id, *chat;
	json_array_foreach(chat_ids, i, id)
		if (events_chat_update(b->events, json_string_value(id),
		    &(struct chat_change){ .auto_rounds = -1 }, &chat) == STORE_OK)
			json_decref(chat);
}

int
bots_list(struct bots *b, json_t **bots, struct problem *p)
{
	*bots = store_bot_list(b->store);
	return *bots ? 0 : validate_store(b->store, STORE_ERROR, "bot", p);
}

int
bots_create(struct bots *b, const struct who *who, json_t *fields, json_t **bot,
    struct problem *p)
{
	if (check_rights(who, NULL, fields, p) != 0)
		return -1;
	if (json_object_get(fields, "name") == NULL || json_object_get(fields, "backend") == NULL) {
		problem_set(p, 422, "%s: required", json_object_get(fields, "name") ? "backend" : "name");
		return -1;
	}
	json_t *defaults = json_pack("{s:s, s:s, s:n, s:n, s:n, s:f, s:i, s:f, s:s}",
	    "persona", "", "backend", "echo", "model", "base_url", "api_key_env",
	    "temperature", 0.7, "max_tokens", 512, "talkativeness", 0.5, "greeting", "");
	json_t *complete = merge(b, defaults, fields, p);
	json_decref(defaults);
	if (complete == NULL)
		return -1;
	enum store_status rc = store_bot_create(b->store, complete, bot);
	json_decref(complete);
	bots_changed(b);
	return rc == STORE_OK ? 0 : validate_store(b->store, rc, "bot", p);
}

/* A card being read on the worker thread, and who to tell. */
struct import {
	struct bots		*bots;
	struct who		 who;
	void			*data;
	size_t			 len;
	json_t			*fields;
	json_t			*card;		/* what the worker read, or NULL and problem */
	struct problem		 problem;
	bots_imported_fn	*done;
	void			*arg;
};

/* On the worker: the card's bytes alone. */
static void
import_read(void *arg)
{
	struct import *im = arg;
	im->card = card_read(im->data, im->len, &im->problem);
}

/* Back on the loop: the bot, as bots_create makes it. */
static void
import_done(void *arg)
{
	struct import *im = arg;
	json_t *bot = NULL;
	if (im->card != NULL) {
		json_t *all = im->fields ? json_deep_copy(im->fields) : json_object();
		json_object_update(all, im->card);
		if (json_object_get(all, "backend") == NULL)
			json_object_set_new(all, "backend", json_string("echo"));
		bots_create(im->bots, &im->who, all, &bot, &im->problem);
		json_decref(all);
	}
	im->done(im->arg, bot, &im->problem);
	json_decref(bot);
	json_decref(im->card);
	json_decref(im->fields);
	free(im->data);
	free(im);
}

void
bots_import(struct bots *b, const struct who *who, const void *data, size_t len,
    json_t *fields, bots_imported_fn *done, void *arg)
{
	struct import *im = xcalloc(1, sizeof *im);
	*im = (struct import){ .bots = b, .who = *who, .data = xmalloc(len ? len : 1),
	    .len = len, .fields = fields ? json_deep_copy(fields) : NULL, .done = done,
	    .arg = arg };
	memcpy(im->data, data, len);
	if (workers_submit(b->cards, import_read, import_done, im) != 0) {
		problem_set(&im->problem, 503, "too many cards are being imported; try again soon");
		import_done(im);
	}
}

int
bots_card(struct bots *b, const char *id_or_name, json_t **card, struct problem *p)
{
	json_t *bot;
	if (bots_get(b, id_or_name, &bot, p) != 0)
		return -1;
	*card = card_write(bot);
	json_decref(bot);
	return 0;
}

int
bots_get(struct bots *b, const char *id_or_name, json_t **bot, struct problem *p)
{
	enum store_status rc = store_bot_get(b->store, id_or_name, bot);
	return rc == STORE_OK ? 0 : validate_store(b->store, rc, "bot", p);
}

/* The bot read, the fields merged in and written: STORE_CHANGED when changed meanwhile. */
static enum store_status
update_as_read(struct bots *b, const struct who *who, const char *id, json_t *fields,
    json_t **bot, struct problem *p)
{
	json_t *old;
	if (bots_get(b, id, &old, p) != 0)
		return STORE_ERROR;
	json_t *complete = check_rights(who, old, fields, p) == 0 ? merge(b, old, fields, p) :
	    NULL;
	if (complete == NULL) {
		json_decref(old);
		return STORE_ERROR;
	}
	const char *bot_id = json_string_value(json_object_get(old, "id"));
	enum store_status rc = store_bot_update(b->store, bot_id, old, complete, bot);
	json_decref(complete);
	if (rc != STORE_CHANGED)
		bots_changed(b);
	if (rc == STORE_OK && !json_equal(json_object_get(old, "name"), json_object_get(*bot, "name"))) {
		json_t *chats = store_bot_chats(b->store, bot_id);
		touch_chats(b, chats);
		json_decref(chats);
	}
	json_decref(old);
	if (rc != STORE_OK && rc != STORE_CHANGED)
		validate_store(b->store, rc, "bot", p);
	return rc;
}

/* A change of the bot as it is: made again on what another request changed meanwhile. */
int
bots_update(struct bots *b, const struct who *who, const char *id, json_t *fields,
    json_t **bot, struct problem *p)
{
	for (int tries = 0; tries < LIMIT_CHANGE_TRIES; tries++) {
		enum store_status rc = update_as_read(b, who, id, fields, bot, p);
		if (rc != STORE_CHANGED)
			return rc == STORE_OK ? 0 : -1;
	}
	problem_set(p, 409, "the bot is being changed by others right now; try again");
	return -1;
}

int
bots_delete(struct bots *b, const struct who *who, const char *id, struct problem *p)
{
	json_t *bot;
	if (!who_admin(who)) {
		problem_set(p, 403, "only an administrator may delete a bot");
		return -1;
	}
	if (bots_get(b, id, &bot, p) != 0)
		return -1;
	const char *bot_id = json_string_value(json_object_get(bot, "id"));
	json_t *chats = store_bot_chats(b->store, bot_id);
	enum store_status rc = store_bot_delete(b->store, bot_id);
	bots_changed(b);
	if (rc == STORE_OK) {
		touch_chats(b, chats);
		turns_bots_changed(b->turns, NULL);	/* its replies being written end */
	}
	json_decref(chats);
	json_decref(bot);
	return rc == STORE_OK ? 0 : validate_store(b->store, rc, "bot", p);
}

json_t *
bots_resolve(struct bots *b, json_t *refs, struct problem *p)
{
	if (!json_is_array(refs)) {
		problem_set(p, 422, "bots: must be a list of bot ids or names");
		return NULL;
	}
	json_t *ids = json_array();
	size_t i, k;
	json_t *ref, *seen;
	json_array_foreach(refs, i, ref) {
		json_t *bot;
		if (!json_is_string(ref) || store_bot_get(b->store, json_string_value(ref), &bot) != STORE_OK) {
			problem_set(p, 422, "bots: unknown bot %s", json_is_string(ref) ?
			    json_string_value(ref) : "(not a string)");
			json_decref(ids);
			return NULL;
		}
		json_t *id = json_object_get(bot, "id");
		bool dup = false;
		json_array_foreach(ids, k, seen)
			dup = dup || json_equal(seen, id);
		if (!dup)
			json_array_append(ids, id);
		json_decref(bot);
	}
	return ids;
}
