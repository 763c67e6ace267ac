/*
 * redis_bus.c - events between nodes through Redis; see redis_bus.h. Two
 * connections (a subscriber cannot publish), both dropped and made again
 * together, so that being "up" means both ways work. A message is
 * "ORIGIN TYPE JSON": a node knows (and skips) its own without parsing it.
 */
#include "hub/redis_bus.h"
#include "hub/hub.h"
#include "hub/remote_replies.h"
#include "store/store.h"
#include "limits.h"
#include "metrics.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/secret.h"
#include "util/xmalloc.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_MIN_MS	100

struct redis_bus {
	struct event_base	*base;
	struct hub		*hub;
	struct bus		 local;		/* hub_bus(hub): delivery here */
	struct redis_bus_hooks	 hooks;
	struct remote_replies	*replies;	/* being written on other nodes */
	char			 node[64];
	char			 channel[64];	/* parley:DEPLOYMENT */
	char			 self[SECRET_LEN + 1];	/* this process: its own messages carry it */
	char			 node_id[LEASE_NODE_MAX];	/* node/self: whose leases are whose */
	char			 host[256];
	int			 port;
	char			 path[1024];	/* a unix socket's, or "" */
	struct evdns_base	*dns;		/* the host's name is looked up on the loop, */
	struct evdns_getaddrinfo_request *resolving;
	char			 address[INET6_ADDRSTRLEN];	/* ... into this, before each connect */
	unsigned		 attempts;	/* since the links were last up: which address is tried */
	redisAsyncContext	*pub, *sub;
	bool			 pub_ready, subscribed, up, ever_up, closing, dropping;
	int64_t			 opened_ms;	/* when the links were opened */
	int64_t			 heard_self_ms;	/* when our heartbeat last came back */
	int64_t			 retry_at_ms;
	int64_t			 next_check_ms;
	int64_t			 lag_ms;	/* as reported in METRIC_BUS_LAG_MS */
	int64_t			 lists_ms;	/* when another node last said it has a chat list open */
	unsigned		 backoff_ms;
	struct event		*tick;
};

static int64_t
clock_ms(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* ---------- the links ---------- */

static void
set_up(struct redis_bus *rb, bool up)
{
	if (rb->up != up)
		metrics_add(METRIC_BUS_CONNECTED, up ? 1 : -1);
	rb->up = up;
}

/* Closes both links (in any callback: hiredis frees a link in use when it returns). */
static void
drop_links(struct redis_bus *rb)
{
	redisAsyncContext *pub = rb->pub, *sub = rb->sub;
	rb->pub = rb->sub = NULL;
	rb->pub_ready = rb->subscribed = false;
	set_up(rb, false);
	rb->dropping = true;		/* freeing calls on_disconnect: not a new loss */
	if (pub != NULL)
		redisAsyncFree(pub);
	if (sub != NULL)
		redisAsyncFree(sub);
	rb->dropping = false;
}

/* A link failed or went silent: both go, and are made again after a backoff. */
static void
lost(struct redis_bus *rb, const char *why)
{
	if (rb->closing || rb->dropping)
		return;
	if (rb->up || rb->pub != NULL || rb->sub != NULL)
		log_warn("Redis: %s; reconnecting in %u ms", why,
		    rb->backoff_ms);
	drop_links(rb);
	rb->retry_at_ms = now_ms() + rb->backoff_ms;
	rb->backoff_ms = rb->backoff_ms * 2 > LIMIT_BUS_RETRY_MAX_MS ? LIMIT_BUS_RETRY_MAX_MS :
	    rb->backoff_ms * 2;
}

/* Both ways work: from now on events flow; what went by meanwhile is read from the store. */
static void
maybe_up(struct redis_bus *rb)
{
	if (rb->up || !rb->pub_ready || !rb->subscribed)
		return;
	set_up(rb, true);
	rb->backoff_ms = RETRY_MIN_MS;
	rb->attempts = 0;
	rb->heard_self_ms = now_ms();
	if (rb->ever_up) {
		metrics_add(METRIC_BUS_RECONNECTS, 1);
		/*
		 * changes told while the link was down are lost: nothing cached is
		 * trusted, and replies heard of may have ended unheard (those still
		 * being written show with their stored text until their end)
		 */
		remote_replies_clear(rb->replies);
		rb->hooks.changed(rb->hooks.arg, BUS_CHANGED_CHATS);
		rb->hooks.changed(rb->hooks.arg, BUS_CHANGED_BOTS);
	}
	rb->ever_up = true;
	log_info("Redis connected");
	rb->hooks.check(rb->hooks.arg);
}

static void
forget_link(struct redis_bus *rb, const redisAsyncContext *ac)
{
	if (rb->pub == ac)
		rb->pub = NULL;
	if (rb->sub == ac)
		rb->sub = NULL;
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_bus *rb = ac->data;
	if (status != REDIS_OK) {
		forget_link(rb, ac);	/* hiredis frees it */
		lost(rb, ac->errstr[0] ? ac->errstr : "cannot connect");
		return;
	}
	if (ac == rb->pub)
		rb->pub_ready = true;
	maybe_up(rb);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis_bus *rb = ac->data;
	(void)status;
	forget_link(rb, ac);		/* hiredis frees it */
	lost(rb, ac->errstr[0] ? ac->errstr : "connection closed");
}

static redisAsyncContext *
open_link(struct redis_bus *rb)
{
	redisAsyncContext *ac = rb->path[0] ? redisAsyncConnectUnix(rb->path) :
	    redisAsyncConnect(rb->address, rb->port);
	if (ac == NULL || ac->err) {
		if (ac != NULL)
			redisAsyncFree(ac);
		return NULL;
	}
	ac->data = rb;
	redisLibeventAttach(ac, rb->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	return ac;
}

static void on_message(redisAsyncContext *ac, void *reply, void *arg);

static void
connect_links(struct redis_bus *rb)
{
	rb->opened_ms = now_ms();
	rb->pub = open_link(rb);
	rb->sub = open_link(rb);
	if (rb->pub == NULL || rb->sub == NULL) {
		lost(rb, "cannot connect");
		return;
	}
	redisAsyncCommand(rb->sub, on_message, rb, "SUBSCRIBE %s", rb->channel);
}

/* The host's address, looked up: the links are made to it, or tried again later. */
static void
resolved(int result, struct evutil_addrinfo *found, void *arg)
{
	struct redis_bus *rb = arg;
	rb->resolving = NULL;
	if (result == EVUTIL_EAI_CANCEL)
		return;
	if (result != 0) {
		log_warn("Redis: cannot look up %s (%s); trying again in %u ms", rb->host,
		    evutil_gai_strerror(result), rb->backoff_ms);
		lost(rb, "no address");
		return;
	}
	unsigned n = 0;
	for (struct evutil_addrinfo *a = found; a != NULL; a = a->ai_next)
		n++;
	struct evutil_addrinfo *a = found;
	for (unsigned k = rb->attempts++ % n; k > 0; k--)	/* each attempt the next address */
		a = a->ai_next;
	const void *in = a->ai_family == AF_INET6 ?
	    (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr :
	    (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;
	inet_ntop(a->ai_family, in, rb->address, sizeof rb->address);
	evutil_freeaddrinfo(found);
	connect_links(rb);
}

/*
 * Makes both links: to a unix socket at once; to a host once its name is
 * looked up (hiredis would call getaddrinfo, which can hold up the loop for
 * seconds while DNS is away).
 */
static void
open_links(struct redis_bus *rb)
{
	if (rb->path[0]) {
		connect_links(rb);
		return;
	}
	struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	rb->opened_ms = now_ms();
	rb->resolving = evdns_getaddrinfo(rb->dns, rb->host, NULL, &hints, resolved, rb);
}

/* ---------- sending ---------- */

/* Sends msg (taken) to the other nodes, when the link is there; else they catch up later. */
static void
send_msg(struct redis_bus *rb, json_t *msg)
{
	if (msg == NULL)
		return;
	if (rb->pub_ready) {
		const char *type = json_string_value(json_object_get(msg, "t"));
		json_object_set_new(msg, "n", json_string(rb->node));
		json_object_set_new(msg, "ts", json_integer(clock_ms(CLOCK_REALTIME)));
		char *text = json_dumps(msg, JSON_COMPACT), *line = NULL;
		if (text != NULL && asprintf(&line, "%s %s %s", rb->self, type, text) > 0 &&
		    redisAsyncCommand(rb->pub, NULL, NULL, "PUBLISH %s %b", rb->channel, line,
		    strlen(line)) == REDIS_OK && strcmp(type, "h") != 0)
			metrics_add(METRIC_BUS_PUBLISHED, 1);
		free(line);
		free(text);
	}
	json_decref(msg);
}

/* The heartbeat says whether a chat list is open here (lists_heard), and the setup link's hash. */
static void
send_heartbeat(struct redis_bus *rb)
{
	json_t *msg = json_pack("{s:s, s:b}", "t", "h", "l", bus_lists_heard(&rb->local));
	const char *setup = rb->hooks.setup_hash(rb->hooks.arg);
	if (msg != NULL && setup != NULL)
		json_object_set_new(msg, "s", json_string(setup));
	send_msg(rb, msg);
}

/* A first chat list opened here: the other nodes hear of it now, not at the next tick. */
static void
lists_opened(void *arg)
{
	send_heartbeat(arg);
}

/* Every tick: a heartbeat goes round; silence or a link stuck connecting drops the links. */
static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct redis_bus *rb = arg;
	(void)fd;
	(void)what;
	int64_t now = now_ms();
	if (rb->resolving != NULL)
		return;
	if (rb->pub == NULL && rb->sub == NULL) {
		if (now >= rb->retry_at_ms)
			open_links(rb);
		return;
	}
	if (!rb->up) {
		if (now - rb->opened_ms > LIMIT_BUS_SILENCE_MS)
			lost(rb, "no answer");
		return;
	}
	if (now - rb->heard_self_ms > LIMIT_BUS_SILENCE_MS) {
		lost(rb, "its heartbeat did not come back");
		return;
	}
	send_heartbeat(rb);
	if (now >= rb->next_check_ms) {
		rb->next_check_ms = now + LIMIT_BUS_CHECK_SECONDS * 1000;
		rb->hooks.check(rb->hooks.arg);
	}
}

/* ---------- hearing ---------- */

static const char *
str(json_t *msg, const char *key)
{
	return json_string_value(json_object_get(msg, key));
}

/* A chat id field that is one (or absent: NULL). */
static const char *
chat_of(json_t *msg)
{
	const char *id = str(msg, "c");
	return id != NULL && id_valid(id) ? id : NULL;
}

static void
heard_event(struct redis_bus *rb, json_t *msg)
{
	const char *chat = chat_of(msg), *name = str(msg, "e");
	json_t *id = json_object_get(msg, "i");
	if (chat == NULL || name == NULL || !json_is_integer(id) || json_integer_value(id) < 0)
		return;
	remote_replies_note(rb->replies, chat, name, json_object_get(msg, "d"));
	hub_publish(rb->hub, chat, (uint64_t)json_integer_value(id), name,
	    json_object_get(msg, "d"));
}

static void
heard_end_streams(struct redis_bus *rb, json_t *msg)
{
	struct bus_match m = { chat_of(msg), str(msg, "u"), str(msg, "k"), str(msg, "r") };
	if (m.reason != NULL)
		hub_end_streams(rb->hub, &m);
}

static void
heard_list(struct redis_bus *rb, json_t *msg)
{
	json_t *audience = json_object_get(msg, "a");
	if (str(msg, "e") != NULL)
		hub_publish_list(rb->hub, json_is_array(audience) ? audience : NULL,
		    json_is_true(json_object_get(msg, "p")), str(msg, "e"), json_object_get(msg, "d"));
}

static void
heard_change(struct redis_bus *rb, json_t *msg)
{
	json_t *what = json_object_get(msg, "w");
	if (json_is_integer(what) && json_integer_value(what) >= BUS_CHANGED_CHATS &&
	    json_integer_value(what) <= BUS_CHANGED_BOTS)
		rb->hooks.changed(rb->hooks.arg, (enum bus_change)json_integer_value(what));
}

/* How long the message took from its node (as the nodes' clocks tell). */
static void
note_lag(struct redis_bus *rb, json_t *msg)
{
	json_t *ts = json_object_get(msg, "ts");
	if (!json_is_integer(ts))
		return;
	int64_t lag = clock_ms(CLOCK_REALTIME) - json_integer_value(ts);
	metrics_add(METRIC_BUS_LAG_MS, lag - rb->lag_ms);
	rb->lag_ms = lag;
}

/* A message from another node: "TYPE JSON" after its origin. */
static void
heard_from(struct redis_bus *rb, const char *origin, const char *type, json_t *msg)
{
	if (strcmp(type, "h") == 0) {
		if (json_is_true(json_object_get(msg, "l")))
			rb->lists_ms = now_ms();
		if (str(msg, "s") != NULL && strlen(str(msg, "s")) == SECRET_HEX)
			rb->hooks.setup_heard(rb->hooks.arg, str(msg, "s"));
	} else {
		metrics_add(METRIC_BUS_RECEIVED, 1);
		note_lag(rb, msg);
		if (strcmp(type, "e") == 0)
			heard_event(rb, msg);
		else if (strcmp(type, "l") == 0)
			heard_list(rb, msg);
		else if (strcmp(type, "x") == 0 && chat_of(msg) != NULL)
			hub_end_chat(rb->hub, chat_of(msg));
		else if (strcmp(type, "s") == 0)
			heard_end_streams(rb, msg);
		else if (strcmp(type, "f") == 0 && chat_of(msg) != NULL)
			bus_forget(&rb->local, chat_of(msg));
		else if (strcmp(type, "g") == 0)
			heard_change(rb, msg);
		else if (strcmp(type, "w") == 0 && chat_of(msg) != NULL && str(msg, "to") != NULL &&
		    strcmp(str(msg, "to"), rb->node_id) == 0)
			rb->hooks.turn(rb->hooks.arg, chat_of(msg));
		else if (strcmp(type, "p") == 0 && chat_of(msg) != NULL &&
		    json_is_array(json_object_get(msg, "p")))
			rb->hooks.presence(rb->hooks.arg, chat_of(msg), origin,
			    json_object_get(msg, "p"));
		else if (strcmp(type, "a") == 0 && str(msg, "u") != NULL && str(msg, "a") != NULL)
			rb->hooks.sign_in(rb->hooks.arg, str(msg, "u"), str(msg, "a"),
			    json_is_true(json_object_get(msg, "f")));
		else if (strcmp(type, "r") == 0 && str(msg, "u") != NULL && str(msg, "d") != NULL)
			rb->hooks.renamed(rb->hooks.arg, str(msg, "u"), str(msg, "d"));
	}
}

/* "ORIGIN TYPE JSON": this node's own are only its heartbeat coming back. */
static void
heard(struct redis_bus *rb, const char *text, size_t len)
{
	const char *end = text + len, *sp1 = memchr(text, ' ', len);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
	if (sp2 == NULL || sp2 - sp1 - 1 != 1)
		return;
	char origin[SECRET_LEN + 1], type[2] = { sp1[1], '\0' };
	if (sp1 - text > SECRET_LEN)
		return;
	memcpy(origin, text, (size_t)(sp1 - text));
	origin[sp1 - text] = '\0';
	if (strcmp(origin, rb->self) == 0) {
		if (type[0] == 'h')
			rb->heard_self_ms = now_ms();
		return;
	}
	json_t *msg = json_loadb(sp2 + 1, (size_t)(end - sp2 - 1), 0, NULL);
	if (json_is_object(msg))
		heard_from(rb, origin, type, msg);
	json_decref(msg);
}

static void
on_message(redisAsyncContext *ac, void *reply, void *arg)
{
	struct redis_bus *rb = arg;
	redisReply *r = reply;
	(void)ac;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(r->element[0]->str, "subscribe") == 0) {
		rb->subscribed = true;
		maybe_up(rb);
	} else if (strcmp(r->element[0]->str, "message") == 0 &&
	    r->element[2]->type == REDIS_REPLY_STRING) {
		heard(rb, r->element[2]->str, r->element[2]->len);
	}
}

/* ---------- the bus ---------- */

static void
publish(void *impl, const char *chat_id, uint64_t id, const char *name, json_t *data)
{
	struct redis_bus *rb = impl;
	bus_publish(&rb->local, chat_id, id, name, data);
	if (strcmp(name, "token") != 0)
		remote_replies_note(rb->replies, chat_id, name, data);	/* a reply taken over ends */
	send_msg(rb, json_pack("{s:s, s:s, s:I, s:s, s:O}", "t", "e", "c", chat_id,
	    "i", (json_int_t)id, "e", name, "d", data));
}

static void
end_chat(void *impl, const char *chat_id)
{
	struct redis_bus *rb = impl;
	bus_end_chat(&rb->local, chat_id);
	send_msg(rb, json_pack("{s:s, s:s}", "t", "x", "c", chat_id));
}

static void
end_streams(void *impl, const struct bus_match *m)
{
	struct redis_bus *rb = impl;
	bus_end_streams(&rb->local, m);
	send_msg(rb, json_pack("{s:s, s:s?, s:s?, s:s?, s:s}", "t", "s", "c", m->chat_id,
	    "u", m->user_id, "k", m->credential, "r", m->reason));
}

static void
publish_list(void *impl, json_t *audience, bool personal, const char *name, json_t *data)
{
	struct redis_bus *rb = impl;
	bus_publish_list(&rb->local, audience, personal, name, data);
	send_msg(rb, json_pack("{s:s, s:O?, s:b, s:s, s:O}", "t", "l", "a", audience, "p", personal,
	    "e", name, "d", data));
}

static void
forget(void *impl, const char *chat_id)
{
	struct redis_bus *rb = impl;
	bus_forget(&rb->local, chat_id);
	send_msg(rb, json_pack("{s:s, s:s}", "t", "f", "c", chat_id));
}

/* A chat list is open here, or was said to be open on another node in its last heartbeats. */
static bool
lists_heard(void *impl)
{
	struct redis_bus *rb = impl;
	return bus_lists_heard(&rb->local) || now_ms() - rb->lists_ms < LIMIT_BUS_SILENCE_MS;
}

static void
changed(void *impl, enum bus_change what)
{
	send_msg(impl, json_pack("{s:s, s:i}", "t", "g", "w", (int)what));
}

static json_t *
reply_elsewhere(void *impl, const char *chat_id)
{
	struct redis_bus *rb = impl;
	return remote_replies_get(rb->replies, chat_id);
}

static void
publish_here(void *impl, const char *chat_id, const char *name, json_t *data)
{
	struct redis_bus *rb = impl;
	bus_publish_local(&rb->local, chat_id, name, data);
}

/* Read back from the store: a reply it ends is no longer being written elsewhere. */
static void
deliver_here(void *impl, const char *chat_id, uint64_t id, const char *name, json_t *data)
{
	struct redis_bus *rb = impl;
	remote_replies_note(rb->replies, chat_id, name, data);
	hub_publish(rb->hub, chat_id, id, name, data);
}

static void
share_presence(void *impl, const char *chat_id, json_t *people)
{
	send_msg(impl, json_pack("{s:s, s:s, s:O}", "t", "p", "c", chat_id, "p", people));
}

static void
ask_turn(void *impl, const char *to, const char *chat_id)
{
	send_msg(impl, json_pack("{s:s, s:s, s:s}", "t", "w", "to", to, "c", chat_id));
}

/* (A name cut short mid-character is no JSON string: that one is counted here only.) */
static void
sign_in(void *impl, const char *name, const char *address, bool failed)
{
	send_msg(impl, json_pack("{s:s, s:s, s:s, s:b}", "t", "a", "u", name, "a", address,
	    "f", failed));
}

static void
renamed(void *impl, const char *user_id, const char *name)
{
	send_msg(impl, json_pack("{s:s, s:s, s:s}", "t", "r", "u", user_id, "d", name));
}

const char *
redis_bus_node_id(const struct redis_bus *rb)
{
	return rb->node_id;
}

struct bus
redis_bus_bus(struct redis_bus *rb)
{
	static const struct bus_ops ops = { publish, end_chat, end_streams, publish_list, forget,
	    lists_heard, changed, reply_elsewhere, deliver_here, publish_here, share_presence,
	    ask_turn, sign_in, renamed };
	return (struct bus){ &ops, rb };
}

bool
redis_bus_up(const struct redis_bus *rb)
{
	return rb->up;
}


/* ---------- life cycle ---------- */

/* redis://HOST[:PORT] (an IPv6 address in brackets) or unix:///PATH into rb; -1 when it is neither. */
static int
parse_url(struct redis_bus *rb, const char *url)
{
	if (strncmp(url, "unix://", 7) == 0) {
		snprintf(rb->path, sizeof rb->path, "%s", url + 7);
		return rb->path[0] == '/' ? 0 : -1;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return -1;
	const char *host = url + 8, *end = host[0] == '[' ? strchr(host, ']') : NULL;
	if (host[0] == '[' && end == NULL)
		return -1;
	const char *colon = strrchr(end ? end : host, ':');
	size_t len = end ? (size_t)(end - host) - 1 : colon ? (size_t)(colon - host) :
	    strcspn(host, "/");
	if (len == 0 || len >= sizeof rb->host || (end && end[1] != '\0' && end[1] != ':' &&
	    end[1] != '/'))
		return -1;
	memcpy(rb->host, host + (end != NULL), len);
	rb->host[len] = '\0';
	rb->port = 6379;
	if (colon != NULL) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (port < 1 || port > 65535 || (*end != '\0' && *end != '/'))
			return -1;
		rb->port = (int)port;
	}
	return 0;
}

struct redis_bus *
redis_bus_new(struct event_base *base, const char *url, const char *node,
    const char *deployment, struct hub *hub, const struct redis_bus_hooks *hooks, char **err)
{
	struct redis_bus *rb = xcalloc(1, sizeof *rb);
	if (parse_url(rb, url) != 0) {
		*err = xstrdup("a Redis address is redis://HOST[:PORT] or unix:///PATH");
		free(rb);
		return NULL;
	}
	rb->base = base;
	rb->hub = hub;
	rb->local = hub_bus(hub);
	rb->hooks = *hooks;
	rb->replies = remote_replies_new();
	hub_on_lists(hub, lists_opened, rb);
	snprintf(rb->node, sizeof rb->node, "%s", node);
	snprintf(rb->channel, sizeof rb->channel, "parley:%s", deployment);
	secret_new(rb->self);
	snprintf(rb->node_id, sizeof rb->node_id, "%.40s/%.16s", node, rb->self);
	rb->backoff_ms = RETRY_MIN_MS;
	if (rb->path[0] == '\0')
		rb->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	rb->tick = event_new(base, -1, EV_PERSIST, tick, rb);
	struct timeval every = { LIMIT_BUS_TICK_MS / 1000, LIMIT_BUS_TICK_MS % 1000 * 1000 };
	event_add(rb->tick, &every);
	open_links(rb);
	return rb;
}

void
redis_bus_free(struct redis_bus *rb)
{
	if (rb == NULL)
		return;
	rb->closing = true;
	hub_on_lists(rb->hub, NULL, NULL);
	event_free(rb->tick);
	if (rb->resolving != NULL)
		evdns_getaddrinfo_cancel(rb->resolving);
	if (rb->dns != NULL)
		evdns_base_free(rb->dns, 1);
	drop_links(rb);
	remote_replies_free(rb->replies);
	free(rb);
}
