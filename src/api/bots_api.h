/*
 * bots_api.h - the JSON routes for bots (SPEC §3): list, create, get,
 * change, delete. Thin adapters over bots.h. Context: struct handlers (handlers.h).
 */
#ifndef PARLEY_BOTS_API_H
#define PARLEY_BOTS_API_H

#include "http/router.h"

void	 api_bots_list(struct exchange *x, void *ctx);
void	 api_bots_create(struct exchange *x, void *ctx);
void	 api_bot_get(struct exchange *x, void *ctx);
void	 api_bot_patch(struct exchange *x, void *ctx);
void	 api_bot_delete(struct exchange *x, void *ctx);

#endif
