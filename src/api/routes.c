/*
 * routes.c - the route table; see routes.h. Errors the router itself finds
 * (404, 405, 413, 431) are JSON on API paths and HTML on page paths (the
 * stream handlers answer their own 404 as JSON on both).
 */
#include "api/routes.h"
#include "api/bots_api.h"
#include "api/chats_api.h"
#include "api/handlers.h"
#include "api/streams.h"
#include "chat/chats.h"
#include "http/exchange.h"
#include "http/respond.h"
#include "http/origin.h"
#include "hub/hub.h"
#include "util/problem.h"
#include "web/assets.h"
#include "web/bot_pages.h"
#include "web/layout.h"
#include "web/pages.h"

#include <string.h>
#include <strings.h>

#define GET	HTTP_GET
#define POST	HTTP_POST
#define PATCH	HTTP_PATCH
#define DELETE	HTTP_DELETE

static const struct route table[] = {
	{ "/",				{ { GET, page_index } } },
	{ "/healthz",			{ { GET, api_healthz } } },
	{ "/metrics",			{ { GET, api_metrics } } },
	{ "/static/*",			{ { GET, assets_serve } } },
	{ "/chats",			{ { POST, form_chat_create } } },
	{ "/chats/*",			{ { GET, page_chat } } },
	{ "/chats/*/messages",		{ { POST, form_message_post } } },
	{ "/chats/*/stop",		{ { POST, form_chat_stop } } },
	{ "/chats/*/settings",		{ { POST, form_chat_settings } } },
	{ "/bots",			{ { GET, page_bots }, { POST, form_bot_create } } },
	{ "/bots/*",			{ { POST, form_bot_update } } },
	{ "/bots/*/delete",		{ { POST, form_bot_delete } } },
	{ "/chats/*/events",		{ { GET, streams_html } } },
	{ "/api/v1/chats",		{ { GET, api_chats_list }, { POST, api_chats_create } } },
	{ "/api/v1/chats/*",		{ { GET, api_chat_get }, { PATCH, api_chat_patch },
					  { DELETE, api_chat_delete } } },
	{ "/api/v1/chats/*/messages",	{ { GET, api_messages_list }, { POST, api_messages_post } } },
	{ "/api/v1/chats/*/turn",	{ { POST, api_chat_turn } } },
	{ "/api/v1/chats/*/stop",	{ { POST, api_chat_stop } } },
	{ "/api/v1/chats/*/events",	{ { GET, streams_json } } },
	{ "/api/v1/bots",		{ { GET, api_bots_list }, { POST, api_bots_create } } },
	{ "/api/v1/bots/*",		{ { GET, api_bot_get }, { PATCH, api_bot_patch },
					  { DELETE, api_bot_delete } } },
};

static bool
is_api(const char *path)
{
	return strncmp(path, "/api/", 5) == 0;
}

static void
refuse(struct exchange *x, const struct problem *p)
{
	const char *path = exchange_path(x);
	if (is_api(path) || strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0 ||
	    strncmp(path, "/static/", 8) == 0)
		respond_problem(x, p);
	else
		page_problem(x, p);
}

/* application/json, with or without parameters. */
static bool
is_json(const char *type)
{
	size_t n = strlen("application/json");
	return type != NULL && strncasecmp(type, "application/json", n) == 0 &&
	    (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/*
 * Before every handler: the request is for one of the server's names (not
 * a DNS-rebinding domain), and a JSON route's body is JSON (so a cross-site
 * text/plain form cannot post to the API).
 */
static bool
guard(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	if (!origin_host_allowed(h->origin, exchange_header(x, "Host")))
		problem_set(&p, 421, "this server does not answer for that host name");
	else if (is_api(exchange_path(x)) && exchange_body_length(x) > 0 &&
	    !is_json(exchange_header(x, "Content-Type")))
		problem_set(&p, 415, "the body must be JSON (Content-Type: application/json)");
	else
		return true;
	refuse(x, &p);
	return false;
}

/* Writes wait while stream threads lag (not when stopping: those get their 503). */
static bool
behind(void *ctx)
{
	struct handlers *h = ctx;
	return !chats_stopping(h->chats) && hub_behind(h->hub);
}

struct server_routes
routes_for(struct handlers *h)
{
	return (struct server_routes){ .table = table,
	    .count = sizeof table / sizeof table[0], .ctx = h, .refuse = refuse,
	    .guard = guard, .behind = behind };
}
