/*
 * pages.h - the server-rendered chat pages: the chat list, a chat, and the
 * forms that post to them. Form posts go through chats.h like the API.
 * Errors answer with a readable page, or a fragment for htmx requests.
 */
#ifndef PARLEY_PAGES_H
#define PARLEY_PAGES_H

#include "http/router.h"

void	 page_index(struct exchange *x, void *ctx);
void	 page_chat(struct exchange *x, void *ctx);
void	 form_chat_create(struct exchange *x, void *ctx);
void	 form_chat_settings(struct exchange *x, void *ctx);
void	 form_message_post(struct exchange *x, void *ctx);
void	 form_chat_stop(struct exchange *x, void *ctx);

#endif
