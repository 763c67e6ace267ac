/*
 * streams.c - opening event streams: snapshot or replay, then live; see
 * streams.h. Everything between reading the chat and handing the stream to
 * the hub runs in one loop callback, so no event can fall between the
 * replay and the live ones. Posts waiting for their group's commit are not
 * in the chat read from the cache; reading the store commits them first,
 * and they are published before that read returns (chats.h).
 */
#include "api/streams.h"
#include "app.h"
#include "chat/turns.h"
#include "chat/chats.h"
#include "web/render.h"
#include "hub/hub.h"
#include "http/request.h"
#include "http/server.h"
#include "http/respond.h"
#include "limits.h"
#include "sse/frame.h"
#include "sse/stream.h"
#include "store/store.h"
#include "util/json_wire.h"

#include <event2/http.h>
#include <event2/http_struct.h>
#include <stdlib.h>
#include <string.h>

/*
 * The id the client has seen: Last-Event-ID, else ?after=. Returns 0 and
 * sets *after when one was given and is a number no greater than last_id.
 */
static int
resume_point(struct evhttp_request *req, uint64_t last_id, uint64_t *after)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Last-Event-ID");
	int rc = h != NULL ? parse_u64(h, after) : request_query_u64(req, "after", after) == 1 ? 0 : -1;
	return rc == 0 && *after <= last_id ? 0 : -1;
}

static void
add_snapshot(struct app *app, const char *chat_id, struct frame_list *out)
{
	struct problem p;
	json_t *snap;
	if (chats_snapshot(app, chat_id, LIMIT_SNAPSHOT_MESSAGES, &snap, &p) != 0)
		return;
	uint64_t id = (uint64_t)json_integer_value(json_object_get(snap, "last_event_id"));
	char *text = json_dumps(snap, JSON_WIRE);
	struct frame *f = sse_frame_event(true, id, "snapshot", text, strlen(text));
	frame_list_add(out, f);
	sse_frame_unref(f);
	free(text);
	json_decref(snap);
}

/* The durable events after `after`: from the hub's memory, else the store; -1 if gone. */
static int
add_replay(struct app *app, const char *chat_id, enum stream_kind kind, uint64_t after,
    uint64_t last_id, struct frame_list *out)
{
	if (hub_replay(app->hub, chat_id, after, last_id, kind, out) == 0)
		return 0;
	json_t *events;
	if (store_events_after(app->store, chat_id, after, &events) != STORE_OK)
		return -1;
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		struct frame *f = event_frame(kind, (uint64_t)json_integer_value(json_object_get(ev, "id")),
		    json_string_value(json_object_get(ev, "name")), json_object_get(ev, "data"));
		frame_list_add(out, f);
		sse_frame_unref(f);
	}
	json_decref(events);
	return 0;
}

/* A reply being generated goes out whole so far (no id: not a new event); tokens follow. */
static void
add_current(struct app *app, const char *chat_id, enum stream_kind kind, struct frame_list *out)
{
	json_t *current = turns_current(app->turns, chat_id);
	if (current == NULL)
		return;
	struct frame *f = event_frame(kind, 0, "message-update", current);
	frame_list_add(out, f);
	sse_frame_unref(f);
	json_decref(current);
}

static void
serve(struct evhttp_request *req, struct app *app, const char *chat_id, enum stream_kind kind)
{
	struct problem p;
	json_t *chat;
	if (app->stopping) {
		respond_error(req, 503, "the server is shutting down");
		return;
	}
	if (chats_get(app, chat_id, &chat, &p) != 0) {
		respond_problem(req, &p);
		return;
	}
	uint64_t last_id = (uint64_t)json_integer_value(json_object_get(chat, "last_event_id"));
	json_decref(chat);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* the head of a stream, and no stream */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-cache");
		respond_bytes(req, 200, "text/event-stream", "", 0);
		return;
	}

	/* what the stream starts with, as of now; later events follow it in order */
	struct frame_list initial = { NULL, 0, 0 };
	uint64_t after;
	if (resume_point(req, last_id, &after) != 0 ||
	    add_replay(app, chat_id, kind, after, last_id, &initial) != 0)
		add_snapshot(app, chat_id, &initial);
	add_current(app, chat_id, kind, &initial);

	struct sse_stream_opts opts = { .kind = kind,
	    .chunked = req->major > 1 || (req->major == 1 && req->minor >= 1),
	    .keepalive_seconds = app->cfg->keepalive_seconds,
	    .output_cap = (size_t)app->cfg->stream_buffer_kib * 1024 };
	int fd = server_take_socket(app->server, req);
	if (fd >= 0)
		hub_attach(app->hub, chat_id, fd, &opts, &initial);
	else
		frame_list_free(&initial);
}

void
streams_json(struct evhttp_request *req, void *app, const struct route_params *p)
{
	serve(req, app, p->seg[0], STREAM_JSON);
}

void
streams_html(struct evhttp_request *req, void *app, const struct route_params *p)
{
	serve(req, app, p->seg[0], STREAM_HTML);
}
