/*
 * event_frame.h - turns a chat event (name + JSON data) into the SSE frame a
 * stream of a given kind sends: the JSON text for program streams, the
 * rendered HTML fragment (and HTML event name) for page streams. Used by the
 * hub for live events and by the stream route for replays, so both send the
 * same bytes. Pure.
 */
#ifndef PARLEY_EVENT_FRAME_H
#define PARLEY_EVENT_FRAME_H
#include <jansson.h>
#include <stdint.h>

#include "sse/stream.h"

struct frame;

/* Returns a frame with one reference, or NULL when the kind carries no such event. */
struct frame	*event_frame(enum stream_kind kind, uint64_t id, const char *name,
		    json_t *data);

#endif
