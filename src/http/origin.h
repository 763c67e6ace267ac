/*
 * origin.h - the names the server is known by: its listen address,
 * localhost, and the host of --public-url. Requests for any other Host are
 * refused (a page on a DNS-rebinding domain must not drive a server on
 * 127.0.0.1); an address written as such is always fine, since a browser
 * then shows that address as the page's origin. Pure; built once at start.
 */
#ifndef PARLEY_ORIGIN_H
#define PARLEY_ORIGIN_H
#include <stdbool.h>
#include <stddef.h>

struct origin;

/* Whether url is an http(s) URL with a host, as origin_new() reads --public-url. */
bool		 origin_url_valid(const char *url);
/* public_url may be NULL or ""; NULL (and *err, free it) when it is not an http(s) URL. */
struct origin	*origin_new(const char *listen_host, const char *public_url, char **err);
void		 origin_free(struct origin *o);
/* True when a request with this Host header (NULL: none, HTTP/1.0) is for this server. */
bool		 origin_host_allowed(const struct origin *o, const char *host);
/*
 * True when a browser's Origin header names this server: the scheme, host
 * and port of --public-url when there is one, else the Host the request was
 * sent to (with the scheme the server is reached by).
 */
bool		 origin_same(const struct origin *o, const char *origin, const char *host);
/* People reach the server over https (--public-url https://...). */
bool		 origin_https(const struct origin *o);
/* Where people reach the server, for links: --public-url, else http://HOST (the request's). */
void		 origin_base_url(const struct origin *o, const char *host, char *out, size_t n);

#endif
