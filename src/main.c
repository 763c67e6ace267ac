/*
 * main.c - start-up and shutdown: parses the command line, opens the store,
 * builds the hub, the events module and the services on the main loop,
 * starts the HTTP server, and on SIGINT/SIGTERM stops accepting, ends open
 * streams cleanly and exits 0 within a few seconds.
 */
#include "api/handlers.h"
#include "api/routes.h"
#include "backends/backend.h"
#include "chat/accounts.h"
#include "chat/bots.h"
#include "chat/catchup.h"
#include "chat/chats.h"
#include "chat/control.h"
#include "chat/presence.h"
#include "chat/events.h"
#include "chat/members.h"
#include "chat/turns.h"
#include "config.h"
#include "http/origin.h"
#include "http/server.h"
#include "hub/hub.h"
#include "hub/redis_bus.h"
#include "limits.h"
#include "metrics.h"
#include "store/copy.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/fiber.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "web/page_cache.h"
#include "web/render.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Everything the server runs with, owned by main(). */
struct runtime {
	const struct config	*cfg;
	struct event_base	*base;
	struct store		*store;
	struct hub		*hub;
	struct redis_bus	*redis;		/* with --redis: the other nodes */
	struct events		*events;
	struct bots		*bots;
	struct turns		*turns;
	struct chats		*chats;
	struct catchup		*catchup;
	struct control		*control;
	struct presence		*presence;
	struct accounts		*accounts;
	struct members		*members;
	struct page_cache	*pages;
	struct origin		*origin;
	struct handlers		 handlers;
	struct server		*server;
	struct event		*sigint, *sigterm, *drain;
	struct event		*db_check;	/* the database is still there, streams not behind it */
	int64_t			 stop_by_ms;	/* shutting down: the loop stops by then (monotonic) */
	bool			 shutting_down;	/* a signal came: later ones are ignored */
	bool			 replies_stopped;	/* shutting down: stop_replies() ran */
	char			 setup[SECRET_LEN + 1];	/* the first admin's setup token, or "" */
};

static const char *
env_lookup(const char *name)
{
	return getenv(name);
}

/* The demo's bots, created unless a bot of that name exists; their ids in ids. */
static void
seed_demo_bots(struct store *st, json_t *ids)
{
	static const char *const demo[][3] = {
		{ "Echo", "echo", "Repeats what the last person said." },
		{ "Eliza", "eliza", "A Rogerian therapist from 1966." },
		{ "Dice", "dice", "Rolls dice such as 2d6+1 or d20." },
	};
	for (size_t i = 0; i < 3; i++) {
		json_t *bot, *fields = json_pack("{s:s, s:s, s:s, s:n, s:n, s:n, s:f, s:i, s:f}",
		    "name", demo[i][0], "backend", demo[i][1], "persona", demo[i][2], "model",
		    "base_url", "api_key_env", "temperature", 0.7, "max_tokens", 512,
		    "talkativeness", 0.5);
		if (store_bot_create(st, fields, &bot) == STORE_OK || store_bot_get(st, demo[i][0],
		    &bot) == STORE_OK) {
			json_array_append(ids, json_object_get(bot, "id"));
			json_decref(bot);
		}
		json_decref(fields);
	}
}

/* With --demo on an empty database: the built-in bots and a welcome chat with them. */
static void
seed_demo(struct store *st)
{
	json_t *chats = store_chat_list(st, NULL, 1, NULL), *chat, *bot_ids = json_array();
	size_t existing = json_array_size(chats);
	json_decref(chats);
	if (existing == 0)
		seed_demo_bots(st, bot_ids);
	if (existing == 0 && store_chat_create(st, "Welcome to Parley", "mentions", bot_ids, NULL,
	    &chat) == STORE_OK) {
		struct message_in in = { .chat_id = json_string_value(json_object_get(chat, "id")),
		    .kind = "system", .author = "Parley", .state = "complete",
		    .body = "Welcome! Every tab open on this chat sees each message at once. "
		    "Call a bot by name: @Echo repeats you, @Eliza listens, "
		    "@Dice rolls 2d6+1." };
		struct message_added added;
		if (store_messages_add(st, &in, 1, &added) == STORE_OK)
			json_decref(added.message);
		json_decref(chat);
	}
	json_decref(bot_ids);
}

/*
 * Polls until the replies were stopped and every stream has closed, or the
 * deadline passes (the services may be stuck on an unreachable database),
 * then stops the loop.
 */
static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct runtime *rt = arg;
	(void)fd;
	(void)what;
	if ((rt->replies_stopped && hub_subscriber_count(rt->hub) == 0) ||
	    monotonic_ms() >= rt->stop_by_ms) {
		event_base_loopexit(rt->base, NULL);
		return;
	}
	struct timeval tick = { 0, 20 * 1000 };
	evtimer_add(rt->drain, &tick);
}

/* Replies end "stopped", streams end, and the loop stops once they are gone. */
static void
stop_replies(void *arg)
{
	struct runtime *rt = arg;
	turns_stop_all(rt->turns);
	hub_end_all(rt->hub);
	rt->replies_stopped = true;
	if (!evtimer_pending(rt->drain, NULL))
		drain_check(-1, 0, rt);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct runtime *rt = arg;
	(void)what;
	if (rt->shutting_down)
		return;
	rt->shutting_down = true;
	log_info("signal %d: shutting down", (int)sig);
	chats_shutdown(rt->chats);
	server_stop_accepting(rt->server);
	rt->stop_by_ms = monotonic_ms() + LIMIT_SHUTDOWN_MS;	/* SPEC: exit within 5 s */
	drain_check(-1, 0, rt);
	fiber_run_serial(stop_replies, rt);	/* after the services' turn in hand */
}

/*
 * Every LIMIT_DB_CHECK_SECONDS: the database is still there (logged once
 * when the file is gone); on PostgreSQL without Redis, the chats with
 * streams here are not behind it either (a commit whose answer the broken
 * connection lost may have stored events nobody published). With Redis,
 * the bus checks that every LIMIT_BUS_CHECK_SECONDS.
 */
static void
check_database(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct runtime *rt = arg;
	store_available(rt->store);
	if (rt->redis == NULL && store_is_postgres_url(rt->cfg->db) && !rt->shutting_down)
		catchup_all(rt->catchup);
}

/* The hub tells presence of each stream that leaves a chat. */
static void
presence_left(void *arg, const char *chat_id, uint64_t id)
{
	presence_leave(arg, chat_id, id);
}

/* The Redis bus: bring every chat with streams here up to the store. */
static void
check_chats(void *arg)
{
	struct runtime *rt = arg;
	catchup_all(rt->catchup);
}

/* The Redis bus: another node changed what this one keeps in memory. */
static void
heard_change(void *arg, enum bus_change what)
{
	struct runtime *rt = arg;
	if (what == BUS_CHANGED_CHATS)
		events_heard_change(rt->events);
	else
		bots_heard_change(rt->bots);
	turns_bots_changed(rt->turns, NULL);	/* a chat's bots, or a bot, may be gone */
}

/* The Redis bus: who another node has in a chat. */
static void
heard_presence(void *arg, const char *chat_id, const char *origin, json_t *people)
{
	struct runtime *rt = arg;
	presence_heard(rt->presence, chat_id, origin, people);
}

/* Another node asked something of the turn flow of a chat whose lease this node holds. */
static void
heard_turn(void *arg, const char *chat_id)
{
	struct runtime *rt = arg;
	turns_asked(rt->turns, chat_id);
}

/* A user renamed on another node: listed by the new name here too. */
static void
heard_rename(void *arg, const char *user_id, const char *name)
{
	struct runtime *rt = arg;
	presence_renamed(rt->presence, user_id, name);
}

/* A sign-in on another node: its failure counts here too. */
static void
heard_sign_in(void *arg, const char *name, const char *address, bool failed)
{
	struct runtime *rt = arg;
	accounts_count_sign_in(rt->accounts, name, address, failed);
}

/* The Redis bus: this node's setup link to share, and another node's heard. */
static const char *
setup_to_share(void *arg)
{
	struct runtime *rt = arg;
	return accounts_setup_hash(rt->accounts);
}

static void
heard_setup(void *arg, const char *hash)
{
	struct runtime *rt = arg;
	accounts_setup_heard(rt->accounts, hash);
}

/* The bus events go out through: this process's hub, or with --redis every node's. */
static int
build_bus(struct runtime *rt, struct bus *bus)
{
	const struct config *cfg = rt->cfg;
	rt->hub = hub_new(rt->base, cfg->threads, render_event_frame);
	*bus = hub_bus(rt->hub);
	if (cfg->redis[0] == '\0')
		return 0;
	char *err = NULL;
	struct redis_bus_hooks hooks = { check_chats, heard_change, heard_presence, heard_turn,
	    heard_sign_in, heard_rename, setup_to_share, heard_setup, rt };
	rt->redis = redis_bus_new(rt->base, cfg->redis, cfg->node, store_deployment(rt->store),
	    rt->hub, &hooks, &err);
	if (rt->redis == NULL) {
		fprintf(stderr, "parley: --redis %s: %s\n", cfg->redis, err ? err : "?");
		free(err);
		return -1;
	}
	*bus = redis_bus_bus(rt->redis);
	return 0;
}


/* The hub, the events module and the services, on the main loop. */
static int
build_services(struct runtime *rt)
{
	const struct config *cfg = rt->cfg;
	struct backend_opts opts = { .typing_ms = cfg->typing_ms,
	    .idle_timeout_s = cfg->model_timeout_seconds,
	    .allow_link_local = cfg->allow_link_local };
	struct bus bus;
	if (build_bus(rt, &bus) != 0)
		return -1;
	rt->events = events_new(rt->base, rt->store, bus);
	rt->turns = turns_new(rt->base, rt->store, rt->events, &opts);
	rt->bots = bots_new(rt->base, rt->store, rt->events, rt->turns, cfg->allow_link_local);
	/*
	 * Replies a crash left streaming are marked stopped. With several nodes
	 * only those no lease covers (a node without --redis wrote them): a live
	 * node's reply is under its lease, and the node taking a dead node's
	 * lapsed lease over ends its reply.
	 */
	if (rt->redis != NULL)
		turns_share(rt->turns, redis_bus_node_id(rt->redis));
	turns_recover(rt->turns);
	rt->chats = chats_new(rt->store, rt->events, rt->bots, rt->turns);
	rt->catchup = catchup_new(rt->store, rt->chats, rt->events, rt->hub);
	rt->control = control_new(rt->store, rt->events, rt->chats, rt->bots, rt->turns);
	rt->presence = presence_new(rt->base, rt->events);
	hub_on_leave(rt->hub, presence_left, rt->presence);
	rt->accounts = accounts_new(rt->base, rt->store, bus, cfg->auth, cfg->session_days);
	if (rt->redis != NULL)
		accounts_share(rt->accounts);
	accounts_on_rename(rt->accounts, presence_renamed, rt->presence);
	rt->members = members_new(rt->store, rt->events, rt->chats);
	rt->pages = page_cache_new();
	rt->handlers = (struct handlers){ .chats = rt->chats, .control = rt->control,
	    .bots = rt->bots,
	    .accounts = rt->accounts, .members = rt->members, .presence = rt->presence,
	    .hub = rt->hub, .catchup = rt->catchup, .redis = rt->redis,
	    .store = rt->store, .origin = rt->origin, .cfg = cfg, .pages = rt->pages, .keepalive_seconds = cfg->keepalive_seconds,
	    .stream_buffer_bytes = (size_t)cfg->stream_buffer_kib * 1024 };
	return 0;
}

/* The --db value as messages may show it: a URL's password hidden. */
static const char *
db_label(const char *db, char *out, size_t len)
{
	const char *scheme = strstr(db, "://");
	const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
	const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
	if (colon == NULL)
		snprintf(out, len, "%s", db);
	else
		snprintf(out, len, "%.*s:***%s", (int)(colon - db), db, at);
	return out;
}

static int
start(struct runtime *rt)
{
	const struct config *cfg = rt->cfg;
	char *err = NULL;
	rt->store = store_open(cfg->db, cfg->sync_full, &err);
	if (rt->store == NULL) {
		char label[sizeof cfg->db];
		fprintf(stderr, "parley: cannot open database %s: %s\n",
		    db_label(cfg->db, label, sizeof label), err ? err : "?");
		free(err);
		return -1;
	}
	store_set_accounts(rt->store, cfg->auth != AUTH_NONE);
	if (cfg->demo)
		seed_demo(rt->store);
	if ((rt->origin = origin_new(cfg->host, cfg->public_url, &err)) == NULL) {
		fprintf(stderr, "parley: %s\n", err ? err : "bad --public-url");
		free(err);
		return -1;
	}
	if (build_services(rt) != 0)
		return -1;
	if (store_is_postgres_url(cfg->db))
		fiber_enable(rt->base);		/* round trips wait in fibers, the loop goes on */
	if (accounts_first_admin(rt->accounts, getenv("PARLEY_ADMIN"),
	    getenv("PARLEY_ADMIN_PASSWORD"), rt->setup, &err) != 0) {
		fprintf(stderr, "parley: %s\n", err ? err : "cannot create the administrator");
		free(err);
		return -1;
	}
	struct server_routes routes = routes_for(&rt->handlers);
	rt->server = server_start(rt->base, cfg->host, cfg->port, cfg->request_timeout_seconds,
	    &routes, &err);
	if (rt->server == NULL) {
		fprintf(stderr, "parley: %s\n", err ? err : "cannot start the server");
		free(err);
		return -1;
	}
	return 0;
}

static void
wake_up(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/*
 * Lets the requests and commits still waiting for the database finish (for
 * LIMIT_SHUTDOWN_FIBERS_MS past the loop's deadline), then turns fibers off
 * (the rest of shutdown waits on the spot); false when some still wait.
 */
static bool
finish_fibers(struct runtime *rt)
{
	int64_t by = (rt->stop_by_ms ? rt->stop_by_ms : monotonic_ms()) + LIMIT_SHUTDOWN_FIBERS_MS;
	struct event *wake = evtimer_new(rt->base, wake_up, NULL);
	int64_t left;
	while (fiber_count() > 0 && (left = by - monotonic_ms()) > 0) {
		struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000 * 1000) };
		evtimer_add(wake, &tv);	/* the loop waits no longer than that */
		event_base_loop(rt->base, EVLOOP_ONCE);
	}
	event_free(wake);
	if (fiber_count() > 0) {
		log_error("shutdown: %u requests still wait for the database; stopping without them",
		    fiber_count());
		return false;
	}
	fiber_disable();
	return true;
}

static void
stop(struct runtime *rt)
{
	rt->shutting_down = true;	/* the loops below run no handler on freed services */
	if (rt->db_check) {
		event_del(rt->db_check);
		event_del(rt->drain);
	}
	if (!finish_fibers(rt)) {
		/* what still waits holds memory and the connection: the process goes with it */
		log_info("stopped");
		fflush(stdout);
		_exit(0);
	}
	if (rt->chats != NULL) {
		chats_shutdown(rt->chats);
		events_flush(rt->events);	/* commits and answers the last posts */
	}
	server_free(rt->server);
	/* run the stream teardowns that closing the connections scheduled */
	event_base_loop(rt->base, EVLOOP_NONBLOCK);
	if (rt->turns != NULL)
		turns_free(rt->turns);
	members_free(rt->members);
	accounts_free(rt->accounts);
	control_free(rt->control);
	catchup_free(rt->catchup);
	chats_free(rt->chats);
	if (rt->bots != NULL)
		bots_free(rt->bots);
	if (rt->hub)
		hub_on_leave(rt->hub, NULL, NULL);	/* the last streams leave nobody's sight */
	presence_free(rt->presence);
	events_free(rt->events);
	redis_bus_free(rt->redis);
	if (rt->hub)
		hub_free(rt->hub);
	if (rt->pages)
		page_cache_free(rt->pages);
	origin_free(rt->origin);
	store_close(rt->store);
	if (rt->sigint) {
		event_free(rt->sigint);
		event_free(rt->sigterm);
		event_free(rt->drain);
		event_free(rt->db_check);
	}
	event_base_free(rt->base);
	libevent_global_shutdown();
}

/* The listening line (SPEC section 1) and, with no user yet, the one-time setup link. */
static void
announce(struct runtime *rt)
{
	const char *host = rt->cfg->host;
	bool v6 = strchr(host, ':') != NULL;
	char base[300];
	snprintf(base, sizeof base, "http://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
	    server_port(rt->server));
	printf("parley listening on %s\n", base);
	if (rt->setup[0] != '\0')
		printf("parley setup: %s/setup?token=%s\n", base, rt->setup);
	fflush(stdout);
	explicit_bzero(rt->setup, sizeof rt->setup);
}

/* parley admin reset NAME: a new password, printed; the server must be stopped. */
static int
admin_reset(const struct config *cfg)
{
	char *err = NULL, password[SECRET_LEN + 1], label[sizeof cfg->db];
	struct store *st = store_open(cfg->db, cfg->sync_full, &err);
	if (st == NULL) {
		fprintf(stderr, "parley: cannot open database %s: %s (stop the server first)\n",
		    db_label(cfg->db, label, sizeof label), err ? err : "?");
		free(err);
		return 1;
	}
	/* a running server would still know the old sign-ins */
	if (store_servers_using(st) != 0) {
		fprintf(stderr, "parley: a Parley server is using database %s: stop it first\n",
		    db_label(cfg->db, label, sizeof label));
		store_close(st);
		return 1;
	}
	int rc = accounts_reset_password(st, cfg->reset_name, password, &err);
	store_close(st);
	if (rc != 0) {
		fprintf(stderr, "parley: %s\n", err ? err : "the reset failed");
		free(err);
		return 1;
	}
	printf("new password for %s: %s\nsign in with it and change it on your account page\n",
	    cfg->reset_name, password);
	explicit_bzero(password, sizeof password);
	return 0;
}

/* parley copy --from FILE --to URL: the deployment into an empty PostgreSQL (SPEC §10). */
static int
copy_deployment(const struct config *cfg)
{
	struct copy_counts n;
	char *err = NULL;
	if (store_copy(cfg->copy_from, cfg->copy_to, &n, &err) != 0) {
		fprintf(stderr, "parley: %s\n", err ? err : "the copy failed");
		free(err);
		return 1;
	}
	printf("copied %lu users, %lu sessions, %lu API tokens, %lu bots, %lu chats"
	    " (%lu chat bots, %lu members, %lu invites), %lu messages (%lu alternatives),"
	    " %lu logged events\n", n.users, n.sessions, n.tokens, n.bots, n.chats, n.chat_bots,
	    n.members, n.invites, n.messages, n.alternatives, n.events);
	return 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	char err[512];

	switch (config_parse(&cfg, argc, argv, env_lookup, err, sizeof err)) {
	case CONFIG_HELP:
		fputs(config_usage, stdout);
		return 0;
	case CONFIG_VERSION:
		printf("parley %s\n", PARLEY_VERSION);
		return 0;
	case CONFIG_ERROR:
		fprintf(stderr, "%s\n", err);
		return 2;
	case CONFIG_ADMIN_RESET:
		log_set_level(cfg.log_level);
		return admin_reset(&cfg);
	case CONFIG_COPY:
		log_set_level(cfg.log_level);
		return copy_deployment(&cfg);
	case CONFIG_SERVE:
		break;
	}
	if (cfg.redis[0] != '\0' && !store_is_postgres_url(cfg.db)) {
		fprintf(stderr, "parley: --redis needs a PostgreSQL --db (postgres://...): several "
		    "nodes share one database, not a SQLite file\n");
		return 2;
	}
	if (cfg.redis[0] != '\0')
		log_set_node(cfg.node);
	log_set_level(cfg.log_level);
	metrics_set_node(cfg.node);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Frames are freed on other threads than the one that made them; glibc
	 * would trim and regrow its arenas (munmap, TLB shootdowns) all the time.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	evthread_use_pthreads();	/* shards wake each other's loops */

	struct runtime rt = { .cfg = &cfg, .base = event_base_new() };
	if (start(&rt) != 0) {
		stop(&rt);
		curl_global_cleanup();
		return 1;
	}
	rt.sigint = evsignal_new(rt.base, SIGINT, on_signal, &rt);
	rt.sigterm = evsignal_new(rt.base, SIGTERM, on_signal, &rt);
	rt.drain = evtimer_new(rt.base, drain_check, &rt);
	rt.db_check = event_new(rt.base, -1, EV_PERSIST, check_database, &rt);
	evsignal_add(rt.sigint, NULL);
	evsignal_add(rt.sigterm, NULL);
	struct timeval db_every = { LIMIT_DB_CHECK_SECONDS, 0 };
	event_add(rt.db_check, &db_every);
	announce(&rt);

	event_base_dispatch(rt.base);
	stop(&rt);
	curl_global_cleanup();
	log_info("stopped");
	return 0;
}
