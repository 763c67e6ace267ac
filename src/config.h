/*
 * config.h - the command line and its environment twins (SPEC §1).
 * config_parse() is pure: it reads argv and a getenv-like function, and
 * reports a bad flag as one line of text. Called once by main().
 */
#ifndef PARLEY_CONFIG_H
#define PARLEY_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

#include "util/cidr.h"
#include "util/log.h"

#define PARLEY_VERSION "0.1.0"

/* Who people are (SPEC section 7). */
enum auth_mode {
	AUTH_ACCOUNTS,		/* people sign in; sessions and API tokens */
	AUTH_PROXY,		/* a trusted reverse proxy names them in a header */
	AUTH_NONE,		/* no accounts: one person, on a loopback address only */
};

struct config {
	char		 host[256];
	unsigned	 port;
	char		 db[4096];
	char		 redis[1024];
	char		 node[64];	/* this node's name (--node; default the host name) */
	char		 public_url[1024];	/* how people reach the server, or "" */
	unsigned	 keepalive_seconds;
	unsigned	 threads;
	unsigned	 typing_ms;		/* built-in bots: pause between words */
	unsigned	 model_timeout_seconds;	/* model server silence that fails a reply */
	unsigned	 request_timeout_seconds; /* a request must arrive whole within */
	unsigned	 stream_buffer_kib;	/* unsent stream output before a cut-off */
	bool		 demo;
	bool		 allow_link_local;	/* bots may reach link-local addresses */
	enum auth_mode	 auth;
	char		 auth_header[128];	/* --auth proxy: the header naming the user */
	char		 trusted_proxy_text[512];
	struct cidr_list trusted_proxy;		/* where that header and /metrics are believed */
	unsigned	 session_days;		/* a session unused this long expires */
	char		 reset_name[64];	/* parley admin reset NAME */
	char		 copy_from[4096];	/* parley copy --from FILE (SQLite) */
	char		 copy_to[4096];		/* ... --to URL (PostgreSQL) */
	bool		 sync_full;		/* commits wait for the disk (power loss) */
	enum log_level	 log_level;
};

enum config_result {
	CONFIG_SERVE,		/* run the server with cfg */
	CONFIG_HELP,		/* print the usage, exit 0 */
	CONFIG_VERSION,		/* print the version, exit 0 */
	CONFIG_ADMIN_RESET,	/* give reset_name a new password (parley admin reset) */
	CONFIG_COPY,		/* copy copy_from into copy_to (parley copy) */
	CONFIG_ERROR,		/* err holds one line; exit 2 */
};

typedef const char *(*config_getenv_fn)(const char *name);

enum config_result config_parse(struct config *cfg, int argc, char **argv,
		    config_getenv_fn env, char *err, size_t errlen);
extern const char config_usage[];

#endif
