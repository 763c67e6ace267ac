/*
 * control_api.c - JSON adapters for conversation control; see control_api.h.
 */
#include "api/control_api.h"
#include "api/handlers.h"
#include "chat/control.h"
#include "http/exchange.h"
#include "http/respond.h"
#include "util/problem.h"
#include "util/text.h"

/* The {seq} of the path; false (and a 404 answered) when it is not a number. */
static bool
path_seq(struct exchange *x, uint64_t *seq)
{
	if (text_parse_u64(exchange_param(x, 1), seq) == 0 && *seq > 0)
		return true;
	respond_error(x, 404, "message not found");
	return false;
}

void
api_message_patch(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	uint64_t seq;
	json_t *msg = NULL, *body;
	if (!path_seq(x, &seq))
		return;
	if ((body = exchange_json(x, &p)) == NULL) {
		respond_problem(x, &p);
		return;
	}
	int rc = control_edit(h->control, exchange_who(x), exchange_param(x, 0), seq,
	    json_object_get(body, "body"), &msg, &p);
	respond_result(x, rc, 200, msg, &p);
	json_decref(body);
}

void
api_message_delete(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	uint64_t seq;
	if (!path_seq(x, &seq))
		return;
	if (control_delete(h->control, exchange_who(x), exchange_param(x, 0), seq, &p) != 0)
		respond_problem(x, &p);
	else
		respond_empty(x, 204);
}

static void
redo(struct exchange *x, struct handlers *h, bool fresh)
{
	struct problem p;
	uint64_t seq;
	if (!path_seq(x, &seq))
		return;
	if (control_redo(h->control, exchange_who(x), exchange_param(x, 0), seq, fresh, &p) != 0)
		respond_problem(x, &p);
	else
		respond_json(x, 202, json_pack("{s:s}", "status", "queued"));
}

void
api_message_regenerate(struct exchange *x, void *ctx)
{
	redo(x, ctx, true);
}

void
api_message_continue(struct exchange *x, void *ctx)
{
	redo(x, ctx, false);
}

void
api_message_alternative(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	struct problem p;
	uint64_t seq;
	json_t *msg = NULL, *body;
	if (!path_seq(x, &seq))
		return;
	if ((body = exchange_json(x, &p)) == NULL) {
		respond_problem(x, &p);
		return;
	}
	int rc = control_pick(h->control, exchange_who(x), exchange_param(x, 0), seq,
	    json_object_get(body, "index"), &msg, &p);
	respond_result(x, rc, 200, msg, &p);
	json_decref(body);
}
