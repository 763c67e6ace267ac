/*
 * chats_api.h - the JSON routes for chats and messages (SPEC §3), and the
 * service routes /healthz and /metrics. Thin adapters over chats.h; the
 * route table (routes.c) points at them. Context: struct app.
 */
#ifndef PARLEY_CHATS_API_H
#define PARLEY_CHATS_API_H

#include "http/router.h"

void	 api_chats_list(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_chats_create(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_chat_get(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_chat_patch(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_chat_delete(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_messages_list(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_messages_post(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_chat_turn(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_chat_stop(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_healthz(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_metrics(struct evhttp_request *req, void *app, const struct route_params *p);

#endif
