/*
 * layout.h - the frame every page shares (head, top bar, assets) and the
 * readable error answer of HTML routes. Used by pages.c and bot_pages.c.
 */
#ifndef PARLEY_LAYOUT_H
#define PARLEY_LAYOUT_H

#include <stdbool.h>

struct buf;
struct exchange;
struct form;
struct problem;
struct who;

/*
 * Opens a page titled title for who (its top bar: the sections, and a
 * signed-in person's menu; nobody's: the name alone); nav names the current
 * section ("chats", "bots", "users", "account").
 */
void	 page_begin(struct buf *b, const struct who *who, const char *title, const char *nav);
void	 page_end(struct buf *b);
/* Why a form was refused (a problem's detail, or NULL: nothing), as a page says it. */
void	 page_error(struct buf *b, const char *detail);
/* Answers an error on an HTML route: a fragment for htmx, else a page. */
void	 page_problem(struct exchange *x, const struct problem *p);
/* Reads the posted form into f: 0, or -1 once x has been answered with why not. */
int	 page_form(struct exchange *x, struct form *f);
/*
 * Whether the posted form ticked its "confirm" box (value "yes"): true, or
 * false once x has been answered (422 asking to confirm that what is meant).
 */
bool	 page_confirmed(struct exchange *x, const char *what);
/* Answers a form post: 303 to location, or for htmx an HX-Redirect. */
void	 page_redirect(struct exchange *x, const char *location);

#endif
