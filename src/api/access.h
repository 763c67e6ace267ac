/*
 * access.h - the checks before every handler (the route table's guard):
 * the request is for one of the server's names, a JSON route's body is
 * JSON, who asks is known (a session cookie or an API token, a trusted
 * proxy's header, or anyone with --auth none) unless the route is open to
 * all, and a request that changes something and rides on a browser's
 * ambient credentials comes from the server's own pages (not cross-site).
 * A refusal is answered in the format of the path: JSON under /api/ and for
 * streams, a page (or a redirect to /login) otherwise.
 */
#ifndef PARLEY_ACCESS_H
#define PARLEY_ACCESS_H
#include <stdbool.h>

struct exchange;
struct handlers;
struct problem;

/* True to go on (exchange_who(x) is set); false once x has been answered. */
bool	 access_check(struct exchange *x, void *handlers);
/* Answers a refusal in the format x's path calls for. */
void	 access_refuse(struct exchange *x, const struct problem *p);
/* The router's refusals (404, 405): as access_refuse, a page's with who asks in its top bar. */
void	 access_refuse_route(struct exchange *x, const struct problem *p, void *handlers);
/*
 * Sets cookie name (value NULL: clears it) for path, kept max_age seconds:
 * HttpOnly, SameSite=Lax, and Secure when the request came over https.
 */
void	 access_set_cookie(struct exchange *x, const struct handlers *h, const char *name,
	    const char *value, const char *path, int max_age);
/* The session cookie (value NULL: to clear it). */
void	 access_set_session(struct exchange *x, const struct handlers *h, const char *value);
/* The session cookie's name. */
#define ACCESS_SESSION_COOKIE "parley_session"

#endif
