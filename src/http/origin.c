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
};

/* The host of an http(s) URL (free it), or NULL. */
static char *
url_host(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *out = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		out = xstrdup(host);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return out;
}

struct origin *
origin_new(const char *listen_host, const char *public_url, char **err)
{
	struct origin *o = xcalloc(1, sizeof *o);
	o->listen_host = xstrdup(listen_host);
	*err = NULL;
	if (public_url != NULL && *public_url != '\0' &&
	    (o->public_host = url_host(public_url)) == NULL) {
		if (asprintf(err, "--public-url %s is not an http:// or https:// URL", public_url) < 0)
			*err = NULL;
		origin_free(o);
		return NULL;
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
	if (colon != NULL && strchr(colon, ']') == NULL)
		n = (size_t)(colon - host);	/* the port, not part of an IPv6 address */
	if (n == 0 || n >= sizeof name)
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	return is_address(name) || strcasecmp(name, "localhost") == 0 ||
	    strcasecmp(name, o->listen_host) == 0 ||
	    (o->public_host != NULL && strcasecmp(name, o->public_host) == 0);
}
