/*
 * endpoint.c - the rules for model server addresses; see endpoint.h.
 */
#include "backends/endpoint.h"
#include "limits.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* fd00:ec2::254, the IPv6 address of a cloud's metadata service */
static const uint8_t metadata6[16] = { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02 };

static bool
v4_link_local(uint32_t host_order)
{
	return (host_order & 0xffff0000u) == 0xa9fe0000u;	/* 169.254.0.0/16 */
}

static bool
v6_refused(const struct in6_addr *a)
{
	const uint8_t *b = a->s6_addr;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)		/* fe80::/10 */
		return true;
	if (memcmp(b, metadata6, 16) == 0)
		return true;
	if (IN6_IS_ADDR_V4MAPPED(a)) {
		uint32_t v4;
		memcpy(&v4, b + 12, 4);
		return v4_link_local(ntohl(v4));
	}
	return false;
}

bool
endpoint_address_allowed(const struct sockaddr *addr, bool allow_link_local)
{
	if (allow_link_local)
		return true;
	if (addr->sa_family == AF_INET)
		return !v4_link_local(ntohl(((const struct sockaddr_in *)(const void *)addr)->sin_addr.s_addr));
	if (addr->sa_family == AF_INET6)
		return !v6_refused(&((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr);
	return false;
}

/* A host written as an address ("169.254.1.1", "[fe80::1]") that may not be used. */
static bool
host_refused(const char *host)
{
	char inner[64];
	size_t n = strlen(host);
	struct in_addr v4;
	struct in6_addr v6;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return v4_link_local(ntohl(v4.s_addr));
	if (n < 2 || n - 2 >= sizeof inner || host[0] != '[' || host[n - 1] != ']')
		return false;
	memcpy(inner, host + 1, n - 2);
	inner[n - 2] = '\0';
	char *zone = strchr(inner, '%');
	if (zone != NULL)
		*zone = '\0';
	return inet_pton(AF_INET6, inner, &v6) == 1 && v6_refused(&v6);
}

static bool
has_part(CURLU *u, CURLUPart part)
{
	char *v = NULL;
	bool has = curl_url_get(u, part, &v, 0) == CURLUE_OK && v != NULL;
	curl_free(v);
	return has;
}

static int
refuse(char *why, size_t whylen, const char *reason)
{
	snprintf(why, whylen, "%s", reason);
	return -1;
}

/* The URL's parts once parsed; -1 and why when it is not a plain http(s) URL. */
static int
check_parts(CURLU *u, char *why, size_t whylen, char **host)
{
	char *scheme = NULL;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		curl_free(scheme);
		return refuse(why, whylen, "an http:// or https:// URL");
	}
	curl_free(scheme);
	if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD))
		return refuse(why, whylen, "a URL without user:password@");
	if (has_part(u, CURLUPART_FRAGMENT))
		return refuse(why, whylen, "a URL without a #fragment");
	if (has_part(u, CURLUPART_QUERY))	/* /chat/completions goes after the path */
		return refuse(why, whylen, "a URL without a ?query");
	if (curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK || **host == '\0')
		return refuse(why, whylen, "a URL with a host");
	return 0;
}

int
endpoint_check_url(const char *url, bool allow_link_local, char *why, size_t whylen)
{
	if (strlen(url) > LIMIT_URL_BYTES || strpbrk(url, " \t\r\n") != NULL)
		return refuse(why, whylen, "an http:// or https:// URL");
	size_t scheme = strncmp(url, "http://", 7) == 0 ? 7 : strncmp(url, "https://", 8) == 0 ? 8 : 0;
	if (scheme == 0 || url[scheme] == '/' || url[scheme] == '\0')
		return refuse(why, whylen, "an http:// or https:// URL");
	CURLU *u = curl_url();
	char *host = NULL;
	int rc = -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		refuse(why, whylen, "an http:// or https:// URL");
	else if (check_parts(u, why, whylen, &host) != 0)
		;
	else if (!allow_link_local && host_refused(host))
		refuse(why, whylen, "an address that is not link-local or a metadata service "
		    "(see --allow-link-local)");
	else
		rc = 0;
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}
