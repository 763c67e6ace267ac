/*
 * bot_pages.c - the bots page and its forms; see bot_pages.h. Form values
 * are turned into a Bot's JSON types here (numbers, null for empty optional
 * fields) and validated by bots.c like the API's.
 */
#include "web/bot_pages.h"
#include "api/handlers.h"
#include "chat/bots.h"
#include "chat/who.h"
#include "http/exchange.h"
#include "http/form.h"
#include "http/respond.h"
#include "util/buf.h"
#include "util/problem.h"
#include "web/html.h"
#include "web/layout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const backends[] = { "echo", "eliza", "dice", "openai" };

static const char *
str(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v ? v : "";
}

static void
text_input(struct buf *b, const char *label, const char *name, const char *value,
    const char *extra)
{
	buf_printf(b, "<label>%s<input name=\"%s\" value=\"", label, name);
	html_escape(b, value);
	buf_printf(b, "\" %s></label>", extra);
}

/* A number field's text: the number, the text sent (a form refused), or the default. */
static void
number_text(char *out, size_t n, json_t *v, const char *fallback)
{
	if (json_is_integer(v))
		snprintf(out, n, "%lld", (long long)json_integer_value(v));
	else if (json_is_number(v))
		snprintf(out, n, "%g", json_number_value(v));
	else
		snprintf(out, n, "%s", json_is_string(v) ? json_string_value(v) : fallback);
}

/* The fields of a bot form, filled from bot (NULL for a new bot; or what a refused form sent). */
static void
bot_fields(struct buf *b, json_t *bot)
{
	char num[3][32];
	number_text(num[0], sizeof num[0], json_object_get(bot, "temperature"), "0.7");
	number_text(num[1], sizeof num[1], json_object_get(bot, "max_tokens"), "512");
	number_text(num[2], sizeof num[2], json_object_get(bot, "talkativeness"), "0.5");

	buf_adds(b, "<div class=\"grid\">");
	text_input(b, "Name", "name", str(bot, "name"), "required maxlength=\"32\""
	    " pattern=\"[A-Za-z0-9_\\-]{1,32}\" title=\"Letters, digits, _ and - only\"");
	buf_adds(b, "<label>Backend<select name=\"backend\">");
	for (size_t i = 0; i < 4; i++)
		buf_printf(b, "<option%s>%s</option>", strcmp(str(bot, "backend"), backends[i]) == 0 ?
		    " selected" : "", backends[i]);
	buf_adds(b, "</select></label>");
	text_input(b, "Model", "model", str(bot, "model"), "placeholder=\"for openai\"");
	text_input(b, "Base URL", "base_url", str(bot, "base_url"),
	    "placeholder=\"http://127.0.0.1:8000/v1\"");
	text_input(b, "API key variable", "api_key_env", str(bot, "api_key_env"),
	    "placeholder=\"PARLEY_KEY_OPENAI\"");
	text_input(b, "Temperature", "temperature", num[0], "inputmode=\"decimal\"");
	text_input(b, "Max tokens", "max_tokens", num[1], "inputmode=\"numeric\"");
	text_input(b, "Talkativeness", "talkativeness", num[2], "inputmode=\"decimal\"");
	buf_adds(b, "</div><label>Persona<textarea name=\"persona\" rows=\"3\">");
	html_escape(b, str(bot, "persona"));
	buf_adds(b, "</textarea></label><label>Greeting <small>(its first message when it joins"
	    " a chat; may be empty)</small><textarea name=\"greeting\" rows=\"2\">");
	html_escape(b, str(bot, "greeting"));
	buf_adds(b, "</textarea></label>");
}

/* The bot names a key variable that the server's environment does not have. */
static bool
key_missing(json_t *bot)
{
	const char *var = str(bot, "api_key_env");
	return *var != '\0' && getenv(var) == NULL;
}

/* What a missing key variable means, in the bot's card. */
static void
key_warning(struct buf *b, json_t *bot)
{
	const char *var = str(bot, "api_key_env");
	if (!key_missing(bot))
		return;
	buf_adds(b, "<p class=\"warning\">");
	html_escape(b, var);
	buf_adds(b, " is not set in the server's environment: the model server gets no key.</p>");
}

/*
 * A bot and its forms; after a refused edit, open, showing what was sent
 * (edited) and why it was refused.
 */
static void
bot_card(struct buf *b, json_t *bot, json_t *edited, const char *error, bool admin)
{
	const char *id = str(bot, "id");
	buf_printf(b, "<li class=\"bot\" id=\"bot-%s\"><details%s><summary><strong>", id,
	    edited ? " open" : "");
	html_escape(b, str(bot, "name"));
	buf_adds(b, "</strong> <small>");
	html_escape(b, str(bot, "backend"));
	buf_adds(b, "</small> <span class=\"persona\">");
	html_escape(b, str(bot, "persona"));
	buf_adds(b, "</span>");
	if (key_missing(bot))	/* seen without opening the card */
		buf_adds(b, " <span class=\"warning\">key not set</span>");
	buf_adds(b, "</summary>");
	key_warning(b, bot);
	buf_printf(b, "<form method=\"post\" action=\"/bots/%s\">", id);
	bot_fields(b, edited ? edited : bot);
	buf_printf(b, "<div class=\"row\"><button type=\"submit\">Save</button>"
	    "<a class=\"export\" href=\"/api/v1/bots/%s/card\" download>Export card</a></div>"
	    "</form>", id);
	page_error(b, edited ? error : NULL);
	if (admin)
		buf_printf(b, "<form method=\"post\" action=\"/bots/%s/delete\" class=\"delete row\">"
		    "<label class=\"check\"><input type=\"checkbox\" name=\"confirm\" value=\"yes\""
		    " required> Delete it, and take it out of every chat it is in</label>"
		    "<button type=\"submit\" class=\"danger\">Delete</button></form>", id);
	buf_adds(b, "</details></li>");
}

/* The new-bot form, holding sent and showing error after a refused create. */
static void
new_bot_card(struct buf *b, const struct who *who, const char *error, json_t *sent)
{
	buf_adds(b, "<section class=\"card\"><h1>New bot</h1>"
	    "<form id=\"new-bot\" method=\"post\" action=\"/bots\">");
	bot_fields(b, sent);
	buf_adds(b, "<div class=\"row\"><button type=\"submit\">Create</button></div></form>");
	if (!who_admin(who))
		buf_adds(b, "<p class=\"hint\">Only an administrator may point a bot at a model"
		    " server (the openai backend) or delete a bot.</p>");
	page_error(b, error);
	buf_adds(b, "</section>");
}

/* A character card (SillyTavern V2, PNG or JSON) becomes a bot; app.js sends the file. */
static void
import_card(struct buf *b)
{
	buf_adds(b, "<section class=\"card\"><h2>Import a character card</h2>"
	    "<form id=\"import-card\" class=\"row\" data-upload=\"/api/v1/bots/import\">"
	    "<input type=\"file\" name=\"card\" required accept=\".png,.json,image/png,"
	    "application/json\" aria-label=\"Character card file\">"
	    "<button type=\"submit\">Import</button></form>"
	    "<p class=\"hint\">A SillyTavern card (V2, PNG or JSON): its name, description and"
	    " greeting become a new bot that answers with echo until you give it a model.</p>"
	    "<div id=\"import-error\" class=\"form-error\" role=\"alert\"></div></section>");
}

/*
 * The bots page; after a refused form, its error, and what was sent shown
 * again in that form: the new bot's (edited_id NULL) or that bot's.
 */
static void
render_bots(struct exchange *x, struct handlers *h, int status, const char *error,
    const char *edited_id, json_t *sent)
{
	struct problem p;
	json_t *bots;
	if (bots_list(h->bots, &bots, &p) != 0) {
		page_problem(x, &p);
		return;
	}
	struct buf b = BUF_INIT;
	size_t i;
	json_t *bot;
	bool refused_new = error != NULL && edited_id == NULL;
	page_begin(&b, exchange_who(x), "Bots", "bots");
	/* the list first, unless a refused new bot needs its form in view */
	if (refused_new)
		new_bot_card(&b, exchange_who(x), error, sent);
	buf_adds(&b, "<section class=\"card\"><h1>Bots</h1>");
	if (json_array_size(bots) == 0)
		buf_adds(&b, "<p class=\"empty\">No bots yet.</p>");
	buf_adds(&b, "<ul id=\"bots\" class=\"bot-list\">");
	json_array_foreach(bots, i, bot) {
		/* the route names a bot by id or by name (as the API does) */
		bool edited = edited_id != NULL && (strcmp(str(bot, "id"), edited_id) == 0 ||
		    strcasecmp(str(bot, "name"), edited_id) == 0);
		bot_card(&b, bot, edited ? sent : NULL, error, who_admin(exchange_who(x)));
	}
	buf_adds(&b, "</ul></section>");
	if (!refused_new)
		new_bot_card(&b, exchange_who(x), NULL, NULL);
	import_card(&b);
	page_end(&b);
	respond_html(x, status, &b);
	buf_free(&b);
	json_decref(bots);
}

void
page_bots(struct exchange *x, void *ctx)
{
	render_bots(x, ctx, 200, NULL, NULL, NULL);
}

/* A number field as a JSON number when it reads as one, else the text (refused later). */
static json_t *
number_field(const char *v)
{
	char *end;
	double d = strtod(v, &end);
	if (*v == '\0' || *end != '\0' || !isfinite(d) || strpbrk(v, "xX") != NULL)
		return json_string(v);
	if (strchr(v, '.') == NULL && strchr(v, 'e') == NULL && d >= -1e15 && d <= 1e15)
		return json_integer((json_int_t)d);
	return json_real(d);
}

/* The form's fields as a Bot's JSON; NULL and p when the form is unreadable. */
static json_t *
bot_from_form(struct exchange *x, struct problem *p)
{
	static const char *const texts[] = { "name", "backend", "persona", "greeting" };
	static const char *const optional[] = { "model", "base_url", "api_key_env", NULL };
	static const char *const numbers[] = { "temperature", "max_tokens", "talkativeness", NULL };
	struct form f;
	if (exchange_form(x, &f, p) != 0)
		return NULL;
	json_t *bot = json_object();
	for (size_t i = 0; i < 4; i++) {
		const char *v = form_get(&f, texts[i]);
		if (v != NULL)
			json_object_set_new(bot, texts[i], json_string(v));
		v = optional[i] ? form_get(&f, optional[i]) : NULL;
		if (v != NULL)
			json_object_set_new(bot, optional[i], *v ? json_string(v) : json_null());
		v = numbers[i] ? form_get(&f, numbers[i]) : NULL;
		if (v != NULL)
			json_object_set_new(bot, numbers[i], number_field(v));
	}
	form_free(&f);
	return bot;
}

void
form_bot_create(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *bot, *fields = bot_from_form(x, &p);
	if (fields == NULL)
		page_problem(x, &p);
	else if (bots_create(h->bots, exchange_who(x), fields, &bot, &p) != 0)
		render_bots(x, h, p.status, p.detail, NULL, fields);
	else {
		page_redirect(x, "/bots");
		json_decref(bot);
	}
	json_decref(fields);
}

void
form_bot_update(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *bot, *fields = bot_from_form(x, &p);
	if (fields == NULL)
		page_problem(x, &p);
	else if (bots_update(h->bots, exchange_who(x), exchange_param(x, 0), fields, &bot, &p) != 0) {
		if (p.status == 404)
			page_problem(x, &p);
		else
			render_bots(x, h, p.status, p.detail, exchange_param(x, 0), fields);
	} else {
		page_redirect(x, "/bots");
		json_decref(bot);
	}
	json_decref(fields);
}

void
form_bot_delete(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	if (!page_confirmed(x, "the bot should be deleted"))
		return;
	if (bots_delete(h->bots, exchange_who(x), exchange_param(x, 0), &p) != 0)
		page_problem(x, &p);
	else
		page_redirect(x, "/bots");
}
