/*
 * config.c - command-line and environment parsing; see config.h.
 * Order: defaults, then flags, then the environment twins of flags not given
 * (a flag beats its variable, even a variable that would be invalid).
 */
#include "config.h"
#include "http/origin.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char config_usage[] =
    "usage: parley serve [--listen HOST:PORT] [--db PATH] [--redis redis://HOST:PORT]\n"
    "                    [--node NAME]\n"
    "                    [--auth accounts|proxy|none] [--auth-header NAME]\n"
    "                    [--trusted-proxy CIDRS] [--session-days DAYS]\n"
    "                    [--keepalive SECONDS] [--threads N] [--demo]\n"
    "                    [--log-level debug|info|warn|error]\n"
    "                    [--typing-ms MS] [--model-timeout SECONDS]\n"
    "                    [--request-timeout SECONDS] [--stream-buffer KIB]\n"
    "                    [--sync normal|full] [--allow-link-local]\n"
    "                    [--public-url URL]\n"
    "       parley admin reset NAME [--db PATH]\n"
    "       parley copy --from FILE --to postgres://USER@HOST/DB\n"
    "       parley --version\n"
    "       parley --help\n"
    "\n"
    "Every flag has an environment twin: PARLEY_LISTEN, PARLEY_DB, PARLEY_REDIS,\n"
    "PARLEY_KEEPALIVE, PARLEY_THREADS, PARLEY_LOG_LEVEL, PARLEY_TYPING_MS,\n"
    "PARLEY_MODEL_TIMEOUT, PARLEY_REQUEST_TIMEOUT, PARLEY_STREAM_BUFFER, PARLEY_SYNC,\n"
    "PARLEY_ALLOW_LINK_LOCAL (1 or 0), PARLEY_PUBLIC_URL, PARLEY_AUTH, PARLEY_AUTH_HEADER,\n"
    "PARLEY_TRUSTED_PROXY, PARLEY_SESSION_DAYS, PARLEY_NODE. A flag beats its variable.\n"
    "--redis (redis://HOST:PORT or unix:///PATH) needs a postgres:// --db: several nodes\n"
    "then serve the same chats; --node names this one (default: the host name).\n"
    "With no user yet, PARLEY_ADMIN and PARLEY_ADMIN_PASSWORD create the first admin.\n"
    "parley copy moves a whole deployment from a SQLite file (no server running on it)\n"
    "into an empty PostgreSQL database, ids kept; it has no environment twins.\n";

struct option_def {
	const char	*flag;
	const char	*env;
	int		(*set)(struct config *cfg, const char *value);
};

static int
set_listen(struct config *cfg, const char *v)
{
	const char *colon = strrchr(v, ':');
	if (colon == NULL || colon == v)
		return -1;
	const char *host = v;
	size_t host_len = (size_t)(colon - v);
	if (host[0] == '[' && host_len >= 2 && host[host_len - 1] == ']') {
		host++;
		host_len -= 2;
	}
	if (host_len == 0 || host_len >= sizeof cfg->host)
		return -1;
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port > 65535)
		return -1;
	memcpy(cfg->host, host, host_len);
	cfg->host[host_len] = '\0';
	cfg->port = (unsigned)port;
	return 0;
}

static int
set_string(char *dst, size_t size, const char *v)
{
	if (*v == '\0' || strlen(v) >= size)
		return -1;
	strcpy(dst, v);
	return 0;
}

static int
set_db(struct config *cfg, const char *v)
{
	return set_string(cfg->db, sizeof cfg->db, v);
}

static int
set_redis(struct config *cfg, const char *v)
{
	if (strncmp(v, "redis://", 8) != 0 && strncmp(v, "unix:///", 8) != 0)
		return -1;
	return set_string(cfg->redis, sizeof cfg->redis, v);
}

/* A node's name, for logs and metrics: letters, digits, '.', '_', '-'. */
static int
set_node(struct config *cfg, const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != n)
		return -1;
	return set_string(cfg->node, sizeof cfg->node, v);
}

/* An http(s) URL as the origin checks will read it (refused here: exit 2, nothing opened). */
static int
set_public_url(struct config *cfg, const char *v)
{
	return origin_url_valid(v) ? set_string(cfg->public_url, sizeof cfg->public_url, v) : -1;
}

static int
set_auth(struct config *cfg, const char *v)
{
	static const char *const modes[] = { "accounts", "proxy", "none" };
	for (int i = 0; i < 3; i++)
		if (strcmp(v, modes[i]) == 0) {
			cfg->auth = (enum auth_mode)i;
			return 0;
		}
	return -1;
}

static int
set_auth_header(struct config *cfg, const char *v)
{
	for (const char *c = v; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			return -1;
	return set_string(cfg->auth_header, sizeof cfg->auth_header, v);
}

static int
set_trusted_proxy(struct config *cfg, const char *v)
{
	if (cidr_list_parse(&cfg->trusted_proxy, v) != 0)
		return -1;
	return set_string(cfg->trusted_proxy_text, sizeof cfg->trusted_proxy_text, v);
}

static int
set_uint(unsigned *dst, const char *v, unsigned long min, unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n < min || n > max)
		return -1;
	*dst = (unsigned)n;
	return 0;
}

static int
set_keepalive(struct config *cfg, const char *v)
{
	return set_uint(&cfg->keepalive_seconds, v, 1, 3600);
}

static int
set_threads(struct config *cfg, const char *v)
{
	return set_uint(&cfg->threads, v, 1, 64);
}

static int
set_typing_ms(struct config *cfg, const char *v)
{
	return set_uint(&cfg->typing_ms, v, 0, 10000);
}

static int
set_model_timeout(struct config *cfg, const char *v)
{
	return set_uint(&cfg->model_timeout_seconds, v, 1, 3600);
}

static int
set_request_timeout(struct config *cfg, const char *v)
{
	return set_uint(&cfg->request_timeout_seconds, v, 1, 3600);
}

static int
set_stream_buffer(struct config *cfg, const char *v)
{
	return set_uint(&cfg->stream_buffer_kib, v, 16, 1024 * 1024);
}

static int
set_session_days(struct config *cfg, const char *v)
{
	return set_uint(&cfg->session_days, v, 1, 3650);
}

static int
set_sync(struct config *cfg, const char *v)
{
	if (strcmp(v, "normal") != 0 && strcmp(v, "full") != 0)
		return -1;
	cfg->sync_full = strcmp(v, "full") == 0;
	return 0;
}

static int
set_log_level(struct config *cfg, const char *v)
{
	return log_level_parse(v, &cfg->log_level);
}

/* The environment twin of --allow-link-local. */
static int
set_allow_link_local(struct config *cfg, const char *v)
{
	if (strcmp(v, "1") != 0 && strcmp(v, "0") != 0)
		return -1;
	cfg->allow_link_local = strcmp(v, "1") == 0;
	return 0;
}

static const struct option_def options[] = {
	{ "--listen", "PARLEY_LISTEN", set_listen },
	{ "--db", "PARLEY_DB", set_db },
	{ "--redis", "PARLEY_REDIS", set_redis },
	{ "--node", "PARLEY_NODE", set_node },
	{ "--keepalive", "PARLEY_KEEPALIVE", set_keepalive },
	{ "--threads", "PARLEY_THREADS", set_threads },
	{ "--log-level", "PARLEY_LOG_LEVEL", set_log_level },
	{ "--typing-ms", "PARLEY_TYPING_MS", set_typing_ms },
	{ "--model-timeout", "PARLEY_MODEL_TIMEOUT", set_model_timeout },
	{ "--request-timeout", "PARLEY_REQUEST_TIMEOUT", set_request_timeout },
	{ "--stream-buffer", "PARLEY_STREAM_BUFFER", set_stream_buffer },
	{ "--sync", "PARLEY_SYNC", set_sync },
	{ "--allow-link-local", "PARLEY_ALLOW_LINK_LOCAL", set_allow_link_local },
	{ "--public-url", "PARLEY_PUBLIC_URL", set_public_url },
	{ "--auth", "PARLEY_AUTH", set_auth },
	{ "--auth-header", "PARLEY_AUTH_HEADER", set_auth_header },
	{ "--trusted-proxy", "PARLEY_TRUSTED_PROXY", set_trusted_proxy },
	{ "--session-days", "PARLEY_SESSION_DAYS", set_session_days },
};
#define NOPTIONS (sizeof options / sizeof options[0])

static enum config_result
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CONFIG_ERROR;
}

static void
set_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	strcpy(cfg->host, "127.0.0.1");
	cfg->port = 8080;
	strcpy(cfg->db, "parley.db");
	cfg->keepalive_seconds = 15;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->threads = cores < 1 ? 1 : cores > 16 ? 16 : (unsigned)cores;
	cfg->typing_ms = 60;
	cfg->model_timeout_seconds = 60;
	cfg->request_timeout_seconds = 10;
	cfg->stream_buffer_kib = 1024;
	if (gethostname(cfg->node, sizeof cfg->node - 1) != 0 || cfg->node[0] == '\0')
		strcpy(cfg->node, "parley");
	cfg->log_level = LOG_INFO;
	cfg->auth = AUTH_ACCOUNTS;
	strcpy(cfg->auth_header, "X-Forwarded-User");
	set_trusted_proxy(cfg, "127.0.0.1/32,::1/128");
	cfg->session_days = 30;
}

/* A loopback listen address: 127.0.0.0/8 or ::1 written as addresses, or localhost. */
static bool
loopback(const char *host)
{
	struct in_addr v4;
	return (inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) ||
	    strcmp(host, "::1") == 0 || strcmp(host, "localhost") == 0;
}

static const struct option_def *
find_option(const char *arg, size_t len)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strlen(options[i].flag) == len && strncmp(arg, options[i].flag, len) == 0)
			return &options[i];
	return NULL;
}

/* Reads one flag at argv[*i] (with its value, "--f v" or "--f=v"), advancing *i. */
static enum config_result
parse_flag(struct config *cfg, int argc, char **argv, int *i, bool given[],
    char *err, size_t errlen)
{
	const char *arg = argv[*i];
	if (strcmp(arg, "--demo") == 0) {
		cfg->demo = true;
		return CONFIG_SERVE;
	}
	if (strcmp(arg, "--allow-link-local") == 0) {
		cfg->allow_link_local = true;
		given[find_option(arg, strlen(arg)) - options] = true;
		return CONFIG_SERVE;
	}
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
		return CONFIG_HELP;
	const char *eq = strchr(arg, '=');
	const struct option_def *opt = find_option(arg, eq ? (size_t)(eq - arg) : strlen(arg));
	if (opt == NULL)
		return fail(err, errlen, "parley: unknown flag '%s' (see parley --help)", arg);
	const char *value = eq ? eq + 1 : NULL;
	if (value == NULL) {
		if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)
			return fail(err, errlen, "parley: %s needs a value", opt->flag);
		value = argv[++*i];
	}
	if (opt->set(cfg, value) != 0)
		return fail(err, errlen, "parley: invalid value '%s' for %s", value, opt->flag);
	given[opt - options] = true;
	return CONFIG_SERVE;
}

/* Flags from argv[first], then the environment twins of those not given. */
static enum config_result
parse_flags(struct config *cfg, int first, int argc, char **argv, config_getenv_fn env,
    char *err, size_t errlen)
{
	bool given[NOPTIONS] = { false };
	for (int i = first; i < argc; i++) {
		enum config_result r = parse_flag(cfg, argc, argv, &i, given, err, errlen);
		if (r != CONFIG_SERVE)
			return r;
	}
	for (size_t k = 0; k < NOPTIONS; k++) {
		const char *v = given[k] ? NULL : env(options[k].env);
		if (v != NULL && *v != '\0' && options[k].set(cfg, v) != 0)
			return fail(err, errlen, "parley: invalid value '%s' in %s", v, options[k].env);
	}
	return CONFIG_SERVE;
}

/* parley admin reset NAME [flags]: the flags say where the database is. */
static enum config_result
parse_admin(struct config *cfg, int argc, char **argv, config_getenv_fn env, char *err,
    size_t errlen)
{
	if (argc < 4 || strcmp(argv[2], "reset") != 0 || strncmp(argv[3], "--", 2) == 0)
		return fail(err, errlen, "parley: usage: parley admin reset NAME [--db PATH]");
	if (set_string(cfg->reset_name, sizeof cfg->reset_name, argv[3]) != 0)
		return fail(err, errlen, "parley: invalid user name '%s'", argv[3]);
	enum config_result r = parse_flags(cfg, 4, argc, argv, env, err, errlen);
	return r == CONFIG_SERVE ? CONFIG_ADMIN_RESET : r;
}

#define COPY_USAGE "parley copy --from FILE --to postgres://USER@HOST/DB"

/* One flag of parley copy at argv[*i] ("--f v" or "--f=v"), advancing *i. */
static enum config_result
parse_copy_flag(struct config *cfg, int argc, char **argv, int *i, char *err, size_t errlen)
{
	const char *arg = argv[*i], *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	char *dst = len == 6 && strncmp(arg, "--from", 6) == 0 ? cfg->copy_from :
	    len == 4 && strncmp(arg, "--to", 4) == 0 ? cfg->copy_to : NULL;
	if (dst == NULL)
		return fail(err, errlen, "parley: unknown flag '%s' (usage: " COPY_USAGE ")", arg);
	const char *value = eq ? eq + 1 : NULL;
	if (value == NULL) {
		if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)
			return fail(err, errlen, "parley: %.*s needs a value", (int)len, arg);
		value = argv[++*i];
	}
	if (set_string(dst, sizeof cfg->copy_from, value) != 0)
		return fail(err, errlen, "parley: invalid value for %.*s", (int)len, arg);
	return CONFIG_COPY;
}

/* parley copy --from FILE --to URL: both flags, and no others. */
static enum config_result
parse_copy(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return CONFIG_HELP;
		enum config_result r = parse_copy_flag(cfg, argc, argv, &i, err, errlen);
		if (r != CONFIG_COPY)
			return r;
	}
	if (cfg->copy_from[0] == '\0' || cfg->copy_to[0] == '\0')
		return fail(err, errlen, "parley: usage: " COPY_USAGE);
	if (store_is_postgres_url(cfg->copy_from))
		return fail(err, errlen, "parley: --from names a SQLite file, not a URL");
	if (!store_is_postgres_url(cfg->copy_to))
		return fail(err, errlen, "parley: --to needs a postgres:// or postgresql:// URL");
	return CONFIG_COPY;
}

enum config_result
config_parse(struct config *cfg, int argc, char **argv, config_getenv_fn env,
    char *err, size_t errlen)
{
	set_defaults(cfg);
	if (argc < 2)
		return fail(err, errlen, "parley: missing command (see parley --help)");
	if (strcmp(argv[1], "--version") == 0)
		return CONFIG_VERSION;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return CONFIG_HELP;
	if (strcmp(argv[1], "admin") == 0)
		return parse_admin(cfg, argc, argv, env, err, errlen);
	if (strcmp(argv[1], "copy") == 0)
		return parse_copy(cfg, argc, argv, err, errlen);
	if (strcmp(argv[1], "serve") != 0)
		return fail(err, errlen, "parley: unknown command '%s' (see parley --help)", argv[1]);
	enum config_result r = parse_flags(cfg, 2, argc, argv, env, err, errlen);
	if (r == CONFIG_SERVE && cfg->auth == AUTH_NONE && !loopback(cfg->host))
		return fail(err, errlen, "parley: --auth none lets anyone do anything: it needs a "
		    "loopback --listen address, not %s", cfg->host);
	return r;
}
