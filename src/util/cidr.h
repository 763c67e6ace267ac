/*
 * cidr.h - lists of address ranges ("127.0.0.1/32,::1/128"), for the
 * addresses a reverse proxy may speak from. Pure.
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

#endif
