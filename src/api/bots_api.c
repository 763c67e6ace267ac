/*
 * bots_api.c - JSON adapters for bots; see bots_api.h.
 */
#include "api/bots_api.h"
#include "app.h"
#include "chat/bots.h"
#include "http/request.h"
#include "http/respond.h"
#include "store/store.h"

void
api_bots_list(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct app *app = ctx;
	(void)rp;
	json_t *bots = store_bot_list(app->store);
	if (bots == NULL)
		respond_error(req, 500, "the database failed; try again");
	else
		respond_json(req, 200, json_pack("{s:o}", "bots", bots));
}

void
api_bots_create(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	json_t *bot, *body = request_json_object(req, &p);
	(void)rp;
	if (body == NULL || bots_create(ctx, body, &bot, &p) != 0)
		respond_problem(req, &p);
	else
		respond_json(req, 201, bot);
	json_decref(body);
}

void
api_bot_get(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	json_t *bot;
	if (bots_get(ctx, rp->seg[0], &bot, &p) != 0)
		respond_problem(req, &p);
	else
		respond_json(req, 200, bot);
}

void
api_bot_patch(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	json_t *bot, *body;
	if (bots_get(ctx, rp->seg[0], &bot, &p) != 0) {
		respond_problem(req, &p);
		return;
	}
	json_decref(bot);
	if ((body = request_json_object(req, &p)) == NULL ||
	    bots_update(ctx, rp->seg[0], body, &bot, &p) != 0)
		respond_problem(req, &p);
	else
		respond_json(req, 200, bot);
	json_decref(body);
}

void
api_bot_delete(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	if (bots_delete(ctx, rp->seg[0], &p) != 0)
		respond_problem(req, &p);
	else
		respond_empty(req, 204);
}
