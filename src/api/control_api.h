/*
 * control_api.h - the JSON routes of conversation control (SPEC 8):
 * /api/v1/chats/{id}/messages/{seq} and its regenerate, continue and
 * alternative; and /api/v1/chats/{id}/typing (SPEC 9). Thin adapters over
 * chat/control.h and chat/presence.h; context: struct handlers.
 */
#ifndef PARLEY_CONTROL_API_H
#define PARLEY_CONTROL_API_H

#include "http/router.h"

void	 api_message_patch(struct exchange *x, void *ctx);
void	 api_message_delete(struct exchange *x, void *ctx);
void	 api_message_regenerate(struct exchange *x, void *ctx);
void	 api_message_continue(struct exchange *x, void *ctx);
void	 api_message_alternative(struct exchange *x, void *ctx);
void	 api_chat_typing(struct exchange *x, void *ctx);

#endif
