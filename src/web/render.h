/*
 * render.h - a chat event (name + JSON data) as the SSE frame a stream of a
 * given kind sends: the JSON text for program streams, the rendered HTML
 * fragment (and HTML event name) for page streams, the same with the chat
 * in the id and the event name for a browser's shared stream. main() gives
 * it to the hub, which frames live events and replays with it, so both
 * send the same bytes. Pure.
 */
#ifndef PARLEY_RENDER_H
#define PARLEY_RENDER_H
#include <jansson.h>
#include <stdint.h>

#include "sse/stream.h"

struct frame;

/* A frame with one reference (id 0: no id line), or NULL when the kind carries no such event. */
struct frame	*render_event_frame(enum stream_kind kind, const char *chat_id, uint64_t id,
		    const char *name, json_t *data);

#endif
