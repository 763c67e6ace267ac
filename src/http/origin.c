/*
 * origin.c - the server's own names; see origin.h.
 */
#include "http/origin.h"
#include "util/xmalloc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct origin {
	char	*listen_host;	/* as given to --listen */
	char	*public_host;	/* of --public-url, or NULL */
	char	*public_origin;	/* "scheme://host[:port]" of --public-url, or NULL */
	char	*public_base;	/* --public-url without a trailing '/', or NULL */
	bool	 https;
};

/* The host and the origin ("scheme://host[:port]") of an http(s) URL (free them); -1 if not one. */
static int
url_parts(const char *url, char **host, char **origin, bool *https)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *h = NULL, *port = NULL;
	int rc = -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
		*host = xstrdup(h);
		if (asprintf(origin, "%s://%s%s%s", scheme, h, port ? ":" : "", port ? port : "") < 0)
			*origin = xstrdup("");
		*https = strcmp(scheme, "https") == 0;
		rc = 0;
	}
	curl_free(scheme);
	curl_free(h);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

bool
origin_url_valid(const char *url)
{
	char *host = NULL, *origin = NULL;
	bool https, ok = url_parts(url, &host, &origin, &https) == 0 && host[0] != '\0';
	free(host);
	free(origin);
	return ok;
}

struct origin *
origin_new(const char *listen_host, const char *public_url, char **err)
{
	struct origin *o = xcalloc(1, sizeof *o);
	o->listen_host = xstrdup(listen_host);
	*err = NULL;
	if (public_url != NULL && *public_url != '\0' &&
	    url_parts(public_url, &o->public_host, &o->public_origin, &o->https) != 0) {
		if (asprintf(err, "--public-url %s is not an http:// or https:// URL", public_url) < 0)
			*err = NULL;
		origin_free(o);
		return NULL;
	}
	if (o->public_origin != NULL) {
		size_t n = strlen(public_url);
		while (n > 0 && public_url[n - 1] == '/')
			n--;
		o->public_base = xstrndup(public_url, n);
	}
	return o;
}

void
origin_free(struct origin *o)
{
	if (o == NULL)
		return;
	free(o->listen_host);
	free(o->public_host);
	free(o->public_origin);
	free(o->public_base);
	free(o);
}

/* An address written as such: 1.2.3.4 or [::1] (brackets as in a Host header). */
static bool
is_address(const char *name)
{
	char inner[64];
	size_t n = strlen(name);
	unsigned char buf[16];
	if (inet_pton(AF_INET, name, buf) == 1)
		return true;
	if (n < 3 || n - 2 >= sizeof inner || name[0] != '[' || name[n - 1] != ']')
		return false;
	memcpy(inner, name + 1, n - 2);
	inner[n - 2] = '\0';
	return inet_pton(AF_INET6, inner, buf) == 1;
}

bool
origin_host_allowed(const struct origin *o, const char *host)
{
	char name[256];
	if (host == NULL)
		return true;
	size_t n = strlen(host);
	const char *colon = strrchr(host, ':');
	if (colon != NULL && strchr(colon, ']') == NULL) {
		n = (size_t)(colon - host);	/* the port, not part of an IPv6 address */
		size_t digits = strspn(colon + 1, "0123456789");
		if (digits > 5 || colon[1 + digits] != '\0')
			return false;	/* "host:x@elsewhere" would go into links */
	}
	if (n == 0 || n >= sizeof name)
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	return is_address(name) || strcasecmp(name, "localhost") == 0 ||
	    strcasecmp(name, o->listen_host) == 0 ||
	    (o->public_host != NULL && strcasecmp(name, o->public_host) == 0);
}

bool
origin_same(const struct origin *o, const char *origin, const char *host)
{
	if (origin == NULL)
		return false;
	if (o->public_origin != NULL)
		return strcasecmp(origin, o->public_origin) == 0;
	const char *scheme = o->https ? "https://" : "http://";
	size_t n = strlen(scheme);
	return host != NULL && strncasecmp(origin, scheme, n) == 0 &&
	    strcasecmp(origin + n, host) == 0;
}

bool
origin_https(const struct origin *o)
{
	return o->https;
}

void
origin_base_url(const struct origin *o, const char *host, char *out, size_t n)
{
	if (o->public_base != NULL)
		snprintf(out, n, "%s", o->public_base);
	else
		snprintf(out, n, "%s://%s", o->https ? "https" : "http", host ? host : "localhost");
}
