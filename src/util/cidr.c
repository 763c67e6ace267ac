/*
 * cidr.c - address ranges; see cidr.h.
 */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One range "ADDR[/BITS]"; 0 or -1. */
static int
parse_one(struct cidr *c, const char *s, size_t n)
{
	char text[64];
	if (n == 0 || n >= sizeof text)
		return -1;
	memcpy(text, s, n);
	text[n] = '\0';
	char *slash = strchr(text, '/');
	if (slash != NULL)
		*slash = '\0';
	c->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	unsigned max = c->family == AF_INET ? 32 : 128;
	if (inet_pton(c->family, text, c->addr) != 1)
		return -1;
	c->bits = max;
	if (slash != NULL) {
		char *end;
		unsigned long bits = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits > max)
			return -1;
		c->bits = (unsigned)bits;
	}
	return 0;
}

int
cidr_list_parse(struct cidr_list *l, const char *s)
{
	l->n = 0;
	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		size_t n = strcspn(s, ", ");
		if (n == 0)
			break;
		if (l->n == CIDR_MAX || parse_one(&l->v[l->n], s, n) != 0)
			return -1;
		l->n++;
		s += n;
	}
	return l->n > 0 ? 0 : -1;
}

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* One bare address (IPv4 or IPv6, surrounding spaces allowed) as a socket address. */
static bool
parse_address(const char *s, size_t n, struct sockaddr_storage *out)
{
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	char text[CIDR_TEXT_MAX];
	if (n == 0 || n >= sizeof text)
		return false;
	memcpy(text, s, n);
	text[n] = '\0';
	memset(out, 0, sizeof *out);
	struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)out;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)out;
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		return true;
	}
	v6->sin6_family = AF_INET6;
	return inet_pton(AF_INET6, text, &v6->sin6_addr) == 1;
}

static void
address_text(const struct sockaddr_storage *a, char out[CIDR_TEXT_MAX])
{
	const void *bytes = a->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)(const void *)a)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr;
	inet_ntop(a->ss_family, bytes, out, CIDR_TEXT_MAX);
}

bool
cidr_forwarded_client(const struct cidr_list *trusted, const char *const *values, size_t n,
    char out[CIDR_TEXT_MAX])
{
	bool found = false;
	for (size_t h = n; h-- > 0;) {
		const char *v = values[h];
		for (size_t end = strlen(v), start;; end = start - 1) {
			for (start = end; start > 0 && v[start - 1] != ','; start--)
				;
			struct sockaddr_storage a;
			if (!parse_address(v + start, end - start, &a))
				return found;
			address_text(&a, out);
			found = true;
			if (!cidr_list_match(trusted, (const struct sockaddr *)&a))
				return true;
			if (start == 0)
				break;
		}
	}
	return found;
}

bool
cidr_list_match(const struct cidr_list *l, const struct sockaddr *addr)
{
	uint8_t bytes[16];
	int family = addr->sa_family;
	if (family == AF_INET) {
		memcpy(bytes, &((const struct sockaddr_in *)(const void *)addr)->sin_addr, 4);
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			memcpy(bytes, a6->s6_addr + 12, 4);
		} else
			memcpy(bytes, a6->s6_addr, 16);
	} else
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].family == family && prefix_equal(l->v[i].addr, bytes, l->v[i].bits))
			return true;
	return false;
}
