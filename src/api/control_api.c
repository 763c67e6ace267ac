/*
 * control_api.c - JSON adapters for conversation control; see control_api.h.
 */
#include "api/control_api.h"
#include "api/handlers.h"
#include "chat/chats.h"
#include "chat/control.h"
#include "chat/presence.h"
#include "chat/validate.h"
#include "chat/who.h"
#include "limits.h"
#include "http/exchange.h"
#include "http/respond.h"
#include "util/problem.h"
#include "util/text.h"

#include <stdlib.h>

/* The {seq} of the path; false (and a 404 answered) when it is not a number. */
static bool
path_seq(struct exchange *x, uint64_t *seq)
{
	if (text_parse_u64(exchange_param(x, 1), seq) == 0 && *seq > 0)
		return true;
	respond_error(x, 404, "message not found");
	return false;
}

/* A change of message seq given by one field of the body: edit, pick. */
typedef int control_change_fn(struct control *k, const struct who *who, const char *chat_id,
    uint64_t seq, json_t *value, json_t **message, struct problem *p);

/* Answers 200 with the Message as changed by change(field's value), or the problem. */
static void
change_message(struct exchange *x, struct handlers *h, const char *field,
    control_change_fn *change)
{
	struct problem p;
	uint64_t seq;
	json_t *msg = NULL, *body;
	if (!path_seq(x, &seq))
		return;
	if ((body = exchange_json(x, &p)) == NULL) {
		respond_problem(x, &p);
		return;
	}
	int rc = change(h->control, exchange_who(x), exchange_param(x, 0), seq,
	    json_object_get(body, field), &msg, &p);
	respond_result(x, rc, 200, msg, &p);
	json_decref(body);
}

void
api_message_patch(struct exchange *x, void *ctx)
{
	change_message(x, ctx, "body", control_edit);
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
	change_message(x, ctx, "index", control_pick);
}

/*
 * Someone is typing: passed on to the chat at most once a second per
 * person; 204 either way. Without accounts the body names the person.
 */
void
api_chat_typing(struct exchange *x, void *ctx)
{
	struct handlers *h = ctx;
	const struct who *who = exchange_who(x);
	struct problem p;
	json_t *chat, *body = exchange_body_length(x) > 0 ? exchange_json(x, &p) : json_object();
	if (body == NULL || chats_get(h->chats, who, exchange_param(x, 0), &chat, &p) != 0) {
		respond_problem(x, &p);
		json_decref(body);
		return;
	}
	json_decref(chat);
	char *name = who->anyone ? validate_text(json_object_get(body, "name"), "name",
	    LIMIT_AUTHOR_CHARS, &p) : NULL;
	if (who->anyone && name == NULL)
		respond_problem(x, &p);
	else {
		presence_typing(h->presence, exchange_param(x, 0), who->anyone ? NULL : who->user_id,
		    who->anyone ? name : who->display_name);
		respond_empty(x, 204);
	}
	free(name);
	json_decref(body);
}
