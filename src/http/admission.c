/*
 * admission.c - writes wait while the application is behind; see
 * admission.h. The application's callback is asked as each write arrives
 * and, while any are held, every LIMIT_ADMIT_RECHECK_MS.
 *
 * evhttp 2.1 reads nothing more from a connection while its request is
 * unanswered and frees it only in evhttp_free(), so a held request stays
 * valid until it is answered or the server is freed (which frees this
 * first). Held requests' connections are exempt from the request deadline.
 */
#include "http/admission.h"
#include "http/conns.h"
#include "limits.h"
#include "util/clock.h"
#include "util/xmalloc.h"

#include <event2/event.h>
#include <event2/http.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/queue.h>

struct held {
	TAILQ_ENTRY(held)	 entry;
	struct evhttp_request	*req;
	struct conn		*conn;
	int64_t			 since;		/* ms, monotonic */
};

struct admission {
	TAILQ_HEAD(, held)	 held;
	struct event		*recheck;
	admission_behind_fn	 behind;
	void			*behind_ctx;
	admission_go_fn		 go;
	void			*go_arg;
};

static bool
behind(struct admission *a)
{
	return a->behind != NULL && a->behind(a->behind_ctx);
}

static void
recheck_later(struct admission *a)
{
	if (!evtimer_pending(a->recheck, NULL)) {
		struct timeval tv = { 0, LIMIT_ADMIT_RECHECK_MS * 1000 };
		evtimer_add(a->recheck, &tv);
	}
}

static struct evhttp_request *
take(struct admission *a, struct held *h)
{
	struct evhttp_request *req = h->req;
	TAILQ_REMOVE(&a->held, h, entry);
	if (h->conn != NULL)
		conn_set_parked(h->conn, false);
	free(h);
	return req;
}

/* The held go on, oldest first, while the application keeps up. */
static void
recheck(evutil_socket_t fd, short what, void *arg)
{
	struct admission *a = arg;
	struct held *h;
	(void)fd;
	(void)what;
	while ((h = TAILQ_FIRST(&a->held)) != NULL &&
	    (!behind(a) || monotonic_ms() - h->since >= LIMIT_ADMIT_WAIT_MS))
		a->go(take(a, h), a->go_arg);
	if (h != NULL)
		recheck_later(a);
}

struct admission *
admission_new(struct event_base *base, admission_behind_fn behind_fn, void *behind_ctx,
    admission_go_fn go, void *go_arg)
{
	struct admission *a = xcalloc(1, sizeof *a);
	TAILQ_INIT(&a->held);
	a->recheck = evtimer_new(base, recheck, a);
	a->behind = behind_fn;
	a->behind_ctx = behind_ctx;
	a->go = go;
	a->go_arg = go_arg;
	return a;
}

bool
admission_hold(struct admission *a, struct evhttp_request *req, struct conn *c)
{
	bool writes = evhttp_request_get_command(req) &
	    (EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE);
	if (!writes || (TAILQ_EMPTY(&a->held) && !behind(a)))
		return false;
	struct held *h = xmalloc(sizeof *h);
	h->req = req;
	h->conn = c;
	h->since = monotonic_ms();
	if (c != NULL)
		conn_set_parked(c, true);
	TAILQ_INSERT_TAIL(&a->held, h, entry);
	recheck_later(a);
	return true;
}

void
admission_release(struct admission *a)
{
	if (!TAILQ_EMPTY(&a->held))
		event_active(a->recheck, EV_TIMEOUT, 0);
}

void
admission_free(struct admission *a)
{
	if (a == NULL)
		return;
	struct held *h;
	while ((h = TAILQ_FIRST(&a->held)) != NULL)
		take(a, h);
	event_free(a->recheck);
	free(a);
}
