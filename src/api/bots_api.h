/*
 * bots_api.h - the JSON routes for bots (SPEC §3): list, create, get,
 * change, delete. Thin adapters over bots.h. Context: struct app.
 */
#ifndef PARLEY_BOTS_API_H
#define PARLEY_BOTS_API_H

#include "http/router.h"

void	 api_bots_list(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_bots_create(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_bot_get(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_bot_patch(struct evhttp_request *req, void *app, const struct route_params *p);
void	 api_bot_delete(struct evhttp_request *req, void *app, const struct route_params *p);

#endif
