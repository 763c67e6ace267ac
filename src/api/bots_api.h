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
/* POST /api/v1/bots/import: a Character Card V2, JSON or PNG (SPEC 8). */
void	 api_bots_import(struct exchange *x, void *ctx);
/* GET /api/v1/bots/{id}/card: the bot as a V2 card. */
void	 api_bot_card(struct exchange *x, void *ctx);

#endif
