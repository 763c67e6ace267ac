/*
 * access.c - who may ask what; see access.h.
 */
#include "api/access.h"
#include "api/handlers.h"
#include "chat/accounts.h"
#include "chat/who.h"
#include "http/exchange.h"
#include "http/origin.h"
#include "http/wire.h"
#include "http/respond.h"
#include "hub/hub.h"
#include "util/buf.h"
#include "util/cidr.h"
#include "util/problem.h"
#include "web/layout.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SESSION_COOKIE		ACCESS_SESSION_COOKIE
#define COOKIE_MAX_AGE		(400 * 86400)	/* the longest a browser keeps one */

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Programs' paths: the JSON API, streams, health, metrics and static files. */
static bool
for_programs(const char *path)
{
	size_t n = strlen(path);
	return starts(path, "/api/") || strcmp(path, "/healthz") == 0 ||
	    strcmp(path, "/events") == 0 ||
	    strcmp(path, "/metrics") == 0 || starts(path, "/static/") ||
	    (n > 7 && strcmp(path + n - 7, "/events") == 0);
}

void
access_refuse(struct exchange *x, const struct problem *p)
{
	if (for_programs(exchange_path(x)))
		respond_problem(x, p);
	else
		page_problem(x, p);
}

static bool
refuse(struct exchange *x, int status, const char *detail)
{
	struct problem p;
	problem_set(&p, status, "%s", detail);
	access_refuse(x, &p);
	return false;
}

static bool
trusted_peer(struct exchange *x, const struct handlers *h)
{
	const struct sockaddr *peer = exchange_peer(x);
	return peer != NULL && cidr_list_match(&h->cfg->trusted_proxy, peer);
}

/* Who asks, when their credential holds; false when nobody is known. */
static bool
identify(struct exchange *x, const struct handlers *h, struct who *who)
{
	const char *auth, *name;
	switch (h->cfg->auth) {
	case AUTH_NONE:
		accounts_anyone(who);
		return true;
	case AUTH_PROXY:
		/* twice: a proxy that adds its header to the client's rather than replacing it */
		name = exchange_header_once(x, h->cfg->auth_header);
		return name != NULL && trusted_peer(x, h) &&
		    accounts_by_proxy(h->accounts, name, who) == 0;
	case AUTH_ACCOUNTS:
		break;
	}
	auth = exchange_header(x, "Authorization");
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
		return accounts_by_token(h->accounts, auth + 7, who) == 0;
	return accounts_by_session(h->accounts, exchange_cookie(x, SESSION_COOKIE), who) == 0;
}

/*
 * A request that changes something and is not what the server's own pages
 * send: a browser says where it comes from (Sec-Fetch-Site, else Origin);
 * without either it is a program, refused only when a browser's ambient
 * credential (a session cookie, a proxy's sign-in) is what vouches for it.
 */
static bool
cross_site(struct exchange *x, const struct handlers *h, const struct who *who, bool known)
{
	enum http_method m = exchange_method(x);
	if (m == HTTP_GET || m == HTTP_HEAD || who->by_token)
		return false;
	const char *site = exchange_header(x, "Sec-Fetch-Site");
	if (site != NULL)
		return strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0;
	const char *origin = exchange_header(x, "Origin");
	if (origin != NULL)
		return !origin_same(h->origin, origin, exchange_header(x, "Host"));
	return known && h->cfg->auth != AUTH_NONE;
}

void
access_refuse_route(struct exchange *x, const struct problem *p, void *handlers)
{
	const struct handlers *h = handlers;
	struct who who;
	memset(&who, 0, sizeof who);
	if (!for_programs(exchange_path(x)) &&
	    origin_host_allowed(h->origin, exchange_header(x, "Host")) && identify(x, h, &who))
		exchange_set_who(x, &who);
	access_refuse(x, p);
}

/*
 * The path of the page a background (htmx) request came from, to come back
 * to after signing in: HX-Current-URL's, without its query; else fallback
 * (the request's own path may be a fragment's or take only POST).
 */
static const char *
page_path(const char *url, const char *fallback, char *path, size_t size)
{
	const char *rest = url ? strstr(url, "://") : NULL;
	const char *slash = rest ? strchr(rest + 3, '/') : NULL;
	size_t n = slash ? strcspn(slash, "?#") : 0;
	if (n == 0 || n >= size)
		return fallback;
	memcpy(path, slash, n);
	path[n] = '\0';
	return path;
}

/* Pages send people to sign in and come back; programs are told to. */
static bool
ask_to_sign_in(struct exchange *x)
{
	const char *path = exchange_path(x);
	if (for_programs(path))
		return refuse(x, 401, "sign in");
	bool htmx = exchange_is_htmx(x);
	char page[512];
	const char *back = htmx ? page_path(exchange_header(x, "HX-Current-URL"), "/", page,
	    sizeof page) : path;
	struct buf to = BUF_INIT;
	buf_adds(&to, "/login?next=");
	for (const char *c = back; *c; c++)
		if (strchr("/-_.~", *c) || (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
		    (*c >= 'A' && *c <= 'Z'))
			buf_addc(&to, *c);
		else
			buf_printf(&to, "%%%02X", (unsigned char)*c);
	if (htmx) {
		/* a page's background request: the whole page goes (a redirect would land in it) */
		exchange_add_header(x, "HX-Redirect", to.data);
		refuse(x, 401, "sign in");
	} else {
		respond_redirect(x, to.data);
	}
	buf_free(&to);
	return false;
}

bool
access_check(struct exchange *x, void *handlers)
{
	const struct handlers *h = handlers;
	const char *path = exchange_path(x);
	struct who who;
	memset(&who, 0, sizeof who);
	char target[320];	/* a target in absolute form names the host too (RFC 9112 3.2.2) */
	const char *authority = exchange_target_host(x, target, sizeof target);
	if (!origin_host_allowed(h->origin, exchange_header(x, "Host")) ||
	    (authority != NULL && !origin_host_allowed(h->origin, authority)))
		return refuse(x, 421, "this server does not answer for that host name");
	if (!exchange_query_valid(x))
		return refuse(x, 400, "malformed query string (pairs of name=value, UTF-8)");
	const char *type = exchange_header_once(x, "Content-Type");	/* twice: none */
	if (starts(path, "/api/") && exchange_body_length(x) > 0 &&
	    !http_type_is(type, "application/json") &&	/* a card may be a PNG */
	    !(strcmp(path, WIRE_UPLOAD_PATH) == 0 && http_type_is(type, "image/png")))
		return refuse(x, 415, strcmp(path, WIRE_UPLOAD_PATH) == 0 ?
		    "the body must be a card: JSON (application/json) or PNG (image/png)" :
		    "the body must be JSON (Content-Type: application/json)");
	/* ends of streams from here on may concern a stream this request opens */
	uint64_t ends_mark = hub_ends(h->hub);
	/* a route answered at once never waits for the store that knows who asks */
	bool known = !(exchange_route_flags(x) & ROUTE_AT_ONCE) && identify(x, h, &who);
	who.ends_mark = ends_mark;
	if (!known && !(exchange_route_flags(x) & ROUTE_OPEN))
		return ask_to_sign_in(x);
	if (cross_site(x, h, &who, known))
		return refuse(x, 403, "cross-site request refused");
	if (strcmp(path, "/metrics") == 0 && h->cfg->auth != AUTH_NONE && !trusted_peer(x, h))
		return refuse(x, 403, "metrics are for the addresses of --trusted-proxy");
	if (known)
		exchange_set_who(x, &who);
	return true;
}

void
access_set_cookie(struct exchange *x, const struct handlers *h, const char *name,
    const char *value, const char *path, int max_age)
{
	char cookie[256];
	const char *proto = exchange_header(x, "X-Forwarded-Proto");
	bool secure = origin_https(h->origin) || (proto != NULL && strcmp(proto, "https") == 0 &&
	    trusted_peer(x, h));
	snprintf(cookie, sizeof cookie, "%s=%s; HttpOnly; SameSite=Lax; Path=%s; Max-Age=%d%s",
	    name, value ? value : "", path, value ? max_age : 0, secure ? "; Secure" : "");
	exchange_add_header(x, "Set-Cookie", cookie);
	explicit_bzero(cookie, sizeof cookie);
}

void
access_set_session(struct exchange *x, const struct handlers *h, const char *value)
{
	access_set_cookie(x, h, SESSION_COOKIE, value, "/", COOKIE_MAX_AGE);
}
