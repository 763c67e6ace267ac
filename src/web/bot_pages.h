/*
 * bot_pages.h - the bots page: every bot with a form to change or delete
 * it, and a form to create one. Posts go through bots.h like the API.
 */
#ifndef PARLEY_BOT_PAGES_H
#define PARLEY_BOT_PAGES_H

#include "http/router.h"

void	 page_bots(struct evhttp_request *req, void *app, const struct route_params *p);
void	 form_bot_create(struct evhttp_request *req, void *app, const struct route_params *p);
void	 form_bot_update(struct evhttp_request *req, void *app, const struct route_params *p);
void	 form_bot_delete(struct evhttp_request *req, void *app, const struct route_params *p);

#endif
