/*
 * server.c - listener and dispatch on evhttp; see server.h.
 */
#include "http/server.h"
#include "http/admission.h"
#include "http/conns.h"
#include "http/exchange.h"
#include "limits.h"
#include "util/buf.h"
#include "util/fiber.h"
#include "util/log.h"
#include "util/problem.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connection given up by evhttp, freed on the next loop iteration. */
struct handoff {
	LIST_ENTRY(handoff)		 entry;
	struct evhttp_connection	*evcon;
	struct event			*ev;
};

struct server {
	LIST_HEAD(, handoff)		 handoffs;
	struct admission		*admission;
	struct event_base		*base;
	struct evhttp			*http;
	struct evhttp_bound_socket	*bound;
	struct event			*resume_accept;
	struct conns			*conns;
	struct server_routes		 routes;
	unsigned			 port;
	int				 dev_null;	/* what evhttp keeps of a taken socket */
};

/* ---------- dispatch ---------- */

struct refusal {
	struct server	*srv;
	struct exchange	*x;
	struct problem	 p;
};

static void
answer_refusal(void *arg)
{
	struct refusal *r = arg;
	r->srv->routes.refuse(r->x, &r->p, r->srv->routes.ctx);
	free(r);
}

/* The answer may name who asks (a page's header), so it may wait for the database. */
static void
refuse(struct server *srv, struct evhttp_request *req, int status, const char *detail)
{
	struct refusal *r = xmalloc(sizeof *r);
	r->srv = srv;
	r->x = exchange_new(srv, req, NULL, NULL);
	problem_set(&r->p, status, "%s", detail);
	fiber_run_serial(answer_refusal, r);
}

/*
 * The route of req and its handler for req's method (in *fn), or NULL once
 * req has been refused (404, 405).
 */
static const struct route *
resolve(struct server *srv, struct evhttp_request *req, struct route_params *params,
    route_fn *fn)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	int i = router_match(srv->routes.table, srv->routes.count, path ? path : "/", params);
	if (i < 0) {
		refuse(srv, req, 404, "not found");
		return NULL;
	}
	const struct route *route = &srv->routes.table[i];
	*fn = router_handler(route, (enum http_method)evhttp_request_get_command(req));
	if (*fn == NULL) {
		struct buf allow = BUF_INIT;
		router_allow(route, &allow);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow.data);
		buf_free(&allow);
		refuse(srv, req, 405, "method not allowed");
		return NULL;
	}
	return route;
}

struct handling {
	struct server	*srv;
	struct exchange	*x;
	route_fn	 fn;
};

static void
handle(void *arg)
{
	struct handling *h = arg;
	if (h->srv->routes.guard == NULL || h->srv->routes.guard(h->x, h->srv->routes.ctx))
		h->fn(h->x, h->srv->routes.ctx);
	free(h);
}

/*
 * The guard, then the handler: in a serial fiber (they may wait for the
 * database), or at once for a route that never does.
 */
static void
run(struct server *srv, struct evhttp_request *req, const struct route *route, route_fn fn,
    const struct route_params *params)
{
	struct handling *h = xmalloc(sizeof *h);
	*h = (struct handling){ srv, exchange_new(srv, req, route, params), fn };
	if (route->flags & ROUTE_AT_ONCE)
		handle(h);
	else
		fiber_run_serial(handle, h);
}

/* A write held by admission goes on. */
static void
admitted(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct route_params params;
	route_fn fn;
	const struct route *route = resolve(srv, req, &params, &fn);
	if (route != NULL)
		run(srv, req, route, fn, &params);
}

static void
dispatch(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct conn *c = conns_of(srv->conns, req);

	/* its framing, head and size were checked as it arrived (wire.c, through conns.c) */
	if (c != NULL)
		conn_request_arrived(c);
	struct route_params params;
	route_fn fn;
	const struct route *route = resolve(srv, req, &params, &fn);
	if (route != NULL && !admission_hold(srv->admission, req, c))
		run(srv, req, route, fn, &params);
}

/* ---------- listening ---------- */

/*
 * evhttp owns the listener's callback argument, so the accept-error
 * callback finds its server here: one server per event-loop thread.
 */
static _Thread_local struct server *loop_server;

static void
resume_accepting(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	(void)fd;
	(void)what;
	evconnlistener_enable(evhttp_bound_socket_get_listener(srv->bound));
}

/* Out of file descriptors: stop accepting for a moment instead of spinning. */
static void
accept_error(struct evconnlistener *listener, void *arg)
{
	struct server *srv = loop_server;
	(void)arg;
	int err = EVUTIL_SOCKET_ERROR();
	log_warn("accept: %s", strerror(err));
	if (srv != NULL && (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)) {
		struct timeval pause = { 0, LIMIT_ACCEPT_PAUSE_MS * 1000 };
		evconnlistener_disable(listener);
		evtimer_add(srv->resume_accept, &pause);
	}
}

static int
bind_socket(const char *host, unsigned port, char **err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	char service[8];
	snprintf(service, sizeof service, "%u", port);
	int rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		if (asprintf(err, "cannot resolve %s: %s", host, gai_strerror(rc)) < 0)
			*err = NULL;
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	/* accepted sockets inherit TCP_NODELAY: small last segments go out at once */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, LIMIT_LISTEN_BACKLOG) != 0) {
		if (asprintf(err, "cannot listen on %s:%u: %s", host, port, strerror(errno)) < 0)
			*err = NULL;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static unsigned
bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
configure(struct evhttp *http)
{
	evhttp_set_max_headers_size(http, LIMIT_EVHTTP_HEADER_BYTES);
	evhttp_set_max_body_size(http, LIMIT_EVHTTP_BODY_BYTES);
	evhttp_set_timeout(http, LIMIT_IDLE_CONN_SECONDS);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(http, "application/json");
}

struct server *
server_start(struct event_base *base, const char *host, unsigned port,
    unsigned request_timeout_s, const struct server_routes *routes, char **err)
{
	*err = NULL;
	int fd = bind_socket(host, port, err);
	if (fd < 0)
		return NULL;

	struct server *srv = xcalloc(1, sizeof *srv);
	LIST_INIT(&srv->handoffs);
	srv->dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
	srv->base = base;
	srv->routes = *routes;
	srv->port = bound_port(fd);
	srv->http = evhttp_new(base);
	configure(srv->http);
	srv->admission = admission_new(base, routes->behind, routes->ctx, admitted, srv);
	srv->conns = conns_new(base, srv->http, request_timeout_s);
	evhttp_set_gencb(srv->http, dispatch, srv);
	srv->bound = evhttp_accept_socket_with_handle(srv->http, fd);
	if (srv->bound == NULL) {
		if (asprintf(err, "cannot accept on %s:%u", host, port) < 0)
			*err = NULL;
		close(fd);
		server_free(srv);
		return NULL;
	}
	if (srv->dev_null < 0) {
		if (asprintf(err, "cannot open /dev/null: %s", strerror(errno)) < 0)
			*err = NULL;
		server_free(srv);
		return NULL;
	}
	srv->resume_accept = evtimer_new(base, resume_accepting, srv);
	loop_server = srv;
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(srv->bound), accept_error);
	return srv;
}

/*
 * Frees a connection given up by server_take_socket() and closes its
 * stand-in at once: left to libevent, the close would wait for the
 * bufferevent's deferred finalizer.
 */
static void
handoff_free(struct handoff *h)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(h->evcon);
	int stand_in = bufferevent_getfd(bev);
	bufferevent_setfd(bev, -1);
	LIST_REMOVE(h, entry);
	evhttp_connection_free(h->evcon);	/* its shutdown() hits the stand-in */
	close(stand_in);
	event_free(h->ev);
	free(h);
}

static void
handoff_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	handoff_free(arg);
}

int
server_take_socket(struct server *srv, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	if (evcon == NULL) {		/* the client left while its answer was being made */
		evhttp_request_free(req);
		return -1;
	}
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	int fd = bufferevent_getfd(bev);
	/*
	 * The connections given up earlier in this loop iteration are past their
	 * callbacks: free them now, so that a burst of streams near the
	 * descriptor limit never holds a stand-in per stream.
	 */
	struct handoff *h;
	while ((h = LIST_FIRST(&srv->handoffs)) != NULL)
		handoff_free(h);
	/* one descriptor more per stream taken, not two: near the limit, every one counts */
	int mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (mine < 0)
		return SERVER_NO_DESCRIPTOR;	/* nothing taken yet: it can still be answered */
	conns_release(srv->conns, req);
	/* out of epoll while fd is still the socket, then evhttp gets a stand-in */
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	if (dup3(srv->dev_null, fd, O_CLOEXEC) < 0) {
		log_error("cannot take over a stream's socket: %s", strerror(errno));
		close(mine);
		mine = -1;
	}
	/* evhttp's free shuts down the stand-in, not the client's socket */
	h = xcalloc(1, sizeof *h);
	h->evcon = evcon;
	h->ev = event_new(srv->base, -1, 0, handoff_done, h);
	LIST_INSERT_HEAD(&srv->handoffs, h, entry);
	event_active(h->ev, 0, 0);
	return mine;
}

unsigned
server_port(const struct server *srv)
{
	return srv->port;
}

void
server_stop_accepting(struct server *srv)
{
	if (srv->bound != NULL) {
		evhttp_del_accept_socket(srv->http, srv->bound);
		srv->bound = NULL;
	}
	if (srv->resume_accept != NULL)
		evtimer_del(srv->resume_accept);
	admission_release(srv->admission);	/* held writes get their answers now */
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->resume_accept != NULL)
		event_free(srv->resume_accept);
	if (loop_server == srv)
		loop_server = NULL;
	admission_free(srv->admission);	/* before evhttp_free frees the held requests */
	struct handoff *h;
	while ((h = LIST_FIRST(&srv->handoffs)) != NULL) {
		LIST_REMOVE(h, entry);
		event_free(h->ev);	/* evhttp_free frees the connection */
		free(h);
	}
	evhttp_free(srv->http);
	if (srv->conns != NULL)
		conns_free(srv->conns);
	if (srv->dev_null >= 0)
		close(srv->dev_null);
	free(srv);
}
