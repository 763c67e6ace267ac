/*
 * bots_api.c - JSON adapters for bots; see bots_api.h.
 */
#include "api/bots_api.h"
#include "api/handlers.h"
#include "chat/bots.h"
#include "http/exchange.h"
#include "http/respond.h"
#include "util/buf.h"
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

/* The bot settings an import may give beside the card (?backend=openai&base_url=...). */
static json_t *
import_settings(struct exchange *x)
{
	static const char *const keys[] = { "backend", "base_url", "model", "api_key_env" };
	json_t *fields = json_object();
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		const char *v = exchange_query(x, keys[i]);
		if (v != NULL && *v != '\0')
			json_object_set_new(fields, keys[i], json_string(v));
	}
	return fields;
}

static void
imported(void *arg, json_t *bot, const struct problem *p)
{
	struct exchange *x = arg;
	if (bot == NULL)
		respond_problem(x, p);
	else
		respond_json(x, 201, json_incref(bot));
}

void
api_bots_import(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	size_t len;
	const char *data = exchange_body(x, &len);
	if (len == 0) {
		respond_error(x, 422, "card: send the card's JSON or PNG as the body");
		return;
	}
	json_t *fields = import_settings(x);
	bots_import(h->bots, exchange_who(x), data, len, fields, imported, x);
	json_decref(fields);
}

void
api_bot_card(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *card;
	if (bots_card(h->bots, exchange_param(x, 0), &card, &p) != 0) {
		respond_problem(x, &p);
		return;
	}
	/* saved as NAME.json (a bot's name is letters, digits, _ and -) */
	struct buf disposition = BUF_INIT;
	buf_printf(&disposition, "attachment; filename=\"%s.json\"",
	    json_string_value(json_object_get(json_object_get(card, "data"), "name")));
	exchange_add_header(x, "Content-Disposition", disposition.data);
	buf_free(&disposition);
	respond_json(x, 200, card);
}
