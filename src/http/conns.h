/*
 * conns.h - what Parley tracks about each client connection that evhttp
 * does not: when its current request began to arrive (a request must
 * arrive whole within the request timeout, so clients that trickle headers
 * or never finish a body are cut off).
 *
 * evhttp creates each connection's bufferevent through this module
 * (evhttp_set_bevcb); the module adopts the connection right after evhttp
 * has set it up and learns of its end through evhttp's close callback,
 * which it owns. A sweep four times a second enforces deadlines with shutdown(), so evhttp's own close path
 * does the tearing down. Owned by one event loop.
 */
#ifndef PARLEY_CONNS_H
#define PARLEY_CONNS_H
#include <stdbool.h>

struct conn;
struct conns;
struct event_base;
struct evhttp;
struct evhttp_request;

struct conns	*conns_new(struct event_base *base, struct evhttp *http,
		    unsigned request_timeout_s);
/* Call after evhttp_free(): releases what is left. */
void		 conns_free(struct conns *cs);
/* The connection a request came on (NULL only if evhttp bypassed this module). */
struct conn	*conns_of(struct conns *cs, struct evhttp_request *req);
/* The request arrived whole: its deadline is met. */
void		 conn_request_arrived(struct conn *c);
/*
 * The server holds the connection's request unanswered (admission) or no
 * longer does; a held request's connection is not cut by the deadline sweep.
 */
void		 conn_set_parked(struct conn *c, bool parked);
/* The request's connection leaves evhttp (an event stream taking its socket): forget it. */
void		 conns_release(struct conns *cs, struct evhttp_request *req);

#endif
