/*
 * routes.c - the route table; see routes.h. Before every handler, access.c
 * checks the host, the body's type, who asks and where from; a route marked
 * OPEN is answered without signing in. Errors the router itself finds (404,
 * 405) are JSON for programs' paths and HTML on page paths.
 */
#include "api/routes.h"
#include "api/access.h"
#include "api/accounts_api.h"
#include "api/bots_api.h"
#include "api/chats_api.h"
#include "api/control_api.h"
#include "api/handlers.h"
#include "api/streams.h"
#include "chat/chats.h"
#include "http/exchange.h"
#include "http/respond.h"
#include "hub/hub.h"
#include "web/account_pages.h"
#include "web/assets.h"
#include "web/bot_pages.h"
#include "web/layout.h"
#include "web/member_pages.h"
#include "web/pages.h"
#include "web/user_pages.h"

#include <string.h>

#define GET	HTTP_GET
#define POST	HTTP_POST
#define PATCH	HTTP_PATCH
#define PUT	HTTP_PUT
#define DELETE	HTTP_DELETE

#define OPEN	ROUTE_OPEN	/* anyone */
#define SIGNED	0		/* who must be known */
#define AT_ONCE	(ROUTE_OPEN | ROUTE_AT_ONCE)	/* anyone, even while the services wait */

static const struct route table[] = {
	{ "/",				{ { GET, page_index } }, SIGNED },
	{ "/healthz",			{ { GET, api_healthz } }, AT_ONCE },
	{ "/metrics",			{ { GET, api_metrics } }, AT_ONCE },
	{ "/static/*",			{ { GET, assets_serve } }, AT_ONCE },
	{ "/chats",			{ { POST, form_chat_create } }, SIGNED },
	{ "/chats/*",			{ { GET, page_chat } }, SIGNED },
	{ "/chats/*/messages",		{ { GET, page_chat_earlier }, { POST, form_message_post } },
	    SIGNED },
	{ "/chats/*/stop",		{ { POST, form_chat_stop } }, SIGNED },
	{ "/chats/*/read",		{ { POST, form_chat_read } }, SIGNED },
	{ "/chats/*/turn",		{ { POST, form_chat_turn } }, SIGNED },
	{ "/chats/*/delete",		{ { POST, form_chat_delete } }, SIGNED },
	{ "/chats/*/settings",		{ { POST, form_chat_settings } }, SIGNED },
	{ "/bots",			{ { GET, page_bots }, { POST, form_bot_create } }, SIGNED },
	{ "/bots/*",			{ { POST, form_bot_update } }, SIGNED },
	{ "/bots/*/delete",		{ { POST, form_bot_delete } }, SIGNED },
	{ "/chats/*/events",		{ { GET, streams_html } }, SIGNED },
	{ "/events",			{ { GET, streams_many } }, SIGNED },
	{ "/chats/*/members",		{ { GET, page_members }, { POST, form_member_add } },
					  SIGNED },
	{ "/chats/*/members/*/delete",	{ { POST, form_member_remove } }, SIGNED },
	{ "/chats/*/invites",		{ { POST, form_invite } }, SIGNED },
	{ "/join/*",			{ { GET, page_join_link }, { POST, form_join_link } },
					  OPEN },
	{ "/join",			{ { GET, page_join }, { POST, form_join } }, SIGNED },
	{ "/login",			{ { GET, page_login }, { POST, form_login } }, OPEN },
	{ "/logout",			{ { POST, form_logout } }, SIGNED },
	{ "/setup",			{ { GET, page_setup }, { POST, form_setup } }, OPEN },
	{ "/account",			{ { GET, page_account }, { POST, form_account } }, SIGNED },
	{ "/account/password",		{ { POST, form_password } }, SIGNED },
	{ "/account/tokens",		{ { POST, form_token_create } }, SIGNED },
	{ "/account/tokens/*/delete",	{ { POST, form_token_delete } }, SIGNED },
	{ "/admin/users",		{ { GET, page_users }, { POST, form_user_create } }, SIGNED },
	{ "/admin/users/*",		{ { POST, form_user_update } }, SIGNED },
	{ "/admin/users/*/delete",	{ { POST, form_user_delete } }, SIGNED },
	{ "/api/v1/session",		{ { POST, api_session_create },
					  { DELETE, api_session_delete } }, OPEN },
	{ "/api/v1/setup",		{ { POST, api_setup } }, OPEN },
	{ "/api/v1/me",			{ { GET, api_me } }, SIGNED },
	{ "/api/v1/users",		{ { GET, api_users_list }, { POST, api_users_create } },
					  SIGNED },
	{ "/api/v1/users/*",		{ { PATCH, api_user_patch }, { DELETE, api_user_delete } },
					  SIGNED },
	{ "/api/v1/tokens",		{ { GET, api_tokens_list }, { POST, api_tokens_create } },
					  SIGNED },
	{ "/api/v1/tokens/*",		{ { DELETE, api_token_delete } }, SIGNED },
	{ "/api/v1/chats",		{ { GET, api_chats_list }, { POST, api_chats_create } },
					  SIGNED },
	{ "/api/v1/chats/*",		{ { GET, api_chat_get }, { PATCH, api_chat_patch },
					  { DELETE, api_chat_delete } }, SIGNED },
	{ "/api/v1/chats/*/messages",	{ { GET, api_messages_list }, { POST, api_messages_post } },
					  SIGNED },
	{ "/api/v1/chats/*/messages/*",	{ { PATCH, api_message_patch },
					  { DELETE, api_message_delete } }, SIGNED },
	{ "/api/v1/chats/*/messages/*/regenerate", { { POST, api_message_regenerate } }, SIGNED },
	{ "/api/v1/chats/*/messages/*/continue", { { POST, api_message_continue } }, SIGNED },
	{ "/api/v1/chats/*/messages/*/alternative", { { PUT, api_message_alternative } },
					  SIGNED },
	{ "/api/v1/chats/*/typing",	{ { POST, api_chat_typing } }, SIGNED },
	{ "/api/v1/chats/*/turn",	{ { POST, api_chat_turn } }, SIGNED },
	{ "/api/v1/chats/*/stop",	{ { POST, api_chat_stop } }, SIGNED },
	{ "/api/v1/chats/*/read",	{ { POST, api_chat_read } }, SIGNED },
	{ "/api/v1/chats/*/events",	{ { GET, streams_json } }, SIGNED },
	{ "/api/v1/chats/*/members",	{ { GET, api_members_list }, { POST, api_members_add } },
					  SIGNED },
	{ "/api/v1/chats/*/members/*",	{ { DELETE, api_member_remove } }, SIGNED },
	{ "/api/v1/chats/*/invites",	{ { POST, api_invites_create } }, SIGNED },
	{ "/api/v1/bots",		{ { GET, api_bots_list }, { POST, api_bots_create } },
					  SIGNED },
	{ "/api/v1/bots/import",	{ { POST, api_bots_import } }, SIGNED },
	{ "/api/v1/bots/*/card",	{ { GET, api_bot_card } }, SIGNED },
	{ "/api/v1/bots/*",		{ { GET, api_bot_get }, { PATCH, api_bot_patch },
					  { DELETE, api_bot_delete } }, SIGNED },
};

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
	    .count = sizeof table / sizeof table[0], .ctx = h, .refuse = access_refuse_route,
	    .guard = access_check, .behind = behind };
}
