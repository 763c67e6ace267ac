/*
 * bot_pages.h - the bots page: every bot with a form to change or delete
 * it, and a form to create one. Posts go through bots.h like the API.
 */
#ifndef PARLEY_BOT_PAGES_H
#define PARLEY_BOT_PAGES_H

#include "http/router.h"

void	 page_bots(struct exchange *x, void *ctx);
void	 form_bot_create(struct exchange *x, void *ctx);
void	 form_bot_update(struct exchange *x, void *ctx);
void	 form_bot_delete(struct exchange *x, void *ctx);

#endif
