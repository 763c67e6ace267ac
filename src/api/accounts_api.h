/*
 * accounts_api.h - the JSON routes of accounts (SPEC section 7): signing in
 * and out, the first administrator, oneself, users and API tokens. Thin
 * adapters over accounts.h. Context: struct handlers (handlers.h).
 */
#ifndef PARLEY_ACCOUNTS_API_H
#define PARLEY_ACCOUNTS_API_H

struct exchange;

void	 api_session_create(struct exchange *x, void *ctx);
void	 api_session_delete(struct exchange *x, void *ctx);
void	 api_setup(struct exchange *x, void *ctx);
void	 api_me(struct exchange *x, void *ctx);
void	 api_users_list(struct exchange *x, void *ctx);
void	 api_users_create(struct exchange *x, void *ctx);
void	 api_user_patch(struct exchange *x, void *ctx);
void	 api_user_delete(struct exchange *x, void *ctx);
void	 api_tokens_list(struct exchange *x, void *ctx);
void	 api_tokens_create(struct exchange *x, void *ctx);
void	 api_token_delete(struct exchange *x, void *ctx);
/* A chat's members and invites. */
void	 api_members_list(struct exchange *x, void *ctx);
void	 api_members_add(struct exchange *x, void *ctx);
void	 api_member_remove(struct exchange *x, void *ctx);
void	 api_invites_create(struct exchange *x, void *ctx);

#endif
