/*
 * account_pages.h - the pages of one's own access (SPEC section 7):
 * signing in (/login) and out (/logout), creating the first administrator
 * from the setup link (/setup), and one's account (/account: display name,
 * password, API tokens). Routed by api/routes.c; /login and /setup are
 * open to all.
 */
#ifndef PARLEY_ACCOUNT_PAGES_H
#define PARLEY_ACCOUNT_PAGES_H

struct exchange;

void	 page_login(struct exchange *x, void *ctx);
void	 form_login(struct exchange *x, void *ctx);
void	 form_logout(struct exchange *x, void *ctx);
void	 page_setup(struct exchange *x, void *ctx);
void	 form_setup(struct exchange *x, void *ctx);
void	 page_account(struct exchange *x, void *ctx);
void	 form_account(struct exchange *x, void *ctx);
void	 form_password(struct exchange *x, void *ctx);
void	 form_token_create(struct exchange *x, void *ctx);
void	 form_token_delete(struct exchange *x, void *ctx);

#endif
