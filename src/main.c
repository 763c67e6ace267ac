/*
 * main.c - start-up and shutdown: parses the command line, opens the store,
 * starts the HTTP server on one event loop, and on SIGINT/SIGTERM stops
 * accepting, ends open streams cleanly and exits 0 within a few seconds.
 */
#include "app.h"
#include "chat/turns.h"
#include "chat/chats.h"
#include "config.h"
#include "hub/hub.h"
#include "http/server.h"
#include "limits.h"
#include "api/routes.h"
#include "store/store.h"
#include "util/log.h"
#include "web/page_cache.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct runtime {
	struct app	 app;
	struct event	*sigint, *sigterm, *drain;
	time_t		 deadline;
};

static const char *
env_lookup(const char *name)
{
	return getenv(name);
}

/* With --demo on an empty database: the built-in bots and a welcome chat with them. */
static void
seed_demo(struct store *st)
{
	static const char *const demo[][3] = {
		{ "Echo", "echo", "Repeats what the last person said." },
		{ "Eliza", "eliza", "A Rogerian therapist from 1966." },
		{ "Dice", "dice", "Rolls dice such as 2d6+1 or d20." },
	};
	json_t *chats = store_chat_list(st), *chat, *msg, *bot_ids = json_array();
	size_t existing = json_array_size(chats);
	json_decref(chats);
	for (size_t i = 0; existing == 0 && i < 3; i++) {
		json_t *bot, *fields = json_pack("{s:s, s:s, s:s, s:n, s:n, s:n, s:f, s:i, s:f}",
		    "name", demo[i][0], "backend", demo[i][1], "persona", demo[i][2], "model",
		    "base_url", "api_key_env", "temperature", 0.7, "max_tokens", 512,
		    "talkativeness", 0.5);
		if (store_bot_create(st, fields, &bot) == STORE_OK || store_bot_get(st, demo[i][0],
		    &bot) == STORE_OK) {
			json_array_append(bot_ids, json_object_get(bot, "id"));
			json_decref(bot);
		}
		json_decref(fields);
	}
	if (existing == 0 && store_chat_create(st, "Welcome to Parley", "mentions", bot_ids,
	    &chat) == STORE_OK) {
		struct message_in in = { .kind = "system", .author = "Parley", .state = "complete",
		    .body = "Welcome! Every tab open on this chat sees each message at once. "
		    "Call a bot by name: @Echo repeats you, @Eliza listens, "
		    "@Dice rolls 2d6+1." };
		uint64_t event_id;
		if (store_message_add(st, json_string_value(json_object_get(chat, "id")), &in,
		    &msg, &event_id) == STORE_OK)
			json_decref(msg);
		json_decref(chat);
	}
	json_decref(bot_ids);
}

/* Polls until every stream has closed or the deadline passes, then stops the loop. */
static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct runtime *rt = arg;
	(void)fd;
	(void)what;
	if (hub_subscriber_count(rt->app.hub) == 0 || time(NULL) >= rt->deadline) {
		event_base_loopexit(rt->app.base, NULL);
		return;
	}
	struct timeval tick = { 0, 20 * 1000 };
	evtimer_add(rt->drain, &tick);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct runtime *rt = arg;
	(void)what;
	if (rt->app.stopping)
		return;
	log_info("signal %d: shutting down", (int)sig);
	rt->app.stopping = true;
	server_stop_accepting(rt->app.server);
	turns_stop_all(rt->app.turns);
	hub_end_all(rt->app.hub);
	rt->deadline = time(NULL) + LIMIT_SHUTDOWN_SECONDS;
	drain_check(-1, 0, rt);
}

static int
start(struct runtime *rt, const struct config *cfg)
{
	char *err = NULL;
	if (strncmp(cfg->db, "postgres://", 11) == 0 || strncmp(cfg->db, "postgresql://", 13) == 0) {
		fprintf(stderr, "parley: cannot use database %s: PostgreSQL is not supported yet\n", cfg->db);
		return -1;
	}
	if (cfg->redis[0] != '\0') {
		fprintf(stderr, "parley: cannot use Redis at %s: not supported yet\n", cfg->redis);
		return -1;
	}
	rt->app.store = store_open(cfg->db, cfg->sync_full, &err);
	if (rt->app.store == NULL) {
		fprintf(stderr, "parley: cannot open database %s: %s\n", cfg->db, err ? err : "?");
		free(err);
		return -1;
	}
	if (cfg->demo)
		seed_demo(rt->app.store);
	turns_recover(&rt->app);
	rt->app.hub = hub_new(rt->app.base, cfg->threads);
	rt->app.turns = turns_new(&rt->app);
	rt->app.pages = page_cache_new();
	rt->app.posts = posts_new(&rt->app);
	struct server_routes routes = routes_for(&rt->app);
	rt->app.server = server_start(rt->app.base, cfg->host, cfg->port, cfg->request_timeout_seconds,
	    &routes, &err);
	if (rt->app.server == NULL) {
		fprintf(stderr, "parley: %s\n", err ? err : "cannot start the server");
		free(err);
		return -1;
	}
	return 0;
}

static void
stop(struct runtime *rt)
{
	posts_free(rt->app.posts);	/* commits and answers the last posts */
	rt->app.posts = NULL;
	server_free(rt->app.server);
	/* run the stream teardowns that closing the connections scheduled */
	event_base_loop(rt->app.base, EVLOOP_NONBLOCK);
	turns_free(rt->app.turns);
	if (rt->app.hub)
		hub_free(rt->app.hub);
	if (rt->app.pages)
		page_cache_free(rt->app.pages);
	store_close(rt->app.store);
	if (rt->sigint) {
		event_free(rt->sigint);
		event_free(rt->sigterm);
		event_free(rt->drain);
	}
	event_base_free(rt->app.base);
	libevent_global_shutdown();
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
	case CONFIG_SERVE:
		break;
	}
	log_set_level(cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Frames are freed on other threads than the one that made them; glibc
	 * would trim and regrow its arenas (munmap, TLB shootdowns) all the time.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	evthread_use_pthreads();	/* shards wake each other's loops */

	struct runtime rt = { .app = { .cfg = &cfg, .base = event_base_new() } };
	if (start(&rt, &cfg) != 0) {
		stop(&rt);
		curl_global_cleanup();
		return 1;
	}
	rt.sigint = evsignal_new(rt.app.base, SIGINT, on_signal, &rt);
	rt.sigterm = evsignal_new(rt.app.base, SIGTERM, on_signal, &rt);
	rt.drain = evtimer_new(rt.app.base, drain_check, &rt);
	evsignal_add(rt.sigint, NULL);
	evsignal_add(rt.sigterm, NULL);

	printf("parley listening on http://%s%s%s:%u\n", strchr(cfg.host, ':') ? "[" : "",
	    cfg.host, strchr(cfg.host, ':') ? "]" : "", server_port(rt.app.server));
	fflush(stdout);

	event_base_dispatch(rt.app.base);
	stop(&rt);
	curl_global_cleanup();
	log_info("stopped");
	return 0;
}
