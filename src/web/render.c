/*
 * render.c - event to frame, per stream kind; see render.h.
 */
#include "web/render.h"
#include "sse/frame.h"
#include "util/buf.h"
#include "util/json_wire.h"
#include "web/fragments.h"

#include <stdlib.h>
#include <string.h>

static struct frame *
json_event_frame(uint64_t id, const char *name, json_t *data)
{
	char *text = json_dumps(data, JSON_WIRE);
	struct frame *f = sse_frame_event(id > 0, id, name, text, strlen(text));
	free(text);
	return f;
}

/* scope: the chat, on a stream of several chats (NULL on a chat's own stream). */
static struct frame *
html_event_frame(const char *scope, uint64_t id, const char *name, json_t *data)
{
	struct buf event = BUF_INIT, html = BUF_INIT;
	struct frame *f = NULL;

	if (fragment_for_event(name, data, &event, &html) == 0)
		f = sse_frame_scoped(scope, id > 0, id, event.data, html.data ? html.data : "",
		    html.len);
	buf_free(&event);
	buf_free(&html);
	return f;
}

struct frame *
render_event_frame(enum stream_kind kind, const char *chat_id, uint64_t id, const char *name,
    json_t *data)
{
	switch (kind) {
	case STREAM_JSON:
		return json_event_frame(id, name, data);
	case STREAM_HTML:
		return html_event_frame(NULL, id, name, data);
	case STREAM_MUX:
		break;
	}
	return html_event_frame(chat_id, id, name, data);
}
