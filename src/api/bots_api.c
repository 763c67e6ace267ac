/*
 * bots_api.c - JSON adapters for bots; see bots_api.h.
 */
#include "api/bots_api.h"
#include "api/handlers.h"
#include "chat/bots.h"
#include "http/exchange.h"
#include "http/respond.h"
#include "util/problem.h"

void
api_bots_list(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *bots;
	if (bots_list(h->bots, &bots, &p) != 0)
		respond_problem(x, &p);
	else
		respond_json(x, 200, json_pack("{s:o}", "bots", bots));
}

void
api_bots_create(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *bot, *body = exchange_json(x, &p);
	if (body == NULL || bots_create(h->bots, exchange_who(x), body, &bot, &p) != 0)
		respond_problem(x, &p);
	else
		respond_json(x, 201, bot);
	json_decref(body);
}

void
api_bot_get(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *bot;
	if (bots_get(h->bots, exchange_param(x, 0), &bot, &p) != 0)
		respond_problem(x, &p);
	else
		respond_json(x, 200, bot);
}

void
api_bot_patch(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *bot, *body;
	if (bots_get(h->bots, exchange_param(x, 0), &bot, &p) != 0) {
		respond_problem(x, &p);
		return;
	}
	json_decref(bot);
	if ((body = exchange_json(x, &p)) == NULL ||
	    bots_update(h->bots, exchange_who(x), exchange_param(x, 0), body, &bot, &p) != 0)
		respond_problem(x, &p);
	else
		respond_json(x, 200, bot);
	json_decref(body);
}

void
api_bot_delete(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	if (bots_delete(h->bots, exchange_who(x), exchange_param(x, 0), &p) != 0)
		respond_problem(x, &p);
	else
		respond_empty(x, 204);
}
