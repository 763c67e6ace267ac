/*
 * member_pages.h - a chat's members page (/chats/ID/members: the list,
 * adding, removing, leaving, invite links) and joining through an invite
 * link (/join/TOKEN, open to all, moves the token into a cookie; /join
 * asks to confirm; its POST joins). Routed by api/routes.c.
 */
#ifndef PARLEY_MEMBER_PAGES_H
#define PARLEY_MEMBER_PAGES_H

struct exchange;

void	 page_members(struct exchange *x, void *ctx);
void	 form_member_add(struct exchange *x, void *ctx);
void	 form_member_remove(struct exchange *x, void *ctx);
void	 form_invite(struct exchange *x, void *ctx);
void	 page_join_link(struct exchange *x, void *ctx);
/* Confirms the link's invite at once (a signed-in person); anyone else is sent to sign in. */
void	 form_join_link(struct exchange *x, void *ctx);
void	 page_join(struct exchange *x, void *ctx);
void	 form_join(struct exchange *x, void *ctx);

#endif
