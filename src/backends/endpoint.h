/*
 * endpoint.h - where a bot may send its requests. A model server's base_url
 * is http or https, without user:password@ and without a fragment, and
 * neither its host (when written as an address) nor any address it
 * resolves to at connect time may be link-local (169.254.0.0/16, fe80::/10:
 * cloud metadata services live there, fd00:ec2::254 among them) unless the
 * server runs with --allow-link-local. Loopback and private networks stay
 * allowed: local model servers are the main use. Pure (libcurl's URL
 * parser and inet_pton only); used by the bot service when a bot is saved
 * and by openai.c when it connects.
 */
#ifndef PARLEY_ENDPOINT_H
#define PARLEY_ENDPOINT_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* 0 when url may be a bot's base_url; -1 with why (a short reason) otherwise. */
int	 endpoint_check_url(const char *url, bool allow_link_local, char *why, size_t whylen);
/* True when a connection to addr may be made. */
bool	 endpoint_address_allowed(const struct sockaddr *addr, bool allow_link_local);

#endif
