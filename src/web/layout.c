/*
 * layout.c - shared page frame and HTML error answers; see layout.h.
 */
#include "web/layout.h"
#include "http/exchange.h"
#include "http/form.h"
#include "http/respond.h"
#include "util/buf.h"
#include "util/problem.h"
#include "web/assets.h"
#include "web/html.h"
#include "chat/who.h"

#include <stdio.h>
#include <string.h>

/*
 * htmx swaps error responses too, so forms can show why they were refused,
 * and does not count them as its errors (it would log each to the console);
 * it injects no <style> and evaluates no script (the pages' CSP allows neither).
 */
static const char htmx_config[] =
    "{\"responseHandling\":[{\"code\":\"204\",\"swap\":false},"
    "{\"code\":\"[23]..\",\"swap\":true},{\"code\":\"[45]..\",\"swap\":true,\"error\":false}],"
    "\"includeIndicatorStyles\":false,\"allowEval\":false}";

static const char *
current(const char *nav, const char *section)
{
	return strcmp(nav, section) == 0 ? " aria-current=\"page\"" : "";
}

/* The sections, and the signed-in person's menu: their account, the users (admins), sign out. */
static void
top_bar(struct buf *b, const struct who *who, const char *nav)
{
	bool person = who->user_id[0] != '\0';
	if (!person && !who->anyone) {
		buf_adds(b, "</header>");
		return;
	}
	buf_printf(b, "<nav><a href=\"/\"%s>Chats</a><a href=\"/bots\"%s>Bots</a>",
	    current(nav, "chats"), current(nav, "bots"));
	if (person && who->admin)
		buf_printf(b, "<a href=\"/admin/users\"%s>Users</a>", current(nav, "users"));
	buf_adds(b, "</nav><span id=\"connection\" class=\"connection\" role=\"status\" hidden>"
	    "Reconnecting…</span>");
	if (person) {
		buf_adds(b, "<details class=\"user-menu\"><summary aria-label=\"Your account\">");
		html_escape(b, who->display_name);
		buf_printf(b, "</summary><div class=\"menu\"><a href=\"/account\"%s>Account</a>"
		    "<form method=\"post\" action=\"/logout\"><button type=\"submit\""
		    " class=\"secondary\">Sign out</button></form></div></details>",
		    current(nav, "account"));
	}
	buf_adds(b, "</header>");
}

void
page_begin(struct buf *b, const struct who *who, const char *title, const char *nav)
{
	buf_adds(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1,"
	    " interactive-widget=resizes-content\">"
	    "<link rel=\"icon\" href=\"data:,\"><title>");
	html_escape(b, title);
	buf_printf(b, " · Parley</title><meta name=\"htmx-config\" content='%s'>"
	    "<link rel=\"stylesheet\" href=\"%s\">"
	    "<script src=\"%s\" defer></script><script src=\"%s\" defer></script>"
	    "<script src=\"%s\" defer></script><script src=\"%s\" defer></script>"
	    "<script src=\"%s\" defer></script></head><body",
	    htmx_config, asset_url("app.css"), asset_url("htmx.min.js"), asset_url("sse.js"),
	    asset_url("tabs.js"), asset_url("unread.js"), asset_url("app.js"));
	if (who->user_id[0] != '\0') {	/* for noticing mentions */
		buf_adds(b, " data-me-id=\"");
		html_escape(b, who->user_id);
		buf_adds(b, "\" data-me=\"");
		html_escape(b, who->name);
		buf_adds(b, "\" data-me-name=\"");
		html_escape(b, who->display_name);
		buf_adds(b, "\"");
	}
	if (who_admin(who))	/* may change anyone's messages (app.js offers it) */
		buf_adds(b, " data-admin");
	buf_adds(b, "><header class=\"topbar\"><a class=\"brand\" href=\"/\">Parley</a>");
	top_bar(b, who, nav);
	buf_adds(b, "<main class=\"main\">");
}

void
page_end(struct buf *b)
{
	buf_adds(b, "</main></body></html>\n");
}

void
page_error(struct buf *b, const char *detail)
{
	if (detail == NULL)
		return;
	buf_adds(b, "<p class=\"error\" role=\"alert\">");
	html_said(b, detail);
	buf_adds(b, "</p>");
}

void
page_problem(struct exchange *x, const struct problem *p)
{
	struct buf b = BUF_INIT;
	respond_retry_after(x, p);
	if (exchange_is_htmx(x)) {
		buf_adds(&b, "<p class=\"error\">");
		html_said(&b, p->detail);
		buf_adds(&b, "</p>");
	} else {
		char title[32];
		snprintf(title, sizeof title, "Error %d", p->status);
		page_begin(&b, exchange_who(x), title, "");
		buf_printf(&b, "<section class=\"card error-page\"><h1>%s</h1><p>", title);
		html_said(&b, p->detail);
		buf_adds(&b, "</p><p><a href=\"/\">Back to the chats</a></p></section>");
		page_end(&b);
	}
	respond_html(x, p->status, &b);
	buf_free(&b);
}

int
page_form(struct exchange *x, struct form *f)
{
	struct problem p;
	if (exchange_form(x, f, &p) == 0)
		return 0;
	page_problem(x, &p);
	return -1;
}

bool
page_confirmed(struct exchange *x, const char *what)
{
	struct form f;
	if (page_form(x, &f) != 0)
		return false;
	const char *confirm = form_get(&f, "confirm");
	bool sure = confirm != NULL && strcmp(confirm, "yes") == 0;
	form_free(&f);
	if (!sure) {
		struct problem p;
		problem_set(&p, 422, "Tick the box to confirm that %s.", what);
		page_problem(x, &p);
	}
	return sure;
}

void
page_redirect(struct exchange *x, const char *location)
{
	if (exchange_is_htmx(x)) {
		exchange_add_header(x, "HX-Redirect", location);
		respond_empty(x, 204);
	} else
		respond_redirect(x, location);
}
