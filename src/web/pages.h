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
void	 page_chat_earlier(struct exchange *x, void *ctx);
void	 form_chat_create(struct exchange *x, void *ctx);
void	 form_chat_settings(struct exchange *x, void *ctx);
void	 form_message_post(struct exchange *x, void *ctx);
void	 form_chat_stop(struct exchange *x, void *ctx);
/* POST /chats/{id}/turn (form bot): the bot speaks next. */
void	 form_chat_turn(struct exchange *x, void *ctx);
/* POST /chats/{id}/delete (form confirm=yes): deletes the chat, then to the list. */
void	 form_chat_delete(struct exchange *x, void *ctx);
/* POST /chats/{id}/read (form seq): who has read the chat up to seq; 204. */
void	 form_chat_read(struct exchange *x, void *ctx);

#endif
