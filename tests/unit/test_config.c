/*
 * test_config.c - command line and environment parsing (src/config.c),
 * with a fake getenv.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "config.h"

/* ---------- a fake environment ---------- */

static const char *fake_env[16][2];
static int fake_env_calls;

static void
env_clear(void)
{
	memset(fake_env, 0, sizeof fake_env);
	fake_env_calls = 0;
}

static void
env_set(const char *name, const char *value)
{
	for (size_t i = 0; i < 16; i++) {
		if (fake_env[i][0] == NULL || strcmp(fake_env[i][0], name) == 0) {
			fake_env[i][0] = name;
			fake_env[i][1] = value;
			return;
		}
	}
	fail_msg("fake env full");
}

static const char *
fake_getenv(const char *name)
{
	fake_env_calls++;
	for (size_t i = 0; i < 16 && fake_env[i][0]; i++)
		if (strcmp(fake_env[i][0], name) == 0)
			return fake_env[i][1];
	return NULL;
}

static int
reset(void **state)
{
	(void)state;
	env_clear();
	return 0;
}

/* ---------- helpers ---------- */

static char errbuf[256];

#define PARSE(cfg, ...) parse_argv((cfg), (const char *[]){ "parley", __VA_ARGS__, NULL })

static enum config_result
parse_argv(struct config *cfg, const char **args)
{
	int argc = 0;
	while (args[argc])
		argc++;
	memset(errbuf, 0, sizeof errbuf);
	return config_parse(cfg, argc, (char **)args, fake_getenv, errbuf, sizeof errbuf);
}

static void
assert_defaults(const struct config *c)
{
	assert_string_equal(c->host, "127.0.0.1");
	assert_int_equal(c->port, 8080);
	assert_string_equal(c->db, "parley.db");
	assert_string_equal(c->redis, "");
	char host[64] = "";
	gethostname(host, sizeof host - 1);
	assert_string_equal(c->node, host[0] ? host : "parley");	/* --node: the host name */
	assert_int_equal(c->keepalive_seconds, 15);
	/* one event loop per core by default */
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	assert_int_equal(c->threads, cores < 1 ? 1 : cores > 16 ? 16 : cores);
	assert_false(c->demo);
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->typing_ms, 60);
	assert_int_equal(c->model_timeout_seconds, 60);
	assert_int_equal(c->request_timeout_seconds, 10);
	assert_int_equal(c->stream_buffer_kib, 1024);
	assert_false(c->sync_full);
	assert_int_equal(c->auth, AUTH_ACCOUNTS);
	assert_string_equal(c->auth_header, "X-Forwarded-User");
	assert_string_equal(c->trusted_proxy_text, "127.0.0.1/32,::1/128");
	assert_int_equal(c->session_days, 30);
}

/* An error: CONFIG_ERROR and exactly the expected single line. */
static void
expect_error(const char **args, const char *message)
{
	struct config c;
	assert_int_equal(parse_argv(&c, args), CONFIG_ERROR);
	assert_string_equal(errbuf, message);
	assert_null(strchr(errbuf, '\n'));
}
#define EXPECT_ERROR(message, ...) \
	expect_error((const char *[]){ "parley", __VA_ARGS__, NULL }, (message))

/* ---------- tests ---------- */

static void
test_defaults(void **state)
{
	(void)state;
	struct config c;
	memset(&c, 0x7f, sizeof c);
	assert_int_equal(PARSE(&c, "serve"), CONFIG_SERVE);
	assert_defaults(&c);
	assert_int_equal(fake_env_calls, 18);	/* one look-up per twin */
}

static void
test_flags_space_form(void **state)
{
	(void)state;
	struct config c;
	assert_int_equal(PARSE(&c, "serve", "--listen", "0.0.0.0:9000", "--db", "/tmp/p.db",
	    "--redis", "redis://cache:6379", "--keepalive", "30", "--threads", "4",
	    "--demo", "--log-level", "debug"), CONFIG_SERVE);
	assert_string_equal(c.host, "0.0.0.0");
	assert_int_equal(c.port, 9000);
	assert_string_equal(c.db, "/tmp/p.db");
	assert_string_equal(c.redis, "redis://cache:6379");
	assert_int_equal(c.keepalive_seconds, 30);
	assert_int_equal(c.threads, 4);
	assert_true(c.demo);
	assert_int_equal(c.log_level, LOG_DEBUG);
}

static void
test_flags_equals_form(void **state)
{
	(void)state;
	struct config c;
	assert_int_equal(PARSE(&c, "serve", "--listen=localhost:1", "--db=a=b.db",
	    "--redis=redis://r:1", "--keepalive=3600", "--threads=64",
	    "--log-level=error"), CONFIG_SERVE);
	assert_string_equal(c.host, "localhost");
	assert_int_equal(c.port, 1);
	assert_string_equal(c.db, "a=b.db");	/* only the first '=' splits */
	assert_string_equal(c.redis, "redis://r:1");
	assert_int_equal(c.keepalive_seconds, 3600);
	assert_int_equal(c.threads, 64);
	assert_false(c.demo);
	assert_int_equal(c.log_level, LOG_ERROR);
}

static void
test_each_flag_alone(void **state)
{
	(void)state;
	struct config c;

	assert_int_equal(PARSE(&c, "serve", "--listen", "[::1]:8081"), CONFIG_SERVE);
	assert_string_equal(c.host, "::1");
	assert_int_equal(c.port, 8081);
	assert_string_equal(c.db, "parley.db");

	assert_int_equal(PARSE(&c, "serve", "--listen=127.0.0.1:0"), CONFIG_SERVE);
	assert_int_equal(c.port, 0);
	assert_int_equal(PARSE(&c, "serve", "--listen", "h:65535"), CONFIG_SERVE);
	assert_int_equal(c.port, 65535);

	assert_int_equal(PARSE(&c, "serve", "--db", ":memory:"), CONFIG_SERVE);
	assert_string_equal(c.db, ":memory:");
	assert_int_equal(c.port, 8080);

	assert_int_equal(PARSE(&c, "serve", "--keepalive", "1"), CONFIG_SERVE);
	assert_int_equal(c.keepalive_seconds, 1);
	assert_int_equal(PARSE(&c, "serve", "--threads", "1"), CONFIG_SERVE);
	assert_int_equal(c.threads, 1);

	assert_int_equal(PARSE(&c, "serve", "--log-level", "warn"), CONFIG_SERVE);
	assert_int_equal(c.log_level, LOG_WARN);
	assert_int_equal(PARSE(&c, "serve", "--log-level=info"), CONFIG_SERVE);
	assert_int_equal(c.log_level, LOG_INFO);

	assert_int_equal(PARSE(&c, "serve", "--demo"), CONFIG_SERVE);
	assert_true(c.demo);
	assert_string_equal(c.host, "127.0.0.1");
}

static void
test_env_twins(void **state)
{
	(void)state;
	struct config c;
	env_set("PARLEY_LISTEN", "10.0.0.1:7000");
	env_set("PARLEY_DB", "/var/lib/p.db");
	env_set("PARLEY_REDIS", "redis://x:1");
	env_set("PARLEY_KEEPALIVE", "5");
	env_set("PARLEY_THREADS", "8");
	env_set("PARLEY_LOG_LEVEL", "warn");
	assert_int_equal(PARSE(&c, "serve"), CONFIG_SERVE);
	assert_string_equal(c.host, "10.0.0.1");
	assert_int_equal(c.port, 7000);
	assert_string_equal(c.db, "/var/lib/p.db");
	assert_string_equal(c.redis, "redis://x:1");
	assert_int_equal(c.keepalive_seconds, 5);
	assert_int_equal(c.threads, 8);
	assert_int_equal(c.log_level, LOG_WARN);
	assert_false(c.demo);
}

static void
test_env_empty_ignored(void **state)
{
	(void)state;
	struct config c;
	env_set("PARLEY_THREADS", "");
	env_set("PARLEY_LISTEN", "");
	assert_int_equal(PARSE(&c, "serve"), CONFIG_SERVE);
	assert_defaults(&c);
}

static void
test_flag_beats_env(void **state)
{
	(void)state;
	struct config c;
	env_set("PARLEY_LISTEN", "10.0.0.1:7000");
	env_set("PARLEY_THREADS", "8");
	env_set("PARLEY_DB", "env.db");
	assert_int_equal(PARSE(&c, "serve", "--threads", "2", "--listen=1.2.3.4:5"),
	    CONFIG_SERVE);
	assert_int_equal(c.threads, 2);
	assert_string_equal(c.host, "1.2.3.4");
	assert_int_equal(c.port, 5);
	assert_string_equal(c.db, "env.db");	/* no flag: the variable stands */
}

static void
test_bad_flag_values(void **state)
{
	(void)state;
	EXPECT_ERROR("parley: invalid value '0.0.0.0:70000' for --listen",
	    "serve", "--listen", "0.0.0.0:70000");
	EXPECT_ERROR("parley: invalid value 'h:65536' for --listen", "serve", "--listen=h:65536");
	EXPECT_ERROR("parley: invalid value '8080' for --listen", "serve", "--listen", "8080");
	EXPECT_ERROR("parley: invalid value ':8080' for --listen", "serve", "--listen", ":8080");
	EXPECT_ERROR("parley: invalid value 'h:' for --listen", "serve", "--listen", "h:");
	EXPECT_ERROR("parley: invalid value 'h:-1' for --listen", "serve", "--listen", "h:-1");
	EXPECT_ERROR("parley: invalid value 'h:80x' for --listen", "serve", "--listen", "h:80x");
	EXPECT_ERROR("parley: invalid value '[]:80' for --listen", "serve", "--listen", "[]:80");
	EXPECT_ERROR("parley: invalid value '0' for --keepalive", "serve", "--keepalive", "0");
	EXPECT_ERROR("parley: invalid value '3601' for --keepalive", "serve", "--keepalive", "3601");
	EXPECT_ERROR("parley: invalid value '' for --keepalive", "serve", "--keepalive=");
	EXPECT_ERROR("parley: invalid value '-5' for --keepalive", "serve", "--keepalive", "-5");
	EXPECT_ERROR("parley: invalid value '+5' for --keepalive", "serve", "--keepalive", "+5");
	EXPECT_ERROR("parley: invalid value ' 5' for --keepalive", "serve", "--keepalive", " 5");
	EXPECT_ERROR("parley: invalid value '99999999999999999999' for --keepalive",
	    "serve", "--keepalive", "99999999999999999999");
	EXPECT_ERROR("parley: invalid value 'x' for --threads", "serve", "--threads", "x");
	EXPECT_ERROR("parley: invalid value '0' for --threads", "serve", "--threads", "0");
	EXPECT_ERROR("parley: invalid value '65' for --threads", "serve", "--threads=65");
	EXPECT_ERROR("parley: invalid value '4x' for --threads", "serve", "--threads", "4x");
	EXPECT_ERROR("parley: invalid value 'loud' for --log-level", "serve", "--log-level", "loud");
	EXPECT_ERROR("parley: invalid value 'http://r:1' for --redis", "serve", "--redis", "http://r:1");
	EXPECT_ERROR("parley: invalid value 'a b' for --node", "serve", "--node", "a b");
	EXPECT_ERROR("parley: invalid value '' for --db", "serve", "--db=");
}

static void
test_unknown_and_missing(void **state)
{
	(void)state;
	EXPECT_ERROR("parley: unknown flag '--bogus' (see parley --help)", "serve", "--bogus");
	EXPECT_ERROR("parley: unknown flag '--bogus=1' (see parley --help)", "serve", "--bogus=1");
	EXPECT_ERROR("parley: unknown flag '--list' (see parley --help)", "serve", "--list", "x:1");
	EXPECT_ERROR("parley: unknown flag 'extra' (see parley --help)", "serve", "extra");
	EXPECT_ERROR("parley: unknown flag '--demo=yes' (see parley --help)", "serve", "--demo=yes");
	EXPECT_ERROR("parley: --db needs a value", "serve", "--db");
	EXPECT_ERROR("parley: --threads needs a value", "serve", "--demo", "--threads");
	EXPECT_ERROR("parley: unknown command 'start' (see parley --help)", "start");
	EXPECT_ERROR("parley: unknown command '--demo' (see parley --help)", "--demo", "serve");
	/* the first bad flag is reported */
	EXPECT_ERROR("parley: invalid value 'x' for --threads", "serve", "--threads", "x", "--nope");

	struct config c;
	const char *none[] = { "parley", NULL };
	assert_int_equal(parse_argv(&c, none), CONFIG_ERROR);
	assert_string_equal(errbuf, "parley: missing command (see parley --help)");
}

static void
test_bad_env(void **state)
{
	(void)state;
	env_set("PARLEY_THREADS", "0");
	EXPECT_ERROR("parley: invalid value '0' in PARLEY_THREADS", "serve");
	/* a flag beats its variable, even one that would be invalid */
	struct config c;
	assert_int_equal(parse_argv(&c, (const char *[]){ "parley", "serve", "--threads", "2",
	    NULL }), CONFIG_SERVE);
	assert_int_equal(c.threads, 2);
	env_clear();
	env_set("PARLEY_LISTEN", "nohost");
	EXPECT_ERROR("parley: invalid value 'nohost' in PARLEY_LISTEN", "serve");
	env_clear();
	env_set("PARLEY_KEEPALIVE", "70000");
	EXPECT_ERROR("parley: invalid value '70000' in PARLEY_KEEPALIVE", "serve");
}

static void
test_error_truncated_to_buffer(void **state)
{
	(void)state;
	struct config c;
	char small[16];
	const char *args[] = { "parley", "serve", "--bogus", NULL };
	memset(small, 'z', sizeof small);
	assert_int_equal(config_parse(&c, 3, (char **)args, fake_getenv, small, sizeof small),
	    CONFIG_ERROR);
	assert_string_equal(small, "parley: unknown");
}

static void
test_help_version(void **state)
{
	(void)state;
	struct config c;
	assert_int_equal(PARSE(&c, "--help"), CONFIG_HELP);
	assert_int_equal(PARSE(&c, "-h"), CONFIG_HELP);
	assert_int_equal(PARSE(&c, "--version"), CONFIG_VERSION);
	assert_int_equal(PARSE(&c, "serve", "--help"), CONFIG_HELP);
	assert_int_equal(PARSE(&c, "serve", "--demo", "-h"), CONFIG_HELP);
	assert_int_equal(PARSE(&c, "--help", "--bogus"), CONFIG_HELP);
	assert_string_equal(PARLEY_VERSION, "0.1.0");
	assert_non_null(strstr(config_usage, "usage: parley serve"));
	assert_non_null(strstr(config_usage, "PARLEY_LOG_LEVEL"));
}

/* --allow-link-local and --public-url, with their twins (issue 13's hardening). */
static void
test_link_local_and_public_url(void **state)
{
	(void)state;
	struct config c;
	assert_int_equal(PARSE(&c, "serve"), CONFIG_SERVE);
	assert_false(c.allow_link_local);
	assert_string_equal(c.public_url, "");
	assert_int_equal(PARSE(&c, "serve", "--allow-link-local", "--public-url",
	    "https://chat.example.org/"), CONFIG_SERVE);
	assert_true(c.allow_link_local);
	assert_string_equal(c.public_url, "https://chat.example.org/");
	env_set("PARLEY_ALLOW_LINK_LOCAL", "1");
	env_set("PARLEY_PUBLIC_URL", "http://10.0.0.5:8080");
	assert_int_equal(PARSE(&c, "serve"), CONFIG_SERVE);
	assert_true(c.allow_link_local);
	assert_string_equal(c.public_url, "http://10.0.0.5:8080");
	env_set("PARLEY_ALLOW_LINK_LOCAL", "yes");
	EXPECT_ERROR("parley: invalid value 'yes' in PARLEY_ALLOW_LINK_LOCAL", "serve");
	env_clear();
	EXPECT_ERROR("parley: invalid value 'ftp://x' for --public-url", "serve", "--public-url",
	    "ftp://x");
	assert_int_equal(PARSE(&c, "serve", "--allow-link-local=0"), CONFIG_SERVE);
	assert_false(c.allow_link_local);
}

/* The accounts flags, with their twins; --auth none only on a loopback address. */
static void
test_auth_modes(void **state)
{
	(void)state;
	struct config c;
	assert_int_equal(PARSE(&c, "serve", "--auth", "proxy", "--auth-header", "Remote-User",
	    "--trusted-proxy", "10.0.0.0/8,fd00::/8", "--session-days", "7"), CONFIG_SERVE);
	assert_int_equal(c.auth, AUTH_PROXY);
	assert_string_equal(c.auth_header, "Remote-User");
	assert_string_equal(c.trusted_proxy_text, "10.0.0.0/8,fd00::/8");
	assert_int_equal(c.session_days, 7);
	env_set("PARLEY_AUTH", "none");
	env_set("PARLEY_SESSION_DAYS", "90");
	assert_int_equal(PARSE(&c, "serve", "--listen", "localhost:8080"), CONFIG_SERVE);
	assert_int_equal(c.auth, AUTH_NONE);
	assert_int_equal(c.session_days, 90);
	EXPECT_ERROR("parley: --auth none lets anyone do anything: it needs a loopback --listen "
	    "address, not 0.0.0.0", "serve", "--listen", "0.0.0.0:8080");
	env_clear();
	EXPECT_ERROR("parley: invalid value 'open' for --auth", "serve", "--auth", "open");
	EXPECT_ERROR("parley: invalid value 'X User' for --auth-header", "serve",
	    "--auth-header", "X User");
	EXPECT_ERROR("parley: invalid value '10.0.0.0/33' for --trusted-proxy", "serve",
	    "--trusted-proxy", "10.0.0.0/33");
	EXPECT_ERROR("parley: invalid value '0' for --session-days", "serve", "--session-days",
	    "0");
}

/* parley admin reset NAME [--db PATH] */
static void
test_admin_reset(void **state)
{
	(void)state;
	struct config c;
	assert_int_equal(PARSE(&c, "admin", "reset", "ada", "--db", "/tmp/x.db"),
	    CONFIG_ADMIN_RESET);
	assert_string_equal(c.reset_name, "ada");
	assert_string_equal(c.db, "/tmp/x.db");
	EXPECT_ERROR("parley: usage: parley admin reset NAME [--db PATH]", "admin", "reset");
	EXPECT_ERROR("parley: usage: parley admin reset NAME [--db PATH]", "admin", "delete",
	    "ada");
}

/* parley copy --from FILE --to URL: both required, --to a PostgreSQL URL, no other flag */
static void
test_copy(void **state)
{
	(void)state;
	struct config c;
	env_set("PARLEY_DB", "postgres://u@h/env");
	assert_int_equal(PARSE(&c, "copy", "--from", "/tmp/x.db", "--to", "postgres://u@h/db"),
	    CONFIG_COPY);
	assert_string_equal(c.copy_from, "/tmp/x.db");
	assert_string_equal(c.copy_to, "postgres://u@h/db");
	assert_int_equal(PARSE(&c, "copy", "--to=postgresql://u@h/db", "--from=x.db"), CONFIG_COPY);
	assert_string_equal(c.copy_from, "x.db");
	assert_string_equal(c.copy_to, "postgresql://u@h/db");
	assert_int_equal(PARSE(&c, "copy", "--help"), CONFIG_HELP);
	const char *usage = "parley: usage: parley copy --from FILE --to postgres://USER@HOST/DB";
	EXPECT_ERROR(usage, "copy");
	EXPECT_ERROR(usage, "copy", "--from", "x.db");
	EXPECT_ERROR(usage, "copy", "--to", "postgres://u@h/db");
	EXPECT_ERROR("parley: --from needs a value", "copy", "--to", "postgres://u@h/db", "--from");
	EXPECT_ERROR("parley: --to needs a value", "copy", "--to", "--from", "x.db");
	EXPECT_ERROR("parley: invalid value for --to", "copy", "--from", "x.db", "--to=");
	EXPECT_ERROR("parley: --to needs a postgres:// or postgresql:// URL", "copy", "--from",
	    "x.db", "--to", "y.db");
	EXPECT_ERROR("parley: --from names a SQLite file, not a URL", "copy", "--from",
	    "postgres://u@h/a", "--to", "postgres://u@h/b");
	EXPECT_ERROR("parley: unknown flag '--db' (usage: parley copy --from FILE --to "
	    "postgres://USER@HOST/DB)", "copy", "--from", "x.db", "--to", "postgres://u@h/db",
	    "--db", "z.db");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_link_local_and_public_url, reset),
		cmocka_unit_test_setup(test_defaults, reset),
		cmocka_unit_test_setup(test_auth_modes, reset),
		cmocka_unit_test_setup(test_admin_reset, reset),
		cmocka_unit_test_setup(test_copy, reset),
		cmocka_unit_test_setup(test_flags_space_form, reset),
		cmocka_unit_test_setup(test_flags_equals_form, reset),
		cmocka_unit_test_setup(test_each_flag_alone, reset),
		cmocka_unit_test_setup(test_env_twins, reset),
		cmocka_unit_test_setup(test_env_empty_ignored, reset),
		cmocka_unit_test_setup(test_flag_beats_env, reset),
		cmocka_unit_test_setup(test_bad_flag_values, reset),
		cmocka_unit_test_setup(test_unknown_and_missing, reset),
		cmocka_unit_test_setup(test_bad_env, reset),
		cmocka_unit_test_setup(test_error_truncated_to_buffer, reset),
		cmocka_unit_test_setup(test_help_version, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
