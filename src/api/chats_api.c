/*
 * chats_api.c - JSON adapters for chat operations; see chats_api.h.
 */
#include "api/chats_api.h"
#include "app.h"
#include "chat/chats.h"
#include "http/request.h"
#include "http/respond.h"
#include "limits.h"
#include "metrics.h"
#include "store/store.h"
#include "util/buf.h"

#include <event2/http.h>

static struct chat_fields
chat_fields_of(json_t *body)
{
	return (struct chat_fields){ .title = json_object_get(body, "title"),
	    .policy = json_object_get(body, "policy"), .bots = json_object_get(body, "bots") };
}

void
api_chats_list(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct app *app = ctx;
	(void)rp;
	json_t *chats = store_chat_list(app->store);
	if (chats == NULL)
		respond_error(req, 500, "the database failed; try again");
	else
		respond_json(req, 200, json_pack("{s:o}", "chats", chats));
}

void
api_chats_create(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	json_t *chat, *body = request_json_object(req, &p);
	(void)rp;
	if (body == NULL) {
		respond_problem(req, &p);
		return;
	}
	struct chat_fields in = chat_fields_of(body);
	if (chats_create(ctx, &in, &chat, &p) == 0)
		respond_json(req, 201, chat);
	else
		respond_problem(req, &p);
	json_decref(body);
}

void
api_chat_get(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct app *app = ctx;
	struct problem p;
	json_t *chat, *messages;
	/* messages first: reading them commits any open group, which the chat then shows */
	if (chats_recent(app, rp->seg[0], LIMIT_SNAPSHOT_MESSAGES, &messages, &p) != 0) {
		respond_problem(req, &p);
		return;
	}
	if (chats_get(app, rp->seg[0], &chat, &p) != 0) {
		json_decref(messages);
		respond_problem(req, &p);
		return;
	}
	json_object_set_new(chat, "messages", messages);
	respond_json(req, 200, chat);
}

void
api_chat_patch(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	json_t *chat, *body = request_json_object(req, &p);
	if (body == NULL) {
		respond_problem(req, &p);
		return;
	}
	struct chat_fields in = chat_fields_of(body);
	if (chats_update(ctx, rp->seg[0], &in, &chat, &p) == 0)
		respond_json(req, 200, chat);
	else
		respond_problem(req, &p);
	json_decref(body);
}

void
api_chat_delete(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	if (chats_delete(ctx, rp->seg[0], &p) == 0)
		respond_empty(req, 204);
	else
		respond_problem(req, &p);
}

void
api_messages_list(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct app *app = ctx;
	struct problem p;
	json_t *chat, *messages;
	uint64_t after = 0, limit = LIMIT_LIST_DEFAULT;

	if (chats_get(app, rp->seg[0], &chat, &p) != 0) {
		respond_problem(req, &p);
		return;
	}
	json_decref(chat);
	if (request_query_u64(req, "after", &after) < 0) {
		respond_error(req, 422, "after: must be a non-negative integer");
		return;
	}
	if (request_query_u64(req, "limit", &limit) < 0) {
		respond_error(req, 422, "limit: must be a non-negative integer");
		return;
	}
	limit = limit < 1 ? 1 : limit > LIMIT_LIST_MAX ? LIMIT_LIST_MAX : limit;
	if (store_messages_after(app->store, rp->seg[0], after, (unsigned)limit,
	    &messages) != STORE_OK) {
		respond_error(req, 500, "the database failed; try again");
		return;
	}
	respond_json(req, 200, json_pack("{s:o}", "messages", messages));
}

static void
message_posted(void *req, json_t *message, const struct problem *p)
{
	if (message != NULL)
		respond_json(req, 201, json_incref(message));
	else
		respond_problem(req, p);
}

void
api_messages_post(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	json_t *body = request_json_object(req, &p);
	if (body == NULL) {
		respond_problem(req, &p);
		return;
	}
	if (chats_post(ctx, rp->seg[0], json_object_get(body, "author"),
	    json_object_get(body, "body"), message_posted, req, &p) != 0)
		respond_problem(req, &p);
	json_decref(body);
}

void
api_chat_turn(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	json_t *chat, *body;
	if (chats_get(ctx, rp->seg[0], &chat, &p) != 0) {
		respond_problem(req, &p);
		return;
	}
	json_decref(chat);
	if ((body = request_json_object(req, &p)) == NULL ||
	    chats_turn(ctx, rp->seg[0], json_object_get(body, "bot"), &p) != 0)
		respond_problem(req, &p);
	else
		respond_json(req, 202, json_pack("{s:s}", "status", "queued"));
	json_decref(body);
}

void
api_chat_stop(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct problem p;
	if (chats_stop(ctx, rp->seg[0], &p) != 0)
		respond_problem(req, &p);
	else
		respond_json(req, 202, json_pack("{s:s}", "status", "stopped"));
}

void
api_healthz(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	(void)ctx;
	(void)rp;
	respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void
api_metrics(struct evhttp_request *req, void *ctx, const struct route_params *rp)
{
	struct buf out = BUF_INIT;
	(void)ctx;
	(void)rp;
	metrics_render(&out);
	respond_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
	buf_free(&out);
}
