/*
 * pages.c - HTML pages and form handlers; see pages.h. Every user string
 * goes through html_escape() or a fragment that uses it.
 */
#include "web/pages.h"
#include "app.h"
#include "chats.h"
#include "http/request.h"
#include "http/respond.h"
#include "limits.h"
#include "store/store.h"
#include "util/buf.h"
#include "web/assets.h"
#include "web/fragments.h"
#include "web/html.h"

#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>

/* htmx swaps error responses too, so forms can show why they were refused. */
static const char htmx_config[] =
    "{\"responseHandling\":[{\"code\":\"204\",\"swap\":false},"
    "{\"code\":\"[23]..\",\"swap\":true},{\"code\":\"[45]..\",\"swap\":true,\"error\":true}]}";

static void
page_begin(struct buf *b, const char *title)
{
	buf_adds(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
	html_escape(b, title);
	buf_printf(b, " · Parley</title><meta name=\"htmx-config\" content='%s'>"
	    "<link rel=\"stylesheet\" href=\"%s\">"
	    "<script src=\"%s\" defer></script><script src=\"%s\" defer></script>"
	    "<script src=\"%s\" defer></script></head><body>"
	    "<header class=\"topbar\"><a class=\"brand\" href=\"/\">Parley</a></header>"
	    "<main class=\"main\">", htmx_config, asset_url("app.css"),
	    asset_url("htmx.min.js"), asset_url("sse.js"), asset_url("app.js"));
}

static void
page_end(struct buf *b)
{
	buf_adds(b, "</main></body></html>\n");
}

void
page_problem(struct evhttp_request *req, const struct problem *p)
{
	struct buf b = BUF_INIT;
	if (request_is_htmx(req)) {
		buf_adds(&b, "<p class=\"error\">");
		html_escape(&b, p->detail);
		buf_adds(&b, "</p>");
	} else {
		char title[32];
		snprintf(title, sizeof title, "Error %d", p->status);
		page_begin(&b, title);
		buf_printf(&b, "<section class=\"card error-page\"><h1>%s</h1><p>", title);
		html_escape(&b, p->detail);
		buf_adds(&b, "</p><p><a href=\"/\">Back to the chats</a></p></section>");
		page_end(&b);
	}
	respond_html(req, p->status, &b);
	buf_free(&b);
}

static void
chat_list(struct buf *b, json_t *chats)
{
	size_t i;
	json_t *chat;
	if (json_array_size(chats) == 0) {
		buf_adds(b, "<p class=\"empty\">No chats yet. Start one above.</p>");
		return;
	}
	buf_adds(b, "<ul id=\"chats\" class=\"chat-list\">");
	json_array_foreach(chats, i, chat) {
		buf_adds(b, "<li><a href=\"/chats/");
		html_escape(b, json_string_value(json_object_get(chat, "id")));
		buf_adds(b, "\"><span class=\"chat-name\">");
		html_escape(b, json_string_value(json_object_get(chat, "title")));
		buf_adds(b, "</span><span class=\"chat-policy\">");
		html_escape(b, json_string_value(json_object_get(chat, "policy")));
		buf_adds(b, "</span></a></li>");
	}
	buf_adds(b, "</ul>");
}

static void
render_index(struct evhttp_request *req, struct app *app, int status, const char *error)
{
	json_t *chats = store_chat_list(app->store);
	struct buf b = BUF_INIT;
	page_begin(&b, "Chats");
	buf_adds(&b, "<section class=\"card\"><h1>Start a chat</h1>"
	    "<form id=\"new-chat\" class=\"new-chat\" method=\"post\" action=\"/chats\">"
	    "<input name=\"title\" placeholder=\"What is it about?\" required maxlength=\"200\""
	    " aria-label=\"Title\"><select name=\"policy\" aria-label=\"Who replies\">"
	    "<option value=\"round-robin\">Every bot replies</option>"
	    "<option value=\"mentions\">Only @mentioned bots</option>"
	    "<option value=\"natural\">Natural conversation</option>"
	    "<option value=\"manual\">Bots only when asked</option></select>"
	    "<button type=\"submit\">Create</button></form>");
	if (error != NULL) {
		buf_adds(&b, "<p class=\"error\">");
		html_escape(&b, error);
		buf_adds(&b, "</p>");
	}
	buf_adds(&b, "</section><section class=\"card\"><h2>Chats</h2>");
	chat_list(&b, chats);
	buf_adds(&b, "</section>");
	page_end(&b);
	respond_html(req, status, &b);
	buf_free(&b);
	json_decref(chats);
}

void
page_index(struct evhttp_request *req, void *app, const struct route_params *p)
{
	(void)p;
	render_index(req, app, 200, NULL);
}

static void
chat_body(struct buf *b, json_t *chat, json_t *messages)
{
	const char *id = json_string_value(json_object_get(chat, "id"));
	long long last = (long long)json_integer_value(json_object_get(chat, "last_event_id"));

	buf_printf(b, "<div id=\"chat\" class=\"chat\" hx-ext=\"sse\""
	    " sse-connect=\"/chats/%s/events?after=%lld\" sse-close=\"deleted\">", id, last);
	buf_adds(b, "<header id=\"chat-header\" class=\"chat-header\" sse-swap=\"chat\">");
	fragment_chat_header(b, chat);
	buf_adds(b, "</header><div id=\"chat-notice\" sse-swap=\"deleted\"></div>"
	    "<div id=\"messages\" class=\"messages\" sse-swap=\"message,message-update\""
	    " hx-swap=\"beforeend\" aria-live=\"polite\">");
	size_t i;
	json_t *m;
	json_array_foreach(messages, i, m)
		fragment_message(b, m);
	buf_adds(b, "</div><div id=\"turn-status\" class=\"turn-status\" sse-swap=\"turn\">"
	    "<span class=\"turn-idle\"></span></div>");
	buf_printf(b, "<form id=\"composer\" class=\"composer\" method=\"post\""
	    " action=\"/chats/%s/messages\" hx-post=\"/chats/%s/messages\""
	    " hx-target=\"#composer-error\" hx-swap=\"innerHTML\">", id, id);
	buf_printf(b, "<input name=\"author\" placeholder=\"Your name\" required"
	    " maxlength=\"%d\" autocomplete=\"nickname\" aria-label=\"Your name\">"
	    "<textarea name=\"body\" placeholder=\"Write a message…\" required rows=\"2\""
	    " aria-label=\"Message\"></textarea><button type=\"submit\">Send</button>"
	    "<div id=\"composer-error\" class=\"form-error\" role=\"alert\"></div></form></div>",
	    LIMIT_AUTHOR_CHARS);
}

void
page_chat(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct app *app = ctx;
	struct problem p;
	json_t *chat, *messages;
	if (chats_get(app, rp->seg[0], &chat, &p) != 0) {
		page_problem(req, &p);
		return;
	}
	if (store_messages_last(app->store, rp->seg[0], LIMIT_PAGE_MESSAGES, &messages)
	    != STORE_OK) {
		json_decref(chat);
		problem_set(&p, 500, "the database failed; try again");
		page_problem(req, &p);
		return;
	}
	struct buf b = BUF_INIT;
	page_begin(&b, json_string_value(json_object_get(chat, "title")));
	chat_body(&b, chat, messages);
	page_end(&b);
	respond_html(req, 200, &b);
	buf_free(&b);
	json_decref(chat);
	json_decref(messages);
}

/* Looks up a form field as a JSON string (new reference), or NULL. */
static json_t *
form_value(struct evkeyvalq *fields, const char *name)
{
	const char *v = evhttp_find_header(fields, name);
	return v ? json_string(v) : NULL;
}

void
form_chat_create(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	struct evkeyvalq fields;
	json_t *chat;
	(void)rp;
	if (request_form(req, &fields, &p) != 0) {
		page_problem(req, &p);
		return;
	}
	struct chat_fields in = { .title = form_value(&fields, "title"),
	    .policy = form_value(&fields, "policy") };
	evhttp_clear_headers(&fields);
	if (chats_create(ctx, &in, &chat, &p) == 0) {
		char location[96];
		snprintf(location, sizeof location, "/chats/%s",
		    json_string_value(json_object_get(chat, "id")));
		respond_redirect(req, location);
		json_decref(chat);
	} else
		render_index(req, ctx, p.status, p.detail);
	json_decref(in.title);
	json_decref(in.policy);
}

void
form_message_post(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	struct evkeyvalq fields;
	json_t *message;
	if (request_form(req, &fields, &p) != 0) {
		page_problem(req, &p);
		return;
	}
	json_t *author = form_value(&fields, "author"), *body = form_value(&fields, "body");
	evhttp_clear_headers(&fields);
	if (chats_post(ctx, rp->seg[0], author, body, &message, &p) != 0)
		page_problem(req, &p);
	else if (request_is_htmx(req)) {
		/* the message reaches this tab through its stream; clear any error */
		struct buf empty = BUF_INIT;
		respond_html(req, 200, &empty);
		json_decref(message);
	} else {
		char location[96];
		snprintf(location, sizeof location, "/chats/%s", rp->seg[0]);
		respond_redirect(req, location);
		json_decref(message);
	}
	json_decref(author);
	json_decref(body);
}

void
form_chat_stop(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	if (chats_stop(ctx, rp->seg[0], &p) != 0)
		page_problem(req, &p);
	else if (request_is_htmx(req))
		respond_empty(req, 204);
	else {
		char location[96];
		snprintf(location, sizeof location, "/chats/%s", rp->seg[0]);
		respond_redirect(req, location);
	}
}
