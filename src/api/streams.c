/*
 * streams.c - opening event streams: snapshot or replay, then live; see
 * streams.h. Everything between reading the chat and handing the stream to
 * the hub runs in one loop callback, so no event can fall between the
 * replay and the live ones: events are published on this loop, after their
 * commit, and a post not yet committed is in neither.
 */
#include "api/streams.h"
#include "api/handlers.h"
#include "chat/chats.h"
#include "chat/who.h"
#include "http/exchange.h"
#include "http/respond.h"
#include "hub/hub.h"
#include "limits.h"
#include "sse/frame.h"
#include "sse/stream.h"
#include "util/ids.h"
#include "util/json_wire.h"
#include "util/problem.h"
#include "util/text.h"

#include <stdlib.h>
#include <string.h>

/*
 * The id the client has seen: Last-Event-ID, else ?after=. Returns 0 and
 * sets *after when one was given and is a number no greater than last_id.
 */
static int
resume_point(struct exchange *x, uint64_t last_id, uint64_t *after)
{
	const char *h = exchange_header(x, "Last-Event-ID");
	int rc = h != NULL ? text_parse_u64(h, after) :
	    exchange_query_u64(x, "after", after) == 1 ? 0 : -1;
	return rc == 0 && *after <= last_id ? 0 : -1;
}

static void
add_snapshot(struct handlers *h, const char *chat_id, struct sse_frame_list *out)
{
	struct problem p;
	json_t *snap;
	if (chats_snapshot(h->chats, chat_id, LIMIT_SNAPSHOT_MESSAGES, &snap, &p) != 0)
		return;
	uint64_t id = (uint64_t)json_integer_value(json_object_get(snap, "last_event_id"));
	char *text = json_dumps(snap, JSON_WIRE);
	struct frame *f = sse_frame_event(true, id, "snapshot", text, strlen(text));
	sse_frame_list_add(out, f);
	sse_frame_unref(f);
	free(text);
	json_decref(snap);
}

/* The durable events after `after`: from the hub's memory, else the store; -1 if gone. */
static int
add_replay(struct handlers *h, const char *chat_id, enum stream_kind kind, uint64_t after,
    uint64_t last_id, struct sse_frame_list *out)
{
	if (hub_replay(h->hub, chat_id, after, last_id, kind, out) == 0)
		return 0;
	json_t *events;
	if (chats_events_after(h->chats, chat_id, after, &events) != 0)
		return -1;
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		struct frame *f = hub_frame(h->hub, kind,
		    (uint64_t)json_integer_value(json_object_get(ev, "id")),
		    json_string_value(json_object_get(ev, "name")), json_object_get(ev, "data"));
		sse_frame_list_add(out, f);
		sse_frame_unref(f);
	}
	json_decref(events);
	return 0;
}

/* A reply being generated goes out whole so far (no id: not a new event); tokens follow. */
static void
add_current(struct handlers *h, const char *chat_id, enum stream_kind kind,
    struct sse_frame_list *out)
{
	json_t *current = chats_reply_so_far(h->chats, chat_id);
	if (current == NULL)
		return;
	struct frame *f = hub_frame(h->hub, kind, 0, "message-update", current);
	sse_frame_list_add(out, f);
	sse_frame_unref(f);
	json_decref(current);
}

static void
serve(struct exchange *x, struct handlers *h, enum stream_kind kind)
{
	const char *chat_id = exchange_param(x, 0);
	struct problem p;
	json_t *chat;
	if (chats_stopping(h->chats)) {
		respond_error(x, 503, "the server is shutting down");
		return;
	}
	if (chats_get(h->chats, exchange_who(x), chat_id, &chat, &p) != 0) {
		respond_problem(x, &p);
		return;
	}
	uint64_t last_id = (uint64_t)json_integer_value(json_object_get(chat, "last_event_id"));
	json_decref(chat);
	if (exchange_method(x) == HTTP_HEAD) {
		/* the head of a stream, and no stream */
		exchange_add_header(x, "Cache-Control", "no-cache");
		respond_bytes(x, 200, "text/event-stream", "", 0);
		return;
	}

	/* what the stream starts with, as of now; later events follow it in order */
	struct sse_frame_list initial = { NULL, 0, 0 };
	uint64_t after;
	if (resume_point(x, last_id, &after) != 0 ||
	    add_replay(h, chat_id, kind, after, last_id, &initial) != 0)
		add_snapshot(h, chat_id, &initial);
	add_current(h, chat_id, kind, &initial);

	struct sse_stream_opts opts = { .kind = kind, .chunked = exchange_http11(x),
	    .keepalive_seconds = h->keepalive_seconds, .output_cap = h->stream_buffer_bytes };
	char id[ID_LEN + 1];
	struct stream_owner owner;
	const struct who *who = exchange_who(x);
	snprintf(id, sizeof id, "%s", chat_id);	/* the exchange goes with its socket */
	snprintf(owner.user_id, sizeof owner.user_id, "%s", who->user_id);
	snprintf(owner.credential, sizeof owner.credential, "%s", who->credential);
	int fd = exchange_take_socket(x);
	if (fd >= 0)
		hub_attach(h->hub, id, &owner, fd, &opts, &initial);
	else
		sse_frame_list_free(&initial);
}

void
streams_json(struct exchange *x, void *ctx)
{
	serve(x, ctx, STREAM_JSON);
}

void
streams_html(struct exchange *x, void *ctx)
{
	serve(x, ctx, STREAM_HTML);
}
