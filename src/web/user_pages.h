/*
 * user_pages.h - the administrators' page of users (/admin/users) and its
 * forms: add someone, set a password, make or unmake an administrator,
 * remove someone. Routed by api/routes.c.
 */
#ifndef PARLEY_USER_PAGES_H
#define PARLEY_USER_PAGES_H

struct exchange;

void	 page_users(struct exchange *x, void *ctx);
void	 form_user_create(struct exchange *x, void *ctx);
void	 form_user_update(struct exchange *x, void *ctx);
void	 form_user_delete(struct exchange *x, void *ctx);

#endif
