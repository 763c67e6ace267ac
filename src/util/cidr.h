/*
 * cidr.h - lists of address ranges ("127.0.0.1/32,::1/128"), for the
 * addresses a reverse proxy may speak from, and the client such proxies
 * name in X-Forwarded-For. Pure.
 */
#ifndef PARLEY_CIDR_H
#define PARLEY_CIDR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CIDR_MAX 16	/* ranges in one list */

struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];
	unsigned	 bits;
};

struct cidr_list {
	struct cidr	 v[CIDR_MAX];
	size_t		 n;
};

/* Parses a comma-separated list (spaces allowed; a bare address is /32 or /128); 0 or -1. */
int	 cidr_list_parse(struct cidr_list *l, const char *s);
/* True when addr lies in one of the ranges (an IPv4-mapped IPv6 address counts as IPv4). */
bool	 cidr_list_match(const struct cidr_list *l, const struct sockaddr *addr);

#define CIDR_TEXT_MAX 46	/* an address as text, with its NUL (INET6_ADDRSTRLEN) */
/*
 * The client a chain of trusted proxies names: the X-Forwarded-For values
 * (n headers, in the order they came; each a comma-separated list) read
 * from the right, where each proxy appends the address it saw, up to the
 * first address that is not in trusted. Written to out in inet_ntop's form;
 * when every address is trusted, the leftmost. An entry that is not a bare
 * address ends the walk (what lies left of it cannot be believed): then the
 * address before it, if any. False when none could be read.
 */
bool	 cidr_forwarded_client(const struct cidr_list *trusted, const char *const *values,
	    size_t n, char out[CIDR_TEXT_MAX]);

#endif
