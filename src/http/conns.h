/*
 * conns.h - what Parley tracks about each client connection that evhttp
 * does not: when its current request began to arrive (a request must
 * arrive whole within the request timeout, so clients that trickle headers
 * or never finish a body are cut off), whether it carries an event stream
 * (no deadline), and a hook run when it closes.
 *
 * evhttp creates each connection's bufferevent through this module
 * (evhttp_set_bevcb); the module adopts the connection right after evhttp
 * has set it up and learns of its end through evhttp's close callback,
 * which it owns: others register through conn_on_close(). A sweep four times
 * a second enforces deadlines with shutdown(), so evhttp's own close path
 * does the tearing down. Owned by one event loop.
 */
#ifndef PARLEY_CONNS_H
#define PARLEY_CONNS_H

struct conn;
struct conns;
struct event_base;
struct evhttp;
struct evhttp_request;

typedef void (*conn_close_fn)(void *arg);

struct conns	*conns_new(struct event_base *base, struct evhttp *http,
		    unsigned request_timeout_s);
/* Call after evhttp_free(): releases what is left. */
void		 conns_free(struct conns *cs);
/* The connection a request came on (NULL only if evhttp bypassed this module). */
struct conn	*conns_of(struct conns *cs, struct evhttp_request *req);
/* The request arrived whole: its deadline is met. */
void		 conn_request_arrived(struct conn *c);
/* The connection carries an event stream: no deadline; fn(arg) runs when it closes. */
void		 conn_on_close(struct conn *c, conn_close_fn fn, void *arg);
/* Open connections now. */
unsigned	 conns_count(const struct conns *cs);

#endif
