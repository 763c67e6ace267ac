/*
 * user_pages.c - the administrators' page of users: the list, a new user,
 * a new password for someone, making or unmaking administrators, removing
 * someone; see user_pages.h. The checks are the service's (accounts.h):
 * this page only shows what it answers.
 */
#include "web/user_pages.h"
#include "api/handlers.h"
#include "chat/accounts.h"
#include "chat/who.h"
#include "http/exchange.h"
#include "http/form.h"
#include "http/respond.h"
#include "limits.h"
#include "util/buf.h"
#include "util/problem.h"
#include "util/xmalloc.h"
#include "web/html.h"
#include "web/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
str(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v ? v : "";
}

/* The form to add someone; after a refusal, what was sent (but the password) and why. */
static void
new_user_form(struct buf *b, json_t *sent, const struct problem *err)
{
	buf_printf(b, "<section class=\"card\"><h1>Add someone</h1>"
	    "<form method=\"post\" action=\"/admin/users\" class=\"grid\">"
	    "<label>Name<input name=\"name\" required maxlength=\"%d\" pattern=\"[A-Za-z0-9_.\\-]+\""
	    " title=\"Letters, digits and . _ - only\""
	    " autocapitalize=\"none\" autocomplete=\"off\" value=\"", LIMIT_USER_NAME_CHARS);
	html_escape(b, str(sent, "name"));
	buf_printf(b, "\"></label><label>Display name<input name=\"display_name\" maxlength=\"%d\""
	    " placeholder=\"as the name\" value=\"", LIMIT_DISPLAY_NAME_CHARS);
	html_escape(b, str(sent, "display_name"));
	buf_printf(b, "\"></label>"
	    "<label>Password<input name=\"password\" type=\"password\" required minlength=\"%d\""
	    " autocomplete=\"new-password\"></label>"
	    "<div class=\"row form-end\"><label class=\"check\"><input type=\"checkbox\""
	    " name=\"admin\" value=\"1\"%s> Administrator</label><button type=\"submit\">Add"
	    "</button></div></form>", LIMIT_PASSWORD_MIN_CHARS,
	    json_is_true(json_object_get(sent, "admin")) ? " checked" : "");
	page_error(b, err ? err->detail : NULL);
	buf_adds(b, "<p class=\"hint\">Tell them their name and password; they can change the"
	    " password on their account page.</p></section>");
}

/* One user's row: who, and what an administrator may do to them. */
static void
user_row(struct buf *b, json_t *u, const struct who *who)
{
	const char *id = str(u, "id");
	bool admin = json_is_true(json_object_get(u, "admin"));
	buf_adds(b, "<li><div class=\"grow\"><b>");
	html_escape(b, str(u, "display_name"));
	buf_adds(b, "</b> <span class=\"muted\">@");
	html_escape(b, str(u, "name"));
	buf_printf(b, "</span>%s%s</div><details class=\"actions\"><summary>Manage</summary>",
	    admin ? " <span class=\"badge\">admin</span>" : "",
	    strcmp(id, who->user_id) == 0 ? " <span class=\"badge\">you</span>" : "");
	buf_printf(b, "<form method=\"post\" action=\"/admin/users/%s\">"
	    "<input type=\"hidden\" name=\"admin\" value=\"%s\"><button type=\"submit\""
	    " class=\"secondary\">%s</button></form>", id, admin ? "false" : "true",
	    admin ? "Remove administrator" : "Make administrator");
	if (strcmp(id, who->user_id) == 0) {
		buf_adds(b, "<p class=\"hint\">Your own password and name are on"
		    " <a href=\"/account\">your account page</a>.</p></details></li>");
		return;
	}
	buf_printf(b, "<form method=\"post\" action=\"/admin/users/%s\" class=\"row\">"
	    "<input name=\"password\" type=\"password\" required minlength=\"%d\""
	    " autocomplete=\"new-password\" aria-label=\"New password\" placeholder=\"New password\">"
	    "<button type=\"submit\" class=\"secondary\">Set password</button></form>",
	    id, LIMIT_PASSWORD_MIN_CHARS);
	buf_printf(b, "<form method=\"post\" action=\"/admin/users/%s/delete\" data-confirm=\""
	    "Remove the account of ", id);
	html_escape(b, str(u, "display_name"));
	buf_adds(b, "? They can no longer sign in; their messages stay.\">"
	    "<button type=\"submit\" class=\"danger\">Remove (their messages stay)</button>"
	    "</form></details></li>");
}

/*
 * The users page; err says why the last change was refused, beside the
 * add form when sent is what it was sent (kept in the form).
 */
static void
render_users(struct exchange *x, struct handlers *h, int status, const struct problem *err,
    json_t *sent)
{
	const struct who *who = exchange_who(x);
	struct problem p;
	json_t *users = NULL, *u;
	size_t i;
	if (!who_admin(who) || who->anyone) {
		problem_set(&p, who->anyone ? 404 : 403, who->anyone ?
		    "there are no accounts (--auth none)" : "only an administrator may do that");
		page_problem(x, &p);
		return;
	}
	if (accounts_users(h->accounts, who, &users, &p) != 0) {
		page_problem(x, &p);
		return;
	}
	struct buf b = BUF_INIT;
	page_begin(&b, who, "Users", "users");
	bool beside_form = sent != NULL && h->cfg->auth == AUTH_ACCOUNTS;
	if (!beside_form)
		page_error(&b, err ? err->detail : NULL);
	if (h->cfg->auth == AUTH_ACCOUNTS)
		new_user_form(&b, sent, beside_form ? err : NULL);
	buf_adds(&b, "<section class=\"card\"><h2>Users</h2><ul id=\"users\" class=\"plain-list\">");
	json_array_foreach(users, i, u)
		user_row(&b, u, who);
	buf_adds(&b, "</ul></section>");
	page_end(&b);
	respond_html(x, status, &b);
	buf_free(&b);
	json_decref(users);
}

void
page_users(struct exchange *x, void *ctx)
{
	render_users(x, ctx, 200, NULL, NULL);
}

struct pending {
	struct exchange	*x;
	struct handlers	*h;
	json_t		*sent;	/* a new user's fields, or NULL */
};

static void
changed(void *arg, json_t *user, const char *session_id, const struct problem *p)
{
	struct pending *w = arg;
	(void)session_id;
	if (user == NULL)
		render_users(w->x, w->h, p->status, p, w->sent);
	else
		page_redirect(w->x, "/admin/users");
	json_decref(w->sent);
	free(w);
}

static struct pending *
pending(struct exchange *x, struct handlers *h, json_t *sent)
{
	struct pending *w = xmalloc(sizeof *w);
	*w = (struct pending){ x, h, sent ? json_incref(sent) : NULL };
	return w;
}

/* The form as the API's JSON: strings as given, "admin" as true or false. */
static json_t *
user_fields(const struct form *f)
{
	static const char *const text[] = { "name", "display_name", "password" };
	json_t *body = json_object();
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
		const char *v = form_get(f, text[i]);
		if (v != NULL && (*v != '\0' || strcmp(text[i], "display_name") != 0))
			json_object_set_new(body, text[i], json_string(v));
	}
	const char *admin = form_get(f, "admin");
	bool yes = admin != NULL && (strcmp(admin, "true") == 0 || strcmp(admin, "1") == 0);
	bool no = admin != NULL && (strcmp(admin, "false") == 0 || strcmp(admin, "0") == 0);
	if (admin != NULL)	/* anything else is refused as the API refuses it */
		json_object_set_new(body, "admin", yes || no ? json_boolean(yes) : json_string(admin));
	return body;
}

void
form_user_create(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct form f;
	if (page_form(x, &f) != 0)
		return;
	json_t *body = user_fields(&f);
	form_free(&f);
	if (!json_object_get(body, "admin"))
		json_object_set_new(body, "admin", json_false());
	accounts_user_create(h->accounts, exchange_who(x), body, changed, pending(x, h, body));
	json_decref(body);
}

void
form_user_update(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct form f;
	if (page_form(x, &f) != 0)
		return;
	json_t *body = user_fields(&f);
	form_free(&f);
	json_object_del(body, "name");
	accounts_user_update(h->accounts, exchange_who(x), exchange_param(x, 0), body, changed,
	    pending(x, h, NULL));
	json_decref(body);
}

void
form_user_delete(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	if (accounts_user_delete(h->accounts, exchange_who(x), exchange_param(x, 0), &p) != 0)
		render_users(x, h, p.status, &p, NULL);
	else
		page_redirect(x, "/admin/users");
}
