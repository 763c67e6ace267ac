/*
 * account_pages.c - signing in and out, the first administrator's setup,
 * one's own account (display name, password, API tokens) and the
 * administrators' user list; see account_pages.h. Forms go through
 * accounts.h like the API. A page that shows a secret (a new token) is
 * never stored by the browser; the setup link's token is moved into a
 * cookie at once, so that it leaves the address bar and the history.
 */
#include "web/account_pages.h"
#include "api/access.h"
#include "api/handlers.h"
#include "chat/accounts.h"
#include "chat/who.h"
#include "http/exchange.h"
#include "http/form.h"
#include "http/respond.h"
#include "limits.h"
#include "util/buf.h"
#include "util/problem.h"
#include "util/secret.h"
#include "util/xmalloc.h"
#include "web/html.h"
#include "web/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETUP_COOKIE	"parley_setup"
#define SETUP_SECONDS	3600

/* A form whose answer comes later (a password is being hashed). */
struct pending {
	struct exchange		*x;
	struct handlers		*h;
	char			 next[512];	/* where to go once done */
	char			 name[LIMIT_USER_NAME_CHARS + 1];	/* signing in: as typed (if it fits), to show again */
};

static struct pending *
pending_new(struct exchange *x, struct handlers *h, const char *next)
{
	struct pending *w = xcalloc(1, sizeof *w);
	w->x = x;
	w->h = h;
	snprintf(w->next, sizeof w->next, "%s", next ? next : "/");
	return w;
}

static const char *
str(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v ? v : "";
}

/*
 * A place on this server to go back to: a path, never another site
 * ("//host", "/\host", or those with a tab or newline a browser drops).
 */
static const char *
safe_next(const char *next)
{
	if (next == NULL || next[0] != '/' || next[1] == '/' || strlen(next) >= 500)
		return "/";
	for (const unsigned char *c = (const unsigned char *)next; *c; c++)
		if (*c < 0x20 || *c == 0x7f || *c == '\\')
			return "/";
	return next;
}

static void
message(struct buf *b, const char *cls, const char *text)
{
	if (text == NULL)
		return;
	buf_printf(b, "<p class=\"%s\" role=\"alert\">", cls);
	html_said(b, text);
	buf_adds(b, "</p>");
}

/* ---------- signing in ---------- */

static void
render_login(struct exchange *x, struct handlers *h, int status, const char *next,
    const char *name, const struct problem *p)
{
	struct buf b = BUF_INIT;
	page_begin(&b, exchange_who(x), "Sign in", "");
	buf_adds(&b, "<section class=\"card narrow\"><h1>Sign in</h1>");
	if (h->cfg->auth == AUTH_PROXY) {
		buf_adds(&b, "<p>This server signs people in through the site in front of it."
		    " Open it through that address, or ask whoever runs it.</p></section>");
	} else {
		message(&b, "error", p ? p->detail : NULL);
		if (strcmp(safe_next(next), "/join") == 0)
			buf_adds(&b, "<p>Sign in to accept your invitation to a chat.</p>");
		buf_adds(&b, "<form method=\"post\" action=\"/login\" class=\"stack\">"
		    "<input type=\"hidden\" name=\"next\" value=\"");
		html_escape(&b, safe_next(next));
		buf_printf(&b, "\"><label>Name<input name=\"name\" required maxlength=\"%d\""
		    " autocomplete=\"username\" autocapitalize=\"none\"%s value=\"",
		    LIMIT_USER_NAME_CHARS, name && name[0] ? "" : " autofocus");
		html_escape(&b, name ? name : "");
		buf_printf(&b, "\"></label><label>Password<input name=\"password\" type=\"password\""
		    " required autocomplete=\"current-password\"%s></label>"
		    "<button type=\"submit\">Sign in</button></form>", name && name[0] ? " autofocus" : "");
		if (accounts_need_setup(h->accounts))
			buf_adds(&b, "<p class=\"hint\">Nobody has an account yet. When it started,"
			    " the server printed a one-time link to create the first administrator:"
			    " look in its output for the line <code>parley setup: http://…</code> and"
			    " open it. (Or start it with <code>PARLEY_ADMIN</code> and"
			    " <code>PARLEY_ADMIN_PASSWORD</code> set.)</p>");
		buf_adds(&b, "</section>");
	}
	page_end(&b);
	if (p != NULL)
		respond_retry_after(x, p);
	respond_html(x, status, &b);
	buf_free(&b);
}

void
page_login(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	const struct who *who = exchange_who(x);
	if (h->cfg->auth == AUTH_NONE || who->user_id[0] != '\0')
		page_redirect(x, safe_next(exchange_query(x, "next")));
	else
		render_login(x, h, 200, exchange_query(x, "next"), NULL, NULL);
}

static void
signed_in(void *arg, json_t *user, const char *session_id, const struct problem *p)
{
	struct pending *w = arg;
	if (user == NULL)
		render_login(w->x, w->h, p->status, w->next, w->name, p);
	else {
		access_set_session(w->x, w->h, session_id);
		page_redirect(w->x, w->next);
	}
	free(w);
}

void
form_login(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct form f;
	if (h->cfg->auth != AUTH_ACCOUNTS) {
		page_redirect(x, "/");
		return;
	}
	if (page_form(x, &f) != 0)
		return;
	json_t *name = form_string(&f, "name"), *password = form_string(&f, "password");
	struct pending *w = pending_new(x, h, safe_next(form_get(&f, "next")));
	if (json_is_string(name) && json_string_length(name) < sizeof w->name)
		memcpy(w->name, json_string_value(name), json_string_length(name) + 1);
	accounts_sign_in(h->accounts, exchange_client_text(x, &h->cfg->trusted_proxy), name, password,
	    signed_in, w);
	json_decref(name);
	json_decref(password);
	form_free(&f);
}

void
form_logout(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	const struct who *who = exchange_who(x);
	if (who->credential[0] != '\0' && !who->by_token &&
	    accounts_sign_out(h->accounts, who, &p) != 0) {
		page_problem(x, &p);
		return;
	}
	access_set_session(x, h, NULL);
	page_redirect(x, h->cfg->auth == AUTH_ACCOUNTS ? "/login" : "/");
}

/* ---------- the first administrator ---------- */

static void
render_setup(struct exchange *x, struct handlers *h, int status, const struct problem *p)
{
	struct buf b = BUF_INIT;
	page_begin(&b, exchange_who(x), "Set up Parley", "");
	buf_adds(&b, "<section class=\"card narrow\"><h1>Set up Parley</h1>");
	if (!accounts_need_setup(h->accounts)) {
		buf_adds(&b, "<p>Parley is set up: its first administrator exists.</p>"
		    "<p><a href=\"/login\">Sign in</a></p></section>");
	} else if (exchange_cookie(x, SETUP_COOKIE) == NULL) {
		buf_adds(&b, "<p>To create the first administrator, open the one-time link the"
		    " server printed when it started (the line <code>parley setup: http://…</code>"
		    " in its output).</p></section>");
	} else {
		buf_adds(&b, "<p>Create the first account. It will be an administrator: it can"
		    " add people and make others administrators.</p>");
		message(&b, "error", p ? p->detail : NULL);
		buf_printf(&b, "<form method=\"post\" action=\"/setup\" class=\"stack\">"
		    "<label>Name<input name=\"name\" required maxlength=\"%d\" pattern=\"[A-Za-z0-9_.\\-]+\""
		    " title=\"Letters, digits and . _ - only\" autocomplete=\"username\" autocapitalize=\"none\" autofocus></label>"
		    "<label>Password<input name=\"password\" type=\"password\" required minlength=\"%d\""
		    " autocomplete=\"new-password\"></label>"
		    "<button type=\"submit\">Create and sign in</button></form></section>",
		    LIMIT_USER_NAME_CHARS, LIMIT_PASSWORD_MIN_CHARS);
	}
	page_end(&b);
	respond_html(x, status, &b);
	buf_free(&b);
}

void
page_setup(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	const char *token = exchange_query(x, "token");
	char pass[SECRET_HEX + 1];
	if (token != NULL) {
		/* the token leaves the address bar: its pass waits in a cookie for the form */
		secret_link_pass(token, pass);
		if (pass[0] != '\0' && accounts_need_setup(h->accounts))
			access_set_cookie(x, h, SETUP_COOKIE, pass, "/setup", SETUP_SECONDS);
		page_redirect(x, "/setup");
	} else
		render_setup(x, h, 200, NULL);
}

static void
set_up(void *arg, json_t *user, const char *session_id, const struct problem *p)
{
	struct pending *w = arg;
	if (user == NULL)
		render_setup(w->x, w->h, p->status, p);
	else {
		access_set_cookie(w->x, w->h, SETUP_COOKIE, NULL, "/setup", 0);
		access_set_session(w->x, w->h, session_id);
		page_redirect(w->x, "/");
	}
	free(w);
}

void
form_setup(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct form f;
	if (page_form(x, &f) != 0)
		return;
	char pass[SECRET_HEX + 1];
	const char *cookie = exchange_cookie(x, SETUP_COOKIE);
	snprintf(pass, sizeof pass, "%s", cookie && secret_pass_plausible(cookie) ? cookie : "");
	json_t *name = form_string(&f, "name"), *password = form_string(&f, "password");
	accounts_setup(h->accounts, pass, name, password, set_up, pending_new(x, h, "/"));
	explicit_bzero(pass, sizeof pass);
	json_decref(name);
	json_decref(password);
	form_free(&f);
}

/* ---------- one's own account ---------- */

/* Notices after a change (?done=KEY): fixed texts, nothing from the address is shown. */
static const char *
done_text(const char *key)
{
	static const char *const texts[][2] = {
		{ "name", "Your display name was changed." },
		{ "password", "Your password was changed; your other sessions were signed out." },
		{ "revoked", "The token was revoked." },
	};
	for (size_t i = 0; key != NULL && i < sizeof texts / sizeof texts[0]; i++)
		if (strcmp(key, texts[i][0]) == 0)
			return texts[i][1];
	return NULL;
}

static void
profile_section(struct buf *b, json_t *me)
{
	buf_adds(b, "<section class=\"card\"><h1>Your account</h1><p class=\"who\">Signed in as <b>");
	html_escape(b, str(me, "display_name"));
	buf_adds(b, "</b> <span class=\"muted\">@");
	html_escape(b, str(me, "name"));
	buf_printf(b, "</span>%s</p><form method=\"post\" action=\"/account\" class=\"row\">"
	    "<label class=\"grow\">Display name<input name=\"display_name\" required maxlength=\"%d\""
	    " value=\"", json_is_true(json_object_get(me, "admin")) ?
	    " <span class=\"badge\">admin</span>" : "", LIMIT_DISPLAY_NAME_CHARS);
	html_escape(b, str(me, "display_name"));
	buf_adds(b, "\"></label><button type=\"submit\">Save</button></form></section>");
}

static void
password_section(struct buf *b)
{
	buf_printf(b, "<section class=\"card\"><h2>Password</h2>"
	    "<form method=\"post\" action=\"/account/password\" class=\"stack\">"
	    "<label>Current password<input name=\"old_password\" type=\"password\" required"
	    " autocomplete=\"current-password\"></label>"
	    "<label>New password<input name=\"password\" type=\"password\" required minlength=\"%d\""
	    " maxlength=\"%d\" autocomplete=\"new-password\"></label>"
	    "<button type=\"submit\">Change password</button></form></section>",
	    LIMIT_PASSWORD_MIN_CHARS, LIMIT_PASSWORD_MAX_CHARS);
}

/* The API tokens, with a new one's secret (shown this once) when there is one. */
static void
tokens_section(struct buf *b, json_t *tokens, json_t *fresh)
{
	size_t i;
	json_t *t;
	buf_adds(b, "<section class=\"card\"><h2>API tokens</h2><p class=\"hint\">A program sends"
	    " <code>Authorization: Bearer TOKEN</code> to act as you.</p>");
	if (fresh != NULL) {
		buf_adds(b, "<div class=\"secret\"><p>Your new token <b>");
		html_escape(b, str(fresh, "name"));
		buf_adds(b, "</b>. Copy it now: it will not be shown again.</p><div class=\"row\">"
		    "<input id=\"new-token\" readonly autofocus aria-label=\"New token\" value=\"");
		html_escape(b, str(fresh, "token"));
		buf_adds(b, "\"><button type=\"button\" class=\"secondary\" data-copy=\"new-token\">"
		    "Copy</button></div></div>");
	}
	buf_adds(b, "<ul class=\"plain-list\" id=\"tokens\">");
	json_array_foreach(tokens, i, t) {
		buf_adds(b, "<li><span class=\"grow\">");
		html_escape(b, str(t, "name"));
		buf_adds(b, " <small class=\"muted\">created <time data-date datetime=\"");
		html_escape(b, str(t, "created_at"));
		buf_adds(b, "\">");
		html_escape(b, str(t, "created_at"));
		buf_adds(b, "</time></small></span><form method=\"post\" action=\"/account/tokens/");
		html_escape(b, str(t, "id"));
		buf_adds(b, "/delete\"><button type=\"submit\" class=\"danger\" aria-label=\"Revoke ");
		html_escape(b, str(t, "name"));
		buf_adds(b, "\">Revoke</button></form></li>");
	}
	if (json_array_size(tokens) == 0)
		buf_adds(b, "<li class=\"empty\">No tokens.</li>");
	buf_printf(b, "</ul><form method=\"post\" action=\"/account/tokens\" class=\"row\">"
	    "<label class=\"grow\">New token's name<input name=\"name\" required maxlength=\"%d\""
	    " placeholder=\"e.g. my script\"></label><button type=\"submit\">Create token</button>"
	    "</form></section>", LIMIT_TOKEN_NAME_CHARS);
}

static void
render_account(struct exchange *x, struct handlers *h, int status, const char *notice,
    const struct problem *err, json_t *fresh)
{
	const struct who *who = exchange_who(x);
	struct problem p;
	json_t *me = NULL, *tokens = NULL;
	bool own_passwords = h->cfg->auth == AUTH_ACCOUNTS;
	if (accounts_me(h->accounts, who, &me, &p) != 0 ||
	    (own_passwords && accounts_tokens(h->accounts, who, &tokens, &p) != 0)) {
		json_decref(me);
		page_problem(x, &p);
		return;
	}
	struct buf b = BUF_INIT;
	page_begin(&b, who, "Your account", "account");
	message(&b, "notice", notice);
	message(&b, "error", err ? err->detail : NULL);
	profile_section(&b, me);
	if (own_passwords) {
		password_section(&b);
		tokens_section(&b, tokens, fresh);
	}
	page_end(&b);
	exchange_add_header(x, "Cache-Control", "no-store");
	respond_html(x, status, &b);
	buf_free(&b);
	json_decref(me);
	json_decref(tokens);
}

void
page_account(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	if (exchange_who(x)->anyone)
		page_redirect(x, "/");	/* --auth none: there are no accounts */
	else
		render_account(x, h, 200, done_text(exchange_query(x, "done")), NULL, NULL);
}

static void
account_changed(void *arg, json_t *user, const char *session_id, const struct problem *p)
{
	struct pending *w = arg;
	(void)session_id;
	if (user == NULL)
		render_account(w->x, w->h, p->status, NULL, p, NULL);
	else
		page_redirect(w->x, w->next);
	free(w);
}

/* Changes one's own account with the form's fields (given as the API's JSON names). */
static void
change_own(struct exchange *x, struct handlers *h, const char *const fields[], const char *done)
{
	struct form f;
	if (page_form(x, &f) != 0)
		return;
	json_t *body = json_object();
	for (size_t i = 0; fields[i] != NULL; i++) {
		if (form_get(&f, fields[i]) == NULL) {	/* a form of ours sends every field */
			struct problem p;
			problem_set(&p, 422, "%s: required", fields[i]);
			render_account(x, h, 422, NULL, &p, NULL);
			form_free(&f);
			json_decref(body);
			return;
		}
		json_object_set_new(body, fields[i], form_string(&f, fields[i]));
	}
	form_free(&f);
	char next[64];
	snprintf(next, sizeof next, "/account?done=%s", done);
	const struct who *who = exchange_who(x);
	accounts_user_update(h->accounts, who, who->user_id, body, account_changed,
	    pending_new(x, h, next));
	json_decref(body);
}

void
form_account(struct exchange *x, void *ctx)
{
	static const char *const fields[] = { "display_name", NULL };
	change_own(x, ctx, fields, "name");
}

void
form_password(struct exchange *x, void *ctx)
{
	static const char *const fields[] = { "old_password", "password", NULL };
	change_own(x, ctx, fields, "password");
}

void
form_token_create(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	struct form f;
	json_t *token = NULL;
	if (page_form(x, &f) != 0)
		return;
	json_t *name = form_string(&f, "name");
	form_free(&f);
	if (accounts_token_create(h->accounts, exchange_who(x), name, &token, &p) != 0)
		render_account(x, h, p.status, NULL, &p, NULL);
	else
		render_account(x, h, 201, NULL, NULL, token);
	json_decref(name);
	json_decref(token);
}

void
form_token_delete(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	if (accounts_token_delete(h->accounts, exchange_who(x), exchange_param(x, 0), &p) != 0)
		page_problem(x, &p);
	else
		page_redirect(x, "/account?done=revoked");
}
