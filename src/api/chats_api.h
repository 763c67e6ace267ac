/*
 * chats_api.h - the JSON routes for chats and messages (SPEC §3), and the
 * service routes /healthz and /metrics. Thin adapters over chats.h; the
 * route table (routes.c) points at them. Context: struct handlers (handlers.h).
 */
#ifndef PARLEY_CHATS_API_H
#define PARLEY_CHATS_API_H

#include "http/router.h"

void	 api_chats_list(struct exchange *x, void *ctx);
void	 api_chats_create(struct exchange *x, void *ctx);
void	 api_chat_get(struct exchange *x, void *ctx);
void	 api_chat_patch(struct exchange *x, void *ctx);
void	 api_chat_delete(struct exchange *x, void *ctx);
void	 api_messages_list(struct exchange *x, void *ctx);
void	 api_messages_post(struct exchange *x, void *ctx);
void	 api_chat_turn(struct exchange *x, void *ctx);
void	 api_chat_stop(struct exchange *x, void *ctx);
void	 api_chat_read(struct exchange *x, void *ctx);
void	 api_healthz(struct exchange *x, void *ctx);
void	 api_metrics(struct exchange *x, void *ctx);

#endif
