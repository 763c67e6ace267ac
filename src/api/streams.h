/*
 * streams.h - the two event-stream routes (SPEC §4): GET /chats/{id}/events
 * (HTML payloads) and GET /api/v1/chats/{id}/events (JSON payloads). Starts
 * a stream with a snapshot or a replay of the durable events after the
 * client's last id, then subscribes it to the chat's channel.
 */
#ifndef PARLEY_STREAMS_H
#define PARLEY_STREAMS_H

#include "http/router.h"

void	 streams_json(struct exchange *x, void *ctx);
void	 streams_html(struct exchange *x, void *ctx);

#endif
