/*
 * streams.h - the event-stream routes: GET /chats/{id}/events (HTML
 * payloads) and GET /api/v1/chats/{id}/events (JSON payloads), SPEC §4; and
 * GET /events?chats=ID:N,… (a browser's one stream, shared by its tabs: the
 * HTML payloads of several chats, each event's id and name prefixed with
 * its chat). Starts each chat with a snapshot or a replay of the durable
 * events after the client's last id, then subscribes the stream.
 */
#ifndef PARLEY_STREAMS_H
#define PARLEY_STREAMS_H

#include "http/router.h"

void	 streams_json(struct exchange *x, void *ctx);
void	 streams_html(struct exchange *x, void *ctx);
void	 streams_many(struct exchange *x, void *ctx);

#endif
