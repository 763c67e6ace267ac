/*
 * pages.c - chat pages and their form handlers; see pages.h. Every user
 * string goes through html_escape() or a fragment that uses it.
 */
#include "web/pages.h"
#include "api/handlers.h"
#include "chat/bots.h"
#include "chat/chats.h"
#include "http/exchange.h"
#include "http/form.h"
#include "http/respond.h"
#include "limits.h"
#include "util/buf.h"
#include "util/fiber.h"
#include "util/ids.h"
#include "util/problem.h"
#include "util/text.h"
#include "util/xmalloc.h"
#include "web/fragments.h"
#include "web/html.h"
#include "web/layout.h"
#include "web/page_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const policies[] = { "round-robin", "mentions", "natural", "manual" };

static const char *
str(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v ? v : "";
}

static void
policy_select(struct buf *b, const char *current)
{
	buf_adds(b, "<select name=\"policy\" aria-label=\"Who replies\">");
	for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++)
		buf_printf(b, "<option value=\"%s\"%s>%s</option>", policies[i],
		    strcmp(current, policies[i]) == 0 ? " selected" : "", policy_label(policies[i]));
	buf_adds(b, "</select>");
}

/* Checkboxes for every bot, checked when chat (may be NULL) has it. */
static void
bot_choices(struct buf *b, json_t *bots, json_t *chat)
{
	size_t i, k;
	json_t *bot, *have;
	if (json_array_size(bots) == 0) {
		buf_adds(b, "<p class=\"hint\">No bots yet: <a href=\"/bots\">create one</a>.</p>");
		return;
	}
	buf_adds(b, "<fieldset class=\"bot-choices\"><legend>Bots</legend>");
	json_array_foreach(bots, i, bot) {
		bool checked = false;
		json_array_foreach(json_object_get(chat, "bots"), k, have)
			checked = checked || strcmp(str(have, "id"), str(bot, "id")) == 0;
		buf_adds(b, "<label><input type=\"checkbox\" name=\"bots\" value=\"");
		html_escape(b, str(bot, "id"));
		buf_printf(b, "\"%s> ", checked ? " checked" : "");
		html_escape(b, str(bot, "name"));
		buf_adds(b, " <small>");
		html_escape(b, str(bot, "backend"));
		buf_adds(b, "</small></label>");
	}
	buf_adds(b, "</fieldset>");
}

/*
 * The chats of this page of the list, by last activity, live: the first
 * page follows the chat lists' events (tabs.js connects it), each item
 * replaced and moved to the top as its chat moves.
 */
static void
chat_list(struct buf *b, json_t *items, unsigned offset)
{
	size_t i;
	json_t *item;
	buf_printf(b, "<ul id=\"chats\" class=\"chat-list\"%s>", offset == 0 ?
	    " hx-ext=\"sse\" data-list-stream sse-swap=\"chat,gone,read,all\" hx-swap=\"none\"" : "");
	json_array_foreach(items, i, item)
		fragment_chat_item(b, item);
	buf_adds(b, "</ul><p class=\"empty\" id=\"no-chats\"");
	buf_adds(b, json_array_size(items) == 0 ? ">" : " hidden>");
	buf_adds(b, "No chats yet: start one below.</p>");
	if (json_array_size(items) == LIMIT_INDEX_CHATS)
		buf_printf(b, "<p class=\"more\"><a href=\"/?offset=%u\">Older chats</a></p>",
		    offset + LIMIT_INDEX_CHATS);
}

static unsigned
offset_of(struct exchange *x)
{
	uint64_t v = 0;
	return exchange_query_u64(x, "offset", &v) == 1 && v <= 100000 ? (unsigned)v : 0;
}

static void
render_index(struct exchange *x, struct handlers *h, int status, const char *error)
{
	struct problem p;
	json_t *items = NULL, *bots = NULL;
	unsigned offset = offset_of(x);
	if (chats_activity(h->chats, exchange_who(x), offset, LIMIT_INDEX_CHATS, &items, &p) != 0 ||
	    bots_list(h->bots, &bots, &p) != 0) {
		json_decref(items);
		page_problem(x, &p);
		return;
	}
	struct buf b = BUF_INIT;
	page_begin(&b, exchange_who(x), "Chats", "chats");
	buf_adds(&b, "<section class=\"card\"><h1>Chats</h1>");
	chat_list(&b, items, offset);
	buf_adds(&b, "</section><section class=\"card\"><h2>Start a chat</h2>"
	    "<form id=\"new-chat\" class=\"new-chat\" method=\"post\" action=\"/chats\">"
	    "<div class=\"row\"><input name=\"title\" placeholder=\"What is it about?\" required"
	    " maxlength=\"200\" aria-label=\"Title\">");
	policy_select(&b, "round-robin");
	buf_adds(&b, "<button type=\"submit\">Create</button></div>");
	bot_choices(&b, bots, NULL);
	buf_adds(&b, "</form>");
	page_error(&b, error);
	buf_adds(&b, "</section>");
	page_end(&b);
	respond_html(x, status, &b);
	buf_free(&b);
	json_decref(items);
	json_decref(bots);
}

void
page_index(struct exchange *x, void *ctx)
{
	render_index(x, ctx, 200, NULL);
}

/* A "muted" box for each bot of the chat: it stays, but no policy picks it. */
static void
mute_choices(struct buf *b, json_t *chat)
{
	size_t i, k;
	json_t *bot, *id;
	if (json_array_size(json_object_get(chat, "bots")) == 0)
		return;
	buf_adds(b, "<fieldset class=\"bot-choices mute-choices\"><legend>Muted <small>(they"
	    " speak only when asked)</small></legend><input type=\"hidden\" name=\"muted_given\""
	    " value=\"1\">");
	json_array_foreach(json_object_get(chat, "bots"), i, bot) {
		bool muted = false;
		json_array_foreach(json_object_get(chat, "muted"), k, id)
			muted = muted || strcmp(json_string_value(id), str(bot, "id")) == 0;
		buf_adds(b, "<label><input type=\"checkbox\" name=\"muted\" value=\"");
		html_escape(b, str(bot, "id"));
		buf_printf(b, "\"%s> ", muted ? " checked" : "");
		html_escape(b, str(bot, "name"));
		buf_adds(b, "</label>");
	}
	buf_adds(b, "</fieldset>");
}

static void
chat_settings(struct buf *b, json_t *chat, json_t *bots)
{
	const char *id = str(chat, "id");
	buf_printf(b, "<details class=\"chat-settings\"><summary>Settings</summary>"
	    "<div class=\"settings-body\"><form method=\"post\" action=\"/chats/%s/settings\" hx-post=\"/chats/%s/settings\""
	    " hx-target=\"#settings-error\"><div class=\"row\">"
	    "<input name=\"title\" required maxlength=\"200\" aria-label=\"Title\" value=\"",
	    id, id);
	html_escape(b, str(chat, "title"));
	buf_adds(b, "\">");
	policy_select(b, str(chat, "policy"));
	buf_adds(b, "<button type=\"submit\">Save</button></div>"
	    "<input type=\"hidden\" name=\"bots_given\" value=\"1\">");
	bot_choices(b, bots, chat);
	mute_choices(b, chat);
	buf_printf(b, "<label class=\"auto-rounds\">Auto rounds <input type=\"number\""
	    " name=\"auto_rounds\" min=\"0\" max=\"%d\" value=\"%lld\"> <small>after the bots"
	    " answer someone, up to this many more replies as they answer each other"
	    "</small></label>", LIMIT_AUTO_ROUNDS,
	    (long long)json_integer_value(json_object_get(chat, "auto_rounds")));
	buf_adds(b, "<div id=\"settings-error\" class=\"form-error\" role=\"alert\"></div>"
	    "</form>");
	buf_printf(b, "<form method=\"post\" action=\"/chats/%s/delete\" class=\"row delete-chat\">"
	    "<label class=\"check\"><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required>"
	    " Delete this chat and all its messages, for everyone</label>"
	    "<button type=\"submit\" class=\"danger\">Delete chat</button></form></div></details>",
	    id);
}

/* The composer; people with accounts post as themselves, anyone else names themselves. */
static void
composer(struct buf *b, const char *id, bool names_itself)
{
	buf_printf(b, "<form id=\"composer\" class=\"composer%s\" method=\"post\""
	    " action=\"/chats/%s/messages\" hx-post=\"/chats/%s/messages\""
	    " hx-target=\"#composer-error\" hx-swap=\"innerHTML\" data-chat=\"%s\">",
	    names_itself ? " composer-named" : "", id, id, id);
	if (names_itself)
		buf_printf(b, "<input name=\"author\" placeholder=\"Your name\" required"
		    " maxlength=\"%d\" autocomplete=\"nickname\" aria-label=\"Your name\">",
		    LIMIT_AUTHOR_CHARS);
	buf_printf(b, "<textarea name=\"body\" placeholder=\"Write a message… (@name calls a bot)\""
	    " required rows=\"2\" maxlength=\"%d\" aria-label=\"Message\"></textarea>"
	    "<button type=\"submit\">Send</button>"
	    "<div id=\"composer-error\" class=\"form-error\" role=\"alert\"></div></form>",
	    LIMIT_MESSAGE_BODY_BYTES);
}

/*
 * The "Earlier messages" button above the first message shown (seq before):
 * it fetches the ones before (page_chat_earlier) into its own place.
 */
static void
earlier_button(struct buf *b, const char *chat_id, json_int_t before)
{
	buf_adds(b, "<button type=\"button\" class=\"earlier secondary small\" hx-get=\"/chats/");
	html_escape(b, chat_id);
	buf_printf(b, "/messages?before=%lld\" hx-swap=\"outerHTML\">Earlier messages</button>",
	    (long long)before);
}

/* What every reader of the chat sees alike (cached): all of the page but its head and top bar. */
static void
chat_body(struct buf *b, json_t *chat, json_t *messages, json_t *turn, json_t *bots,
    bool accounts)
{
	const char *id = str(chat, "id");
	long long last = (long long)json_integer_value(json_object_get(chat, "last_event_id"));

	buf_printf(b, "<div id=\"chat\" class=\"chat\" data-chat=\"%s\" hx-ext=\"sse\""
	    " sse-connect=\"/chats/%s/events?after=%lld\" sse-close=\"deleted\">", id, id, last);
	/* the title and bots (swapped by "chat" events), then who is here */
	buf_adds(b, "<header class=\"chat-header\"><div id=\"chat-header\" sse-swap=\"chat\">");
	fragment_chat_header(b, chat);
	buf_adds(b, "</div><div id=\"presence\" class=\"presence\" sse-swap=\"presence\""
	    " aria-label=\"Who is here\"></div></header><div class=\"chat-tools\">");
	chat_settings(b, chat, bots);
	if (accounts)
		buf_printf(b, "<a class=\"members-link\" href=\"/chats/%s/members\">Members</a>", id);
	buf_adds(b, "<button type=\"button\" id=\"notify\" class=\"secondary small\" hidden>"
	    "Notify me</button></div>");
	buf_adds(b, "<div id=\"chat-notice\" sse-swap=\"deleted\"></div>"
	    "<div id=\"chat-error\" class=\"form-error\" role=\"alert\"></div>"
	    "<div id=\"messages\" class=\"messages\""
	    " sse-swap=\"message,message-update,message-deleted\""
	    " hx-swap=\"beforeend\" aria-live=\"polite\">");
	/* one more than shown was read: whether there are earlier ones */
	size_t n = json_array_size(messages), from = n > LIMIT_PAGE_MESSAGES;
	if (from)
		earlier_button(b, id, json_integer_value(json_object_get(json_array_get(messages, 1),
		    "seq")));
	for (size_t i = from; i < n; i++)
		fragment_message(b, json_array_get(messages, i));
	buf_printf(b, "</div><div class=\"turn-bar\"><div id=\"turn-status\" class=\"turn-status\""
	    " sse-swap=\"turn\">");
	fragment_turn(b, turn);
	buf_printf(b, "</div><div id=\"typing\" class=\"typing\" sse-swap=\"typing\""
	    " hx-swap=\"none\" aria-live=\"polite\"></div><form class=\"stop\" method=\"post\" action=\"/chats/%s/stop\""
	    " hx-post=\"/chats/%s/stop\" hx-swap=\"none\"><button type=\"submit\""
	    " class=\"secondary\" title=\"Stop the reply being written\">Stop</button></form></div>",
	    id, id);
	composer(b, id, !accounts);
	buf_adds(b, "</div>");
}

void
page_chat_earlier(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	const char *id = exchange_param(x, 0);
	struct problem p;
	uint64_t before;
	json_t *messages;
	if (exchange_query_u64(x, "before", &before) != 1 || before == 0) {
		problem_set(&p, 400, "before: the seq of the first message shown, a positive integer");
		page_problem(x, &p);
		return;
	}
	if (chats_messages_before(h->chats, exchange_who(x), id, before, LIMIT_PAGE_EARLIER + 1,
	    &messages, &p) != 0) {
		page_problem(x, &p);
		return;
	}
	/* one more than shown was read: whether there are earlier ones still */
	size_t n = json_array_size(messages), from = n > LIMIT_PAGE_EARLIER;
	struct buf b = BUF_INIT;
	if (from)
		earlier_button(&b, id, json_integer_value(json_object_get(json_array_get(messages, 1),
		    "seq")));
	for (size_t i = from; i < n; i++)
		fragment_message(&b, json_array_get(messages, i));
	respond_html(x, 200, &b);
	buf_free(&b);
	json_decref(messages);
}

/* Renders the chat's shared middle into mid, from its snapshot; its last event id in *event_id. */
static int
render_chat(struct handlers *h, const char *id, struct buf *mid, uint64_t *event_id,
    struct problem *p)
{
	json_t *snap, *bots;
	/* the snapshot is the state the page renders: messages with any reply so far */
	if (chats_snapshot(h->chats, id, LIMIT_PAGE_MESSAGES + 1, &snap, p) != 0)
		return -1;
	if (bots_list(h->bots, &bots, p) != 0) {
		json_decref(snap);
		return -1;
	}
	json_t *chat = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O, s:O}", "id", id,
	    "title", json_object_get(snap, "title"), "policy", json_object_get(snap, "policy"),
	    "bots", json_object_get(snap, "bots"), "muted", json_object_get(snap, "muted"),
	    "auto_rounds", json_object_get(snap, "auto_rounds"),
	    "last_event_id", json_object_get(snap, "last_event_id"));
	*event_id = (uint64_t)json_integer_value(json_object_get(snap, "last_event_id"));
	chat_body(mid, chat, json_object_get(snap, "messages"), json_object_get(snap, "turn"), bots,
	    h->cfg->auth != AUTH_NONE);
	json_decref(chat);
	json_decref(bots);
	json_decref(snap);
	return 0;
}

void
page_chat(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	char id[ID_LEN + 1];
	struct problem p;
	json_t *chat;
	snprintf(id, sizeof id, "%s", exchange_param(x, 0));
	if (chats_get(h->chats, exchange_who(x), id, &chat, &p) != 0) {
		page_problem(x, &p);
		return;
	}
	uint64_t event_id = (uint64_t)json_integer_value(json_object_get(chat, "last_event_id"));
	struct buf head = BUF_INIT, mid = BUF_INIT, tail = BUF_INIT;
	page_begin(&head, exchange_who(x), str(chat, "title"), "chats");
	page_end(&tail);
	json_decref(chat);
	/* a page showing a reply being written is rendered afresh every time */
	bool cacheable = !chats_busy(h->chats, id);
	uint64_t version = bots_version(h->bots);
	if (!(cacheable && page_cache_respond(h->pages, x, id, event_id, version, &head, &tail))) {
		if (render_chat(h, id, &mid, &event_id, &p) != 0)
			page_problem(x, &p);
		else {
			buf_add(&head, mid.data, mid.len);
			buf_add(&head, tail.data, tail.len);
			respond_html(x, 200, &head);
			if (cacheable)
				page_cache_put(h->pages, id, event_id, version, &mid);
		}
	}
	buf_free(&head);
	buf_free(&mid);
	buf_free(&tail);
}

/* Answers a form that changed a chat: to the chat's page. */
static void
to_chat(struct exchange *x, const char *chat_id)
{
	char location[96];
	snprintf(location, sizeof location, "/chats/%s", chat_id);
	page_redirect(x, location);
}

void
form_chat_create(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	struct form f;
	json_t *chat;
	if (page_form(x, &f) != 0)
		return;
	struct chat_fields in = { .title = form_string(&f, "title"),
	    .policy = form_string(&f, "policy"), .bots = form_strings(&f, "bots") };
	form_free(&f);
	if (chats_create(h->chats, exchange_who(x), &in, &chat, &p) == 0) {
		to_chat(x, str(chat, "id"));
		json_decref(chat);
	} else
		render_index(x, h, p.status, p.detail);
	json_decref(in.title);
	json_decref(in.policy);
	json_decref(in.bots);
}

/* A bot taken out of the chat in the same form is not muted in it: its box is dropped. */
static void
keep_muted_in(json_t *muted, json_t *bots)
{
	for (size_t i = json_array_size(muted); bots != NULL && i-- > 0;) {
		bool kept = false;
		size_t k;
		json_t *id;
		json_array_foreach(bots, k, id)
			kept = kept || json_equal(id, json_array_get(muted, i));
		if (!kept)
			json_array_remove(muted, i);
	}
}

void
form_chat_settings(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	struct form f;
	json_t *chat;
	if (page_form(x, &f) != 0)
		return;
	/* unchecking every box sends no "bots" at all: the hidden field says the list was shown */
	bool bots_given = form_get(&f, "bots_given") != NULL;
	struct chat_fields in = { .title = form_string(&f, "title"),
	    .policy = form_string(&f, "policy"),
	    .bots = bots_given ? form_strings(&f, "bots") : NULL,
	    .muted = form_get(&f, "muted_given") ? form_strings(&f, "muted") : NULL,
	    .auto_rounds = form_integer(&f, "auto_rounds") };
	form_free(&f);
	keep_muted_in(in.muted, in.bots);
	if (chats_update(h->chats, exchange_who(x), exchange_param(x, 0), &in, &chat, &p) == 0) {
		to_chat(x, exchange_param(x, 0));
		json_decref(chat);
	} else
		page_problem(x, &p);
	json_decref(in.title);
	json_decref(in.policy);
	json_decref(in.bots);
	json_decref(in.muted);
	json_decref(in.auto_rounds);
}

/* What a post answers: the problem, said as to a person, not a program. */
static void
message_refused(struct exchange *x, const struct problem *p)
{
	struct problem said = *p;
	if (p->status == 413)
		problem_set(&said, 413, "That message is too long: a message may hold %d KiB of text.",
		    LIMIT_MESSAGE_BODY_BYTES / 1024);
	else if (p->status == 422 && strncmp(p->detail, "body:", 5) == 0)
		problem_set(&said, 422, "Write something first: the message is empty.");
	else if (p->status == 422 && strncmp(p->detail, "author:", 7) == 0)
		problem_set(&said, 422, "Say who you are: the name field is empty or too long.");
	page_problem(x, &said);
}

/* The hint after a post: @mentioned bots that are not in the chat (they were not called). */
static void
absent_hint(struct buf *b, json_t *absent, const char *chat_id)
{
	size_t i;
	json_t *name;
	if (json_array_size(absent) == 0)
		return;
	buf_adds(b, "<p class=\"hint\">");
	json_array_foreach(absent, i, name) {
		buf_adds(b, i == 0 ? "" : ", ");
		html_escape(b, json_string_value(name));
	}
	buf_printf(b, " %s not in this chat, so %s not called. Add %s under"
	    " <a href=\"/chats/%s\">Settings</a>.</p>", json_array_size(absent) == 1 ? "is" : "are",
	    json_array_size(absent) == 1 ? "it was" : "they were",
	    json_array_size(absent) == 1 ? "it" : "them", chat_id);
}

struct posting {
	struct exchange	*x;
	struct handlers	*h;
	json_t		*message;	/* posted (htmx: for the hint) */
};

/*
 * In the services' turn (it reads the chat and the bots): the message
 * reaches this tab through its stream; the answer clears any error and says
 * which bots it named are not in the chat.
 */
static void
hint_posted(void *arg)
{
	struct posting *w = arg;
	struct buf b = BUF_INIT;
	const char *chat = str(w->message, "chat_id");
	json_t *absent = chats_absent_mentions(w->h->chats, chat, str(w->message, "body"));
	absent_hint(&b, absent, chat);
	respond_html(w->x, 200, &b);
	buf_free(&b);
	json_decref(absent);
	json_decref(w->message);
	free(w);
}

static void
form_message_posted(void *arg, json_t *message, const struct problem *p)
{
	struct posting *w = arg;
	struct exchange *x = w->x;
	if (message != NULL && exchange_is_htmx(x)) {
		w->message = json_incref(message);
		fiber_run_serial(hint_posted, w);
		return;
	}
	if (message == NULL)
		message_refused(x, p);
	else
		to_chat(x, str(message, "chat_id"));
	free(w);
}

void
form_message_post(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	struct form f;
	if (page_form(x, &f) != 0)
		return;
	json_t *author = form_string(&f, "author"), *body = form_string(&f, "body");
	form_free(&f);
	struct posting *w = xmalloc(sizeof *w);
	*w = (struct posting){ x, h, NULL };
	if (chats_post(h->chats, exchange_who(x), exchange_param(x, 0), author, body,
	    form_message_posted, w, &p) != 0) {
		free(w);
		message_refused(x, &p);
	}
	json_decref(author);
	json_decref(body);
}

void
form_chat_delete(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	if (!page_confirmed(x, "the chat should be deleted"))
		return;
	if (chats_delete(h->chats, exchange_who(x), exchange_param(x, 0), &p) != 0)
		page_problem(x, &p);
	else
		page_redirect(x, "/");
}

void
form_chat_read(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	struct form f;
	if (page_form(x, &f) != 0)
		return;
	uint64_t v = 0;
	const char *given = form_get(&f, "seq");
	json_t *seq = given && text_parse_u64(given, &v) == 0 ? json_integer((json_int_t)v) : NULL;
	form_free(&f);
	if (chats_mark_read(h->chats, exchange_who(x), exchange_param(x, 0), seq, &p) != 0)
		page_problem(x, &p);
	else
		respond_empty(x, 204);
	json_decref(seq);
}

void
form_chat_turn(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	struct form f;
	if (page_form(x, &f) != 0)
		return;
	json_t *bot = form_string(&f, "bot");
	form_free(&f);
	if (chats_turn(h->chats, exchange_who(x), exchange_param(x, 0), bot, &p) != 0)
		page_problem(x, &p);
	else if (exchange_is_htmx(x))
		respond_empty(x, 204);
	else
		to_chat(x, exchange_param(x, 0));
	json_decref(bot);
}

void
form_chat_stop(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	if (chats_stop(h->chats, exchange_who(x), exchange_param(x, 0), &p) != 0)
		page_problem(x, &p);
	else if (exchange_is_htmx(x))
		respond_empty(x, 204);
	else
		to_chat(x, exchange_param(x, 0));
}
