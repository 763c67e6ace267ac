/*
 * server.h - the HTTP listener on libevent's evhttp: binds the address with
 * a deep backlog, enforces the request limits, pauses accepting when out of
 * file descriptors, holds requests that write while the application says it
 * is behind, and dispatches each request through a route table.
 * Owned by one event loop.
 */
#ifndef PARLEY_SERVER_H
#define PARLEY_SERVER_H
#include <stdbool.h>
#include <stddef.h>

#include "http/router.h"

struct event_base;
struct evhttp_request;
struct exchange;
struct problem;
struct server;

/* Answers a refusal of the router (404, 405) in the format the path calls for. */
typedef void (*server_refuse_fn)(struct exchange *x, const struct problem *p, void *ctx);

struct server_routes {
	const struct route	*table;
	size_t			 count;
	void			*ctx;		/* passed to every handler */
	server_refuse_fn	 refuse;
	/*
	 * Runs before every handler (NULL: none): true to go on, or it has
	 * answered x itself (the host, the content type, who asks).
	 */
	bool			(*guard)(struct exchange *x, void *ctx);
	/*
	 * true: requests that write wait, in order, until it is false or they have
	 * waited LIMIT_ADMIT_WAIT_MS (NULL: never)
	 */
	bool			(*behind)(void *ctx);
};

/*
 * Listens on host:port (port 0 picks one); a request must arrive whole within
 * request_timeout_s of its first byte. NULL and *err (free it) on failure.
 */
struct server	*server_start(struct event_base *base, const char *host, unsigned port,
		    unsigned request_timeout_s, const struct server_routes *routes, char **err);
/* The port actually bound. */
unsigned	 server_port(const struct server *srv);
/*
 * Takes the request's socket away from evhttp, for an event stream
 * (exchange_take_socket): the caller owns the returned fd (non-blocking,
 * its request read) and must not answer req, which evhttp frees with the
 * connection from a deferred event. -1 (the client is dropped) when the
 * client has left already; SERVER_NO_DESCRIPTOR when out of file
 * descriptors, nothing taken: req is still to be answered.
 */
#define SERVER_NO_DESCRIPTOR	(-2)
int		 server_take_socket(struct server *srv, struct evhttp_request *req);
/*
 * Stops accepting new connections; open ones carry on, and writes held by
 * admission are handled now (behind() should say false from here on).
 */
void		 server_stop_accepting(struct server *srv);
/* Closes every connection and frees the server. */
void		 server_free(struct server *srv);

#endif
