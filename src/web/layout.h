/*
 * layout.h - the frame every page shares (head, top bar, assets) and the
 * readable error answer of HTML routes. Used by pages.c and bot_pages.c.
 */
#ifndef PARLEY_LAYOUT_H
#define PARLEY_LAYOUT_H

struct buf;
struct exchange;
struct problem;

/* Opens a page titled title; nav names the current section ("chats", "bots"). */
void	 page_begin(struct buf *b, const char *title, const char *nav);
void	 page_end(struct buf *b);
/* Answers an error on an HTML route: a fragment for htmx, else a page. */
void	 page_problem(struct exchange *x, const struct problem *p);
/* Answers a form post: 303 to location, or for htmx an HX-Redirect. */
void	 page_redirect(struct exchange *x, const char *location);

#endif
