/*
 * pages.h - the server-rendered chat pages: the chat list, a chat, and the
 * forms that post to them. Form posts go through chats.h like the API.
 * Errors answer with a readable page, or a fragment for htmx requests.
 */
#ifndef PARLEY_PAGES_H
#define PARLEY_PAGES_H

#include "http/router.h"

void	 page_index(struct evhttp_request *req, void *app, const struct route_params *p);
void	 page_chat(struct evhttp_request *req, void *app, const struct route_params *p);
void	 form_chat_create(struct evhttp_request *req, void *app, const struct route_params *p);
void	 form_chat_settings(struct evhttp_request *req, void *app, const struct route_params *p);
void	 form_message_post(struct evhttp_request *req, void *app, const struct route_params *p);
void	 form_chat_stop(struct evhttp_request *req, void *app, const struct route_params *p);

#endif
