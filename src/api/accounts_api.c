/*
 * accounts_api.c - JSON adapters for accounts, members and invites; see
 * accounts_api.h. Signing in answers with the User and the session cookie.
 */
#include "api/accounts_api.h"
#include "api/access.h"
#include "api/handlers.h"
#include "chat/accounts.h"
#include "chat/members.h"
#include "chat/who.h"
#include "http/exchange.h"
#include "http/origin.h"
#include "http/respond.h"
#include "util/problem.h"
#include "util/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The answer of a slow account operation: the result with status, and any new session. */
struct later {
	struct exchange		*x;
	const struct handlers	*h;
	int			 status;
};

static void
answered(void *arg, json_t *result, const char *session_id, const struct problem *p)
{
	struct later *l = arg;
	if (result == NULL)
		respond_problem(l->x, p);
	else {
		if (session_id != NULL)
			access_set_session(l->x, l->h, session_id);
		respond_json(l->x, l->status, json_incref(result));
	}
	free(l);
}

static struct later *
later(struct exchange *x, const struct handlers *h, int status)
{
	struct later *l = xmalloc(sizeof *l);
	*l = (struct later){ x, h, status };
	return l;
}

void
api_session_create(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *body = exchange_json(x, &p);
	if (body == NULL)
		respond_problem(x, &p);
	else
		accounts_sign_in(h->accounts, exchange_client_text(x, &h->cfg->trusted_proxy),
		    json_object_get(body, "name"), json_object_get(body, "password"), answered,
		    later(x, h, 200));
	json_decref(body);
}

void
api_session_delete(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	const struct who *who = exchange_who(x);
	if (who->by_token) {
		respond_error(x, 422, "a token is not a session: revoke it (DELETE /api/v1/tokens/ID)");
		return;
	}
	if (who->credential[0] != '\0' && accounts_sign_out(h->accounts, who, &p) != 0) {
		respond_problem(x, &p);
		return;
	}
	access_set_session(x, h, NULL);
	respond_empty(x, 204);
}

void
api_setup(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	char pass[SECRET_HEX + 1];
	json_t *body = exchange_json(x, &p);
	if (body == NULL) {
		respond_problem(x, &p);
		return;
	}
	secret_link_pass(json_string_value(json_object_get(body, "token")), pass);
	accounts_setup(h->accounts, pass, json_object_get(body, "name"),
	    json_object_get(body, "password"), answered, later(x, h, 201));
	json_decref(body);
}

void
api_me(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *user = NULL;
	int rc = accounts_me(h->accounts, exchange_who(x), &user, &p);
	respond_result(x, rc, 200, user, &p);
}

void
api_users_list(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *users = NULL;
	int rc = accounts_users(h->accounts, exchange_who(x), &users, &p);
	respond_result(x, rc, 200, rc == 0 ? json_pack("{s:o}", "users", users) : NULL, &p);
}

void
api_users_create(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *body = exchange_json(x, &p);
	if (body == NULL)
		respond_problem(x, &p);
	else
		accounts_user_create(h->accounts, exchange_who(x), body, answered, later(x, h, 201));
	json_decref(body);
}

void
api_user_patch(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *body = exchange_json(x, &p);
	if (body == NULL)
		respond_problem(x, &p);
	else
		accounts_user_update(h->accounts, exchange_who(x), exchange_param(x, 0), body,
		    answered, later(x, h, 200));
	json_decref(body);
}

void
api_user_delete(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	int rc = accounts_user_delete(h->accounts, exchange_who(x), exchange_param(x, 0), &p);
	respond_done(x, rc, &p);
}

void
api_tokens_list(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *tokens = NULL;
	int rc = accounts_tokens(h->accounts, exchange_who(x), &tokens, &p);
	respond_result(x, rc, 200, rc == 0 ? json_pack("{s:o}", "tokens", tokens) : NULL, &p);
}

void
api_tokens_create(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *token = NULL, *body = exchange_json(x, &p);
	int rc = body == NULL ? -1 : accounts_token_create(h->accounts, exchange_who(x),
	    json_object_get(body, "name"), &token, &p);
	respond_result(x, rc, 201, token, &p);
	json_decref(body);
}

void
api_token_delete(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	int rc = accounts_token_delete(h->accounts, exchange_who(x), exchange_param(x, 0), &p);
	respond_done(x, rc, &p);
}

/* ---------- members and invites ---------- */

void
api_members_list(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *users = NULL;
	int rc = members_list(h->members, exchange_who(x), exchange_param(x, 0), &users, &p);
	respond_result(x, rc, 200, rc == 0 ? json_pack("{s:o}", "members", users) : NULL, &p);
}

void
api_members_add(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *users = NULL, *body = exchange_json(x, &p);
	const char *chat = exchange_param(x, 0);
	int rc = body == NULL ? -1 : members_add(h->members, exchange_who(x), chat,
	    json_object_get(body, "user"), &p);
	if (rc == 0)
		rc = members_list(h->members, exchange_who(x), chat, &users, &p);
	respond_result(x, rc, 201, rc == 0 ? json_pack("{s:o}", "members", users) : NULL, &p);
	json_decref(body);
}

void
api_member_remove(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	int rc = members_remove(h->members, exchange_who(x), exchange_param(x, 0),
	    exchange_param(x, 1), &p);
	respond_done(x, rc, &p);
}

void
api_invites_create(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	char token[SECRET_LEN + 1], expires[21], base[1100], url[1200];
	json_t *body = exchange_body_length(x) > 0 ? exchange_json(x, &p) : json_object();
	int rc = body == NULL ? -1 : members_invite(h->members, exchange_who(x),
	    exchange_param(x, 0), json_object_get(body, "hours"), token, expires, &p);
	json_decref(body);
	if (rc != 0) {
		respond_problem(x, &p);
		return;
	}
	origin_base_url(h->origin, exchange_header(x, "Host"), base, sizeof base);
	snprintf(url, sizeof url, "%s/join/%s", base, token);
	respond_json(x, 201, json_pack("{s:s, s:s}", "url", url, "expires_at", expires));
	explicit_bzero(token, sizeof token);
	explicit_bzero(url, sizeof url);
}
