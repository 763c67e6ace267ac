/*
 * chats_api.c - JSON adapters for chat operations; see chats_api.h.
 */
#include "api/chats_api.h"
#include "api/handlers.h"
#include "chat/chats.h"
#include "chat/who.h"
#include "http/exchange.h"
#include "http/respond.h"
#include "hub/redis_bus.h"
#include "limits.h"
#include "metrics.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/problem.h"

static struct chat_fields
chat_fields_of(json_t *body)
{
	return (struct chat_fields){ .title = json_object_get(body, "title"),
	    .policy = json_object_get(body, "policy"), .bots = json_object_get(body, "bots"),
	    .muted = json_object_get(body, "muted"),
	    .auto_rounds = json_object_get(body, "auto_rounds") };
}

void
api_chats_list(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *chats = NULL, *next = NULL;
	uint64_t limit = LIMIT_LIST_DEFAULT;
	if (exchange_query_u64(x, "limit", &limit) < 0) {
		respond_error(x, 422, "limit: must be a non-negative integer");
		return;
	}
	int rc = chats_list(h->chats, exchange_who(x), exchange_query(x, "before"),
	    limit > LIMIT_LIST_MAX ? LIMIT_LIST_MAX : (unsigned)limit, &chats, &next, &p);
	respond_result(x, rc, 200, rc == 0 ? json_pack("{s:o, s:o}", "chats", chats, "next", next) :
	    NULL, &p);
}

void
api_chats_create(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *chat = NULL, *body = exchange_json(x, &p);
	if (body == NULL) {
		respond_problem(x, &p);
		return;
	}
	struct chat_fields in = chat_fields_of(body);
	int rc = chats_create(h->chats, exchange_who(x), &in, &chat, &p);
	respond_result(x, rc, 201, chat, &p);
	json_decref(body);
}

void
api_chat_get(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *chat, *messages;
	if (chats_get(h->chats, exchange_who(x), exchange_param(x, 0), &chat, &p) != 0) {
		respond_problem(x, &p);
		return;
	}
	if (chats_recent(h->chats, exchange_param(x, 0), LIMIT_SNAPSHOT_MESSAGES, &messages,
	    &p) != 0) {
		json_decref(chat);
		respond_problem(x, &p);
		return;
	}
	json_object_set_new(chat, "messages", messages);
	respond_json(x, 200, chat);
}

void
api_chat_patch(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *chat = NULL, *body = exchange_json(x, &p);
	if (body == NULL) {
		respond_problem(x, &p);
		return;
	}
	struct chat_fields in = chat_fields_of(body);
	int rc = chats_update(h->chats, exchange_who(x), exchange_param(x, 0), &in, &chat, &p);
	respond_result(x, rc, 200, chat, &p);
	json_decref(body);
}

void
api_chat_delete(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	int rc = chats_delete(h->chats, exchange_who(x), exchange_param(x, 0), &p);
	respond_done(x, rc, &p);
}

void
api_messages_list(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *chat, *messages = NULL;
	uint64_t after = 0, limit = LIMIT_LIST_DEFAULT;

	if (chats_get(h->chats, exchange_who(x), exchange_param(x, 0), &chat, &p) != 0) {
		respond_problem(x, &p);
		return;
	}
	json_decref(chat);
	if (exchange_query_u64(x, "after", &after) < 0) {
		respond_error(x, 422, "after: must be a non-negative integer");
		return;
	}
	if (exchange_query_u64(x, "limit", &limit) < 0) {
		respond_error(x, 422, "limit: must be a non-negative integer");
		return;
	}
	limit = limit < 1 ? 1 : limit > LIMIT_LIST_MAX ? LIMIT_LIST_MAX : limit;
	int rc = chats_messages(h->chats, exchange_who(x), exchange_param(x, 0), after, (unsigned)limit,
	    &messages, &p);
	respond_result(x, rc, 200, rc == 0 ? json_pack("{s:o}", "messages", messages) : NULL, &p);
}

static void
message_posted(void *x, json_t *message, const struct problem *p)
{
	if (message != NULL)
		respond_json(x, 201, json_incref(message));
	else
		respond_problem(x, p);
}

void
api_messages_post(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *body = exchange_json(x, &p);
	if (body == NULL) {
		respond_problem(x, &p);
		return;
	}
	if (chats_post(h->chats, exchange_who(x), exchange_param(x, 0), json_object_get(body, "author"),
	    json_object_get(body, "body"), message_posted, x, &p) != 0)
		respond_problem(x, &p);
	json_decref(body);
}

void
api_chat_turn(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *chat, *body;
	if (chats_get(h->chats, exchange_who(x), exchange_param(x, 0), &chat, &p) != 0) {
		respond_problem(x, &p);
		return;
	}
	json_decref(chat);
	if ((body = exchange_json(x, &p)) == NULL ||
	    chats_turn(h->chats, exchange_who(x), exchange_param(x, 0), json_object_get(body, "bot"), &p) != 0)
		respond_problem(x, &p);
	else
		respond_json(x, 202, json_pack("{s:s}", "status", "queued"));
	json_decref(body);
}

void
api_chat_read(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	json_t *body = exchange_json(x, &p);
	int rc = body == NULL ? -1 : chats_mark_read(h->chats, exchange_who(x), exchange_param(x, 0),
	    json_object_get(body, "seq"), &p);
	respond_done(x, rc, &p);
	json_decref(body);
}

void
api_chat_stop(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	if (chats_stop(h->chats, exchange_who(x), exchange_param(x, 0), &p) != 0)
		respond_problem(x, &p);
	else
		respond_json(x, 202, json_pack("{s:s}", "status", "stopped"));
}

void
api_healthz(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	exchange_add_header(x, "X-Parley-Node", h->cfg->node);
	if (!store_available(h->store))
		respond_json(x, 503, json_pack("{s:s, s:s}", "status", "unavailable",
		    "detail", "the database cannot be used now (a SQLite file removed or"
		    " replaced, or PostgreSQL unreachable); see the server log"));
	else if (h->redis != NULL && !redis_bus_up(h->redis))
		respond_json(x, 503, json_pack("{s:s, s:s}", "status", "unavailable",
		    "detail", "Redis is unreachable: posts are kept, but other nodes hear of"
		    " them only when it is back; see the server log"));
	else
		respond_json(x, 200, json_pack("{s:s}", "status", "ok"));
}

void
api_metrics(struct exchange *x, void *ctx)
{
	struct buf out = BUF_INIT;
	(void)ctx;
	metrics_render(&out);
	respond_bytes(x, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
	buf_free(&out);
}
