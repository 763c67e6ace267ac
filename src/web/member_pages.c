/*
 * member_pages.c - a chat's members page (who is in it, adding someone by
 * name, removing someone, leaving, an invite link to copy) and joining
 * through an invite link; see member_pages.h. The link's token moves into
 * a cookie at once (it leaves the address bar and the history), and only
 * the confirming POST makes anyone a member.
 */
#include "web/member_pages.h"
#include "api/access.h"
#include "api/handlers.h"
#include "chat/chats.h"
#include "chat/members.h"
#include "chat/who.h"
#include "http/exchange.h"
#include "http/form.h"
#include "http/origin.h"
#include "http/respond.h"
#include "limits.h"
#include "util/buf.h"
#include "util/ids.h"
#include "util/problem.h"
#include "util/secret.h"
#include "util/text.h"
#include "web/html.h"
#include "web/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVITE_COOKIE	"parley_invite"
#define INVITE_SECONDS	3600	/* to sign in and confirm */

static const char *
str(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v ? v : "";
}

static bool
member_of(json_t *users, const struct who *who)
{
	size_t i;
	json_t *u;
	json_array_foreach(users, i, u)
		if (strcmp(str(u, "id"), who->user_id) == 0)
			return true;
	return false;
}

/* The question before someone is removed from the chat (an attribute's text). */
static void
confirm_remove(struct buf *b, const char *name)
{
	buf_adds(b, "Remove ");
	html_escape(b, name);
	buf_adds(b, " from this chat?");
}

/* The members, each with a way out: "Leave" for oneself, "Remove" for the others. */
static void
member_list(struct buf *b, const char *chat_id, json_t *users, const struct who *who)
{
	size_t i;
	json_t *u;
	buf_adds(b, "<ul id=\"members\" class=\"plain-list\">");
	json_array_foreach(users, i, u) {
		bool self = strcmp(str(u, "id"), who->user_id) == 0;
		buf_adds(b, "<li><div class=\"grow\"><b>");
		html_escape(b, str(u, "display_name"));
		buf_adds(b, "</b> <span class=\"muted\">@");
		html_escape(b, str(u, "name"));
		buf_printf(b, "</span>%s</div><form method=\"post\" action=\"/chats/%s/members/%s"
		    "/delete\" data-confirm=\"", self ? " <span class=\"badge\">you</span>" : "",
		    chat_id, str(u, "id"));
		if (self)
			buf_adds(b, "Leave this chat? You will no longer see it.");
		else
			confirm_remove(b, str(u, "display_name"));
		buf_printf(b, "\"><button type=\"submit\" class=\"%s\">%s</button></form></li>",
		    self ? "secondary" : "danger", self ? "Leave" : "Remove");
	}
	buf_adds(b, "</ul>");
}

/* The invite form (hours preselected), and a new link when there is one. */
static void
invite_section(struct buf *b, const char *chat_id, const char *url, const char *expires,
    int hours)
{
	static const struct { int hours; const char *label; } spans[] = {
		{ 24, "a day" }, { 168, "a week" }, { 720, "30 days" },
	};
	buf_adds(b, "<section class=\"card\"><h2>Invite link</h2>");
	if (url != NULL) {
		buf_adds(b, "<div class=\"secret\"><p>Anyone with an account who opens this link can"
		    " join, until <time data-date datetime=\"");
		html_escape(b, expires);
		buf_adds(b, "\">");
		html_escape(b, expires);
		buf_adds(b, "</time>.</p><div class=\"row\"><input id=\"invite-url\" readonly autofocus"
		    " aria-label=\"Invite link\" value=\"");
		html_escape(b, url);
		buf_adds(b, "\"><button type=\"button\" class=\"secondary\" data-copy=\"invite-url\">"
		    "Copy</button></div></div>");
	}
	buf_printf(b, "<form method=\"post\" action=\"/chats/%s/invites\" class=\"row\">"
	    "<label>Valid for<select name=\"hours\">", chat_id);
	for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++)
		buf_printf(b, "<option value=\"%d\"%s>%s</option>", spans[i].hours,
		    spans[i].hours == hours ? " selected" : "", spans[i].label);
	buf_printf(b, "</select></label><button type=\"submit\">%s</button></form></section>",
	    url ? "Create another link" : "Create a link");
}

/* A new invite link to show on the members page. */
struct invite {
	const char	*url, *expires;
	int		 hours;
};

/*
 * The members page; fresh: a new invite to show (or NULL); typed: the name
 * an add that was refused was sent with, kept in its box (or NULL).
 */
static void
render_members(struct exchange *x, struct handlers *h, int status, const struct problem *err,
    const struct invite *fresh, const char *typed)
{
	const struct who *who = exchange_who(x);
	char id[ID_LEN + 1];
	struct problem p;
	json_t *chat = NULL, *users = NULL;
	snprintf(id, sizeof id, "%s", exchange_param(x, 0));
	if (chats_get(h->chats, who, id, &chat, &p) != 0 ||
	    members_list(h->members, who, id, &users, &p) != 0) {
		json_decref(chat);
		page_problem(x, &p);
		return;
	}
	struct buf b = BUF_INIT;
	page_begin(&b, who, "Members", "chats");
	buf_printf(&b, "<p class=\"back\"><a href=\"/chats/%s\">← ", id);
	html_escape(&b, str(chat, "title"));
	buf_adds(&b, "</a></p><section class=\"card\"><h1>Members</h1>");
	page_error(&b, err ? err->detail : NULL);
	member_list(&b, id, users, who);
	if (!member_of(users, who))
		buf_adds(&b, "<p class=\"hint\">You are not a member: administrators see every"
		    " chat.</p>");
	buf_printf(&b, "<form method=\"post\" action=\"/chats/%s/members\" class=\"row\">"
	    "<input name=\"user\" required maxlength=\"%d\" autocapitalize=\"none\""
	    " placeholder=\"Their user name\" aria-label=\"User name\" value=\"", id,
	    LIMIT_USER_NAME_CHARS);
	html_escape(&b, typed ? typed : "");
	buf_adds(&b, "\"><button type=\"submit\">Add</button></form></section>");
	invite_section(&b, id, fresh ? fresh->url : NULL, fresh ? fresh->expires : NULL,
	    fresh ? fresh->hours : 168);
	page_end(&b);
	if (fresh != NULL)
		exchange_add_header(x, "Cache-Control", "no-store");
	respond_html(x, status, &b);
	buf_free(&b);
	json_decref(chat);
	json_decref(users);
}

void
page_members(struct exchange *x, void *ctx)
{
	render_members(x, ctx, 200, NULL, NULL, NULL);
}

static void
to_members(struct exchange *x)
{
	char location[96];
	snprintf(location, sizeof location, "/chats/%s/members", exchange_param(x, 0));
	page_redirect(x, location);
}

void
form_member_add(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	struct form f;
	if (page_form(x, &f) != 0)
		return;
	/* a phone's keyboard may add a space after a word */
	char *typed = form_get(&f, "user") ? text_trim(form_get(&f, "user")) : NULL;
	json_t *user = typed ? json_string(typed) : NULL;
	free(typed);
	form_free(&f);
	if (members_add(h->members, exchange_who(x), exchange_param(x, 0), user, &p) != 0) {
		const char *name = json_string_value(user);
		if (p.status == 422 && strstr(p.detail, "no such user") != NULL)	/* the page's words */
			problem_set(&p, 422, name && *name ? "There is no user named “%s”." :
			    "Type the user name of the person to add.", name);
		render_members(x, h, p.status, &p, NULL, name);
	} else
		to_members(x);
	json_decref(user);
}

void
form_member_remove(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	const char *user = exchange_param(x, 1);
	bool leaving = strcmp(user, exchange_who(x)->user_id) == 0;
	if (members_remove(h->members, exchange_who(x), exchange_param(x, 0), user, &p) != 0)
		render_members(x, h, p.status, &p, NULL, NULL);
	else if (leaving && !who_admin(exchange_who(x)))
		page_redirect(x, "/");		/* the chat is not theirs to see any more */
	else
		to_members(x);
}

void
form_invite(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	struct form f;
	char token[SECRET_LEN + 1], expires[21], base[1100], url[1200];
	if (page_form(x, &f) != 0)
		return;
	const char *given = form_get(&f, "hours");
	json_t *hours = given ? json_integer(strtol(given, NULL, 10)) : NULL;
	form_free(&f);
	if (members_invite(h->members, exchange_who(x), exchange_param(x, 0), hours, token,
	    expires, &p) != 0)
		render_members(x, h, p.status, &p, NULL, NULL);
	else {
		origin_base_url(h->origin, exchange_header(x, "Host"), base, sizeof base);
		snprintf(url, sizeof url, "%s/join/%s", base, token);
		struct invite fresh = { url, expires, hours ? (int)json_integer_value(hours) : 168 };
		render_members(x, h, 201, NULL, &fresh, NULL);
	}
	json_decref(hours);
	explicit_bzero(token, sizeof token);
	explicit_bzero(url, sizeof url);
}

/* ---------- joining through an invite link ---------- */

void
page_join_link(struct exchange *x, void *ctx)
{
	char pass[SECRET_HEX + 1];
	secret_link_pass(exchange_param(x, 0), pass);
	if (pass[0] != '\0')
		access_set_cookie(x, ctx, INVITE_COOKIE, pass, "/join", INVITE_SECONDS);
	page_redirect(x, "/join");
}

/* The invite's pass waiting in its cookie, copied into pass ("" when none). */
static void
invite_pass(struct exchange *x, char pass[SECRET_HEX + 1])
{
	const char *v = exchange_cookie(x, INVITE_COOKIE);
	snprintf(pass, SECRET_HEX + 1, "%s", v && secret_pass_plausible(v) ? v : "");
}

void
page_join(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	char pass[SECRET_HEX + 1];
	json_t *chat;
	invite_pass(x, pass);
	if (members_invited_to(h->members, pass, &chat, &p) != 0) {
		page_problem(x, &p);
		return;
	}
	struct buf b = BUF_INIT;
	page_begin(&b, exchange_who(x), "Join a chat", "chats");
	buf_adds(&b, "<section class=\"card narrow\"><h1>Join “");
	html_escape(&b, str(chat, "title"));
	buf_adds(&b, "”?</h1><p>You were invited to this chat. Once you join, you see its"
	    " messages and its members see yours.</p><form method=\"post\" action=\"/join\">"
	    "<button type=\"submit\">Join the chat</button></form></section>");
	page_end(&b);
	respond_html(x, 200, &b);
	buf_free(&b);
	json_decref(chat);
}

/* who joins with the invite's pass, and goes to the chat. */
static void
join(struct exchange *x, struct handlers *h, const char *pass)
{
	struct problem p;
	char location[96];
	json_t *chat;
	if (members_join(h->members, exchange_who(x), pass, &chat, &p) != 0)
		page_problem(x, &p);
	else {
		access_set_cookie(x, h, INVITE_COOKIE, NULL, "/join", 0);
		snprintf(location, sizeof location, "/chats/%s", str(chat, "id"));
		page_redirect(x, location);
		json_decref(chat);
	}
}

void
form_join(struct exchange *x, void *ctx)
{
	char pass[SECRET_HEX + 1];
	invite_pass(x, pass);
	join(x, ctx, pass);
}

void
form_join_link(struct exchange *x, void *ctx)
{
	char pass[SECRET_HEX + 1];
	secret_link_pass(exchange_param(x, 0), pass);
	if (exchange_who(x)->user_id[0] != '\0')
		join(x, ctx, pass);
	else
		page_join_link(x, ctx);	/* to sign in first, then confirm */
}
