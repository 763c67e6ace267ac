/*
 * loadgen - SSE fan-out load generator for the Parley benchmark (bench/run.sh).
 *
 * Opens many SSE subscribers (spread over --procs processes and over the source
 * addresses 127.0.0.2...), waits until every one is connected, publishes posts
 * (closed loop or fixed rate) and measures, for every delivered event, the
 * publish->receive latency from the send timestamp embedded in the post body
 * (CLOCK_MONOTONIC ns, everything runs on one machine). Each subscriber checks
 * that it gets every post of its chat exactly once and in order. One JSON line
 * of results goes to stdout. See --help and bench/README.md.
 *
 * main.c owns the options (O, for every file), the plan (which chat each post
 * goes to), the run's phases (procs.c's subscriber processes, pub.c's
 * publishers, setup.c for --setup), the server samples from /proc and the
 * JSON line. C17, epoll, libc only.
 */
#define _GNU_SOURCE
#include "loadgen.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct options O = {
	.target = T_PARLEY, .host = "127.0.0.1", .port = 8080, .chats = 1,
	.subs_per_chat = 10, .posts = 10, .publishers = 1, .hold = 10, .procs = 0,
	.src_addrs = 49, .scenario = "adhoc", .body_words = 2,
	.connect_timeout = 60, .drain_timeout = 30, .connect_concurrency = 256,
	.retries = 5, .resume_delay = 1, .storm_posts = 1,
};

static const char usage_text[] =
"usage: loadgen [options]\n"
"Subscribes many SSE clients, publishes posts, reports one JSON line on stdout.\n"
"\n"
"target\n"
"  --target parley|nchan   URL shapes: parley GET /api/v1/chats/{id}/events and\n"
"                          POST /api/v1/chats/{id}/messages (JSON, expects 201);\n"
"                          nchan GET /sub/{id} (EventSource) and POST /pub/{id}\n"
"                          (text/plain, expects 2xx)             [parley]\n"
"  --host ADDR             server IPv4 address                  [127.0.0.1]\n"
"  --port N                server port                          [8080]\n"
"  --header 'Name: value'  add this header line to every request (setup calls,\n"
"                          posts, subscriptions), e.g. 'Authorization: Bearer T';\n"
"                          repeatable, at most 4\n"
"  --sub-port N            subscribers on this port (repeatable: each chat's\n"
"                          subscribers split evenly over them); posts still go\n"
"                          to --port, and deliveries to the other ports are\n"
"                          reported apart (cross_*)              [--port]\n"
"\n"
"load\n"
"  --chats N               number of chats                      [1]\n"
"  --chat-ids-file F       chat ids, one a line (parley; nchan: channel names,\n"
"                          default <prefix>N)\n"
"  --chat-prefix S         nchan channel name prefix             [b<pid>t<time>c]\n"
"  --subs-per-chat N       subscribers per chat (0: publish only) [10]\n"
"  --posts N               posts in all, round-robin over chats  [10]\n"
"  --publishers N          concurrent keep-alive publisher connections; closed\n"
"                          loop: each sends its next post when the previous one\n"
"                          is acknowledged                       [1]\n"
"  --rate R                instead of closed loop: R posts/s on a fixed schedule\n"
"                          over the --publishers connections (latency counted\n"
"                          from the scheduled send time)\n"
"  --body-words N          words in each post body (>= 2: the first two are\n"
"                          '<send-ts-ns> <seq>')                 [2]\n"
"  --idle                  open the subscribers, hold them --hold seconds and\n"
"                          report how many are still connected; no posts\n"
"  --hold S                seconds to hold idle subscribers     [10]\n"
"\n"
"bots (parley)\n"
"  --count-event NAME      count events NAME (e.g. token) per subscriber; their\n"
"                          latency is measured from the send time of the last\n"
"                          post the subscriber received\n"
"  --bot-replies N         a subscriber is complete only after N finished bot\n"
"                          replies (message-update complete|stopped|failed) per\n"
"                          post                                   [0]\n"
"\n"
"machinery\n"
"  --procs K               subscriber processes (0: one per 9,000 subscribers) [0]\n"
"  --src-addrs N           spread subscribers over 127.0.0.2 .. 127.0.0.(N+1) [49]\n"
"  --concurrency N         connection attempts in flight per process [256]\n"
"  --retries N             reconnect attempts before a subscriber is ready [5]\n"
"  --connect-timeout S     give up connecting after S seconds    [60]\n"
"  --drain-timeout S       after the last post, wait at most S seconds for\n"
"                          every subscriber to have every event   [30]\n"
"  --server-pid P          sample RSS and CPU of P from /proc (repeat for\n"
"                          nginx master and workers: summed)\n"
"  --db-pid P              sample CPU of P, with its ended children's, as\n"
"                          the database's (repeat: summed; db_cpu_s ...)\n"
"  --redis-pid P           sample CPU of P as Redis's (repeat: summed;\n"
"                          redis_cpu_s ...)\n"
"  --scenario NAME         label in the JSON line                 [adhoc]\n"
"  --verbose               progress on stderr\n"
"\n"
"storm (parley): --storm --kill-pid P --resume-port N [--resume-port N ...]\n"
"  subscribes (on --port), sends --posts posts (a multiple of --chats) and\n"
"  waits until every stream has them; then kills P (SIGKILL) and sends\n"
"  --storm-posts more per chat (default 1) to the --resume-port servers, while\n"
"  each stream, once closed, reopens after a random 0..--resume-delay s\n"
"  (default 1) on its --resume-port with Last-Event-ID, as EventSource does.\n"
"  A stream is live again once it has every post; ids must follow each other\n"
"  (id_gaps) and a resume must not begin with a snapshot. --server-pid: the\n"
"  servers streams resume on (CPU from the kill on).\n"
"\n"
"setup (parley): --setup --chats N --chat-ids-file F [--bot-backend echo]\n"
"  [--header ...]: creates N chats (with one bot of that backend, policy\n"
"  round-robin, when --bot-backend is given) over one keep-alive connection and\n"
"  writes their ids.\n"
"\n"
"output: {\"target\",\"scenario\",\"subscribers\",\"connected\",\"posts\",\"deliveries\",\n"
"  \"elapsed_s\",\"deliveries_per_s\",\"lat_p50_ms\",\"lat_p90_ms\",\"lat_p99_ms\",\n"
"  \"lat_max_ms\",\"lost\",\"out_of_order\",\"server_rss_kb\",\"server_cpu_s\", ...}\n"
"  (see bench/README.md for every field).\n";

static void
usage(FILE *f)
{
	fputs(usage_text, f);
}

/* ------------------------------------------------------------------ options */

enum {
	o_target = 1, o_host, o_port, o_chats, o_ids, o_prefix, o_spc, o_posts,
	o_pubs, o_rate, o_idle, o_hold, o_procs, o_src, o_scen, o_pid, o_count,
	o_botr, o_words, o_ctime, o_dtime, o_conc, o_retries, o_setup, o_botb,
	o_verbose, o_header, o_dbpid, o_subport, o_redispid, o_storm, o_killpid,
	o_resport, o_resdelay, o_stormposts, o_help,
};

/* in the order of the o_ values: longopts[c - 1] is option c */
static const struct option longopts[] = {
	{"target", 1, 0, o_target}, {"host", 1, 0, o_host}, {"port", 1, 0, o_port},
	{"chats", 1, 0, o_chats}, {"chat-ids-file", 1, 0, o_ids},
	{"chat-prefix", 1, 0, o_prefix}, {"subs-per-chat", 1, 0, o_spc},
	{"posts", 1, 0, o_posts}, {"publishers", 1, 0, o_pubs}, {"rate", 1, 0, o_rate},
	{"idle", 0, 0, o_idle}, {"hold", 1, 0, o_hold}, {"procs", 1, 0, o_procs},
	{"src-addrs", 1, 0, o_src}, {"scenario", 1, 0, o_scen},
	{"server-pid", 1, 0, o_pid}, {"count-event", 1, 0, o_count},
	{"bot-replies", 1, 0, o_botr}, {"body-words", 1, 0, o_words},
	{"connect-timeout", 1, 0, o_ctime}, {"drain-timeout", 1, 0, o_dtime},
	{"concurrency", 1, 0, o_conc}, {"retries", 1, 0, o_retries},
	{"setup", 0, 0, o_setup}, {"bot-backend", 1, 0, o_botb},
	{"verbose", 0, 0, o_verbose}, {"header", 1, 0, o_header},
	{"db-pid", 1, 0, o_dbpid}, {"sub-port", 1, 0, o_subport},
	{"redis-pid", 1, 0, o_redispid}, {"storm", 0, 0, o_storm},
	{"kill-pid", 1, 0, o_killpid}, {"resume-port", 1, 0, o_resport},
	{"resume-delay", 1, 0, o_resdelay}, {"storm-posts", 1, 0, o_stormposts},
	{"help", 0, 0, o_help},
	{0, 0, 0, 0},
};

static double
num_arg(const char *name, const char *v, double lo, double hi)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno != 0 || end == v || *end != 0 || d < lo || d > hi)
		die("bad value for --%s: %s", name, v);
	return d;
}

/*
 * --header "Name: value": appended to O.headers as "Name: value\r\n". The name
 * must be a token (letters, digits, !#$%&'*+-.^_`|~), the value printable
 * (tabs allowed): no CR or LF can get into a request.
 */
static void
add_header(const char *h)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	size_t nl = 0;
	while (h[nl] != 0 && (isalnum((unsigned char)h[nl]) || strchr(tchar, h[nl]) != NULL))
		nl++;
	if (nl == 0 || h[nl] != ':')
		die("--header must be 'Name: value': %s", h);
	for (const char *c = h + nl + 1; *c != 0; c++)
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
			die("--header %.*s: a control character in the value", (int)nl, h);
	if (O.nheaders == MAX_HEADERS)
		die("at most %d --header", MAX_HEADERS);
	size_t used = strlen(O.headers);
	if (used + strlen(h) + 3 > sizeof O.headers)
		die("--header lines longer than %d bytes in all", HEADERS_MAX - 1);
	snprintf(O.headers + used, sizeof O.headers - used, "%s\r\n", h);
	O.nheaders++;
}

/* A pid option's value, added to list (of *n). */
static void
add_pid(const char *name, const char *arg, pid_t *list, int *n)
{
	if (*n == MAX_PIDS)
		die("too many --%s", name);
	list[(*n)++] = (pid_t)num_arg(name, arg, 1, 1e9);
}

/* A port option's value, added to list (of *n). */
static void
add_port(const char *name, const char *arg, int *list, int *n)
{
	if (*n == MAX_PORTS)
		die("at most %d --%s", MAX_PORTS, name);
	list[(*n)++] = (int)num_arg(name, arg, 1, 65535);
}

/* Option c (an o_ value or getopt's '?') with its argument arg, if any. */
static void
parse_opt(int c, char *arg)
{
	const char *name = c > 0 && c <= o_help ? longopts[c - 1].name : "?";
	switch (c) {
	case o_target:
		if (strcmp(arg, "parley") == 0)
			O.target = T_PARLEY;
		else if (strcmp(arg, "nchan") == 0)
			O.target = T_NCHAN;
		else
			die("--target must be parley or nchan");
		break;
	case o_host:	snprintf(O.host, sizeof O.host, "%s", arg); break;
	case o_port:	O.port = (int)num_arg(name, arg, 1, 65535); break;
	case o_chats:	O.chats = (int)num_arg(name, arg, 1, 1e6); break;
	case o_ids:	O.chat_ids_file = arg; break;
	case o_prefix:	O.chat_prefix = arg; break;
	case o_spc:	O.subs_per_chat = (int)num_arg(name, arg, 0, 1e6); break;
	case o_posts:	O.posts = (int)num_arg(name, arg, 0, 1e8); break;
	case o_pubs:	O.publishers = (int)num_arg(name, arg, 1, 1000); break;
	case o_rate:	O.rate = num_arg(name, arg, 0.001, 1e7); break;
	case o_idle:	O.idle = true; break;
	case o_hold:	O.hold = num_arg(name, arg, 0, 86400); break;
	case o_procs:	O.procs = (int)num_arg(name, arg, 0, 64); break;
	case o_src:	O.src_addrs = (int)num_arg(name, arg, 1, 253); break;
	case o_scen:	O.scenario = arg; break;
	case o_pid:	add_pid(name, arg, O.server_pids, &O.nserver_pids); break;
	case o_dbpid:	add_pid(name, arg, O.db_pids, &O.ndb_pids); break;
	case o_redispid: add_pid(name, arg, O.redis_pids, &O.nredis_pids); break;
	case o_subport:	add_port(name, arg, O.sub_ports, &O.nsub_ports); break;
	case o_resport:	add_port(name, arg, O.resume_ports, &O.nresume_ports); break;
	case o_storm:	O.storm = true; break;
	case o_killpid:	O.kill_pid = (pid_t)num_arg(name, arg, 2, 1e9); break;
	case o_resdelay: O.resume_delay = num_arg(name, arg, 0, 60); break;
	case o_stormposts: O.storm_posts = (int)num_arg(name, arg, 1, 1000); break;
	case o_count:	O.count_event = arg; break;
	case o_botr:	O.bot_replies = (int)num_arg(name, arg, 0, 100); break;
	case o_words:	O.body_words = (int)num_arg(name, arg, 2, 500); break;
	case o_ctime:	O.connect_timeout = num_arg(name, arg, 0.1, 3600); break;
	case o_dtime:	O.drain_timeout = num_arg(name, arg, 0, 3600); break;
	case o_conc:	O.connect_concurrency = (int)num_arg(name, arg, 1, 100000); break;
	case o_retries:	O.retries = (int)num_arg(name, arg, 0, 20); break;
	case o_setup:	O.setup = true; break;
	case o_botb:	O.bot_backend = arg; break;
	case o_verbose:	O.verbose = true; break;
	case o_header:	add_header(arg); break;
	case o_help:
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		exit(2);
	}
}

static void
parse_args(int argc, char **argv)
{
	int c, li;
	while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1)
		parse_opt(c, optarg);
	if (optind < argc) {
		fprintf(stderr, "loadgen: unexpected argument %s\n", argv[optind]);
		exit(2);
	}
	if (O.storm && (O.kill_pid == 0 || O.nresume_ports == 0 || O.target != T_PARLEY ||
	    O.idle || O.rate > 0 || O.posts % O.chats != 0 || O.subs_per_chat == 0))
		die("--storm needs --target parley, --kill-pid, --resume-port, subscribers, "
		    "closed loop and --posts a multiple of --chats");
}

/* ------------------------------------------------------------------ plan */

int
plan_posts(void)
{
	return O.posts + (O.storm ? O.chats * O.storm_posts : 0);
}

int
posts_before(int chat, int n)
{
	/* post j goes to chat j % chats */
	if (chat >= O.chats)
		return 0;
	return n / O.chats + (chat < n % O.chats ? 1 : 0);
}

int
posts_for_chat(int chat)
{
	return posts_before(chat, plan_posts());
}

/* The k-th subscriber of a chat (idx / chats) goes to port k % ports. */
int
sub_port(int idx)
{
	return O.nsub_ports ? O.sub_ports[idx / O.chats % O.nsub_ports] : O.port;
}

int
resume_port(int idx)
{
	return O.nresume_ports ? O.resume_ports[idx / O.chats % O.nresume_ports] : sub_port(idx);
}

const char *
chat_name(int chat)
{
	return O.chat_ids[chat];
}

/* The chats' ids: from --chat-ids-file, or nchan channels <prefix>N. */
static void
load_chats(void)
{
	O.chat_ids = xcalloc((size_t)O.chats, sizeof(char *));
	if (O.chat_ids_file != NULL) {
		FILE *f = fopen(O.chat_ids_file, "r");
		if (f == NULL)
			die("%s: %s", O.chat_ids_file, strerror(errno));
		char line[256];
		int n = 0;
		while (n < O.chats && fgets(line, sizeof line, f) != NULL) {
			size_t l = strcspn(line, "\r\n \t");
			line[l] = 0;
			if (l == 0)
				continue;
			O.chat_ids[n++] = strdup(line);
		}
		fclose(f);
		if (n < O.chats)
			die("%s has %d ids, --chats is %d", O.chat_ids_file, n, O.chats);
		return;
	}
	if (O.target == T_PARLEY)
		die("--chat-ids-file is required for --target parley");
	char prefix[64];
	if (O.chat_prefix != NULL)
		snprintf(prefix, sizeof prefix, "%s", O.chat_prefix);
	else
		snprintf(prefix, sizeof prefix, "b%dt%lldc", (int)getpid(), (long long)time(NULL));
	for (int i = 0; i < O.chats; i++) {
		char b[128];
		snprintf(b, sizeof b, "%s%d", prefix, i);
		O.chat_ids[i] = strdup(b);
	}
}

/* --------------------------------------------------------- server stats */

/* The sum of the values of the lines of /proc/PID/FILE that match fmt. */
static long
proc_sum(pid_t pid, const char *file, const char *fmt)
{
	char path[64], line[256];
	long sum = 0;
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		long v;
		if (sscanf(line, fmt, &v) == 1)
			sum += v;
	}
	fclose(f);
	return sum;
}

/*
 * The CPU seconds of pid so far (utime + stime; with children, also the
 * cutime + cstime of its children that ended and were waited for); -1 when
 * it is gone.
 */
static double
proc_cpu(pid_t pid, bool children)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	/* fields after ")": 3 state ... 14 utime 15 stime 16 cutime 17 cstime */
	unsigned long ut = 0, st = 0;
	long cut = 0, cst = 0;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld",
	    &ut, &st, &cut, &cst) != 4)
		return 0;
	double ticks = (double)(ut + st) + (children ? (double)(cut + cst) : 0);
	return ticks / (double)sysconf(_SC_CLK_TCK);
}

/* The --server-pid processes' CPU, RSS and PSS, summed; the --db-pid ones' CPU. */
struct srvstat
server_sample(void)
{
	struct srvstat s = {0};
	for (int i = 0; i < O.nserver_pids; i++) {
		double cpu = proc_cpu(O.server_pids[i], false);
		if (cpu < 0)
			continue;
		s.alive++;
		s.cpu_s += cpu;
		s.rss_kb += proc_sum(O.server_pids[i], "status", "VmRSS: %ld");
		s.pss_kb += proc_sum(O.server_pids[i], "smaps_rollup", "Pss: %ld");
	}
	for (int i = 0; i < O.ndb_pids; i++) {
		double cpu = proc_cpu(O.db_pids[i], true);
		if (cpu > 0)
			s.db_cpu_s += cpu;
	}
	for (int i = 0; i < O.nredis_pids; i++) {
		double cpu = proc_cpu(O.redis_pids[i], false);
		if (cpu > 0)
			s.redis_cpu_s += cpu;
	}
	return s;
}

/* ------------------------------------------------------------------ the run */

/* Raises the open-file limit as far as allowed; returns the limit. */
static rlim_t
raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

/* --procs 0: one process per 9,000 subscribers; each must fit the limit. */
static void
plan_procs(int total, rlim_t nofile)
{
	if (O.procs == 0)
		O.procs = (total + 8999) / 9000;
	if (total == 0)
		O.procs = 0;
	if (O.procs > 0 && (total + O.procs - 1) / O.procs + 64 > (int)nofile)
		die("%d subscribers in %d processes exceed the open-file limit %ld: raise --procs",
		    total, O.procs, (long)nofile);
}

static void
hold_idle(void)
{
	struct timespec ts = { (time_t)O.hold, (long)((O.hold - (double)(time_t)O.hold) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Subscribes, posts (or holds), drains, and samples the server on the way. */
static void
run_load(struct run *run)
{
	run->s0 = server_sample();
	run->t_start = now_ns();
	procs_start();
	int connected, failed;
	procs_wait_ready(&connected, &failed);	/* every subscriber connected or given up */
	run->t_ready = now_ns();
	logv("%d of %d subscribers connected (%d failed) in %.2f s", connected, run->total, failed,
	    (double)(run->t_ready - run->t_start) / 1e9);

	run->s1 = server_sample();
	if (O.idle) {
		hold_idle();
	} else {
		procs_tell("G");
		run->pub = publish(0, O.posts, &O.port, 1);
		run->t_pub_end = now_ns();
		logv("%d posts acknowledged, %d errors, in %.2f s", run->pub.acked, run->pub.errors,
		    (double)(run->t_pub_end - run->pub.t_first) / 1e9);
	}
	struct srvstat s_mid = server_sample();	/* idle: RSS with everything held */
	procs_tell(O.idle ? "H" : "D");
	procs_collect(&run->R);
	run->s2 = O.idle ? s_mid : server_sample();
	run->t_end = now_ns();
	procs_quit();
}

/* ------------------------------------------------------------- JSON line */

void
json_num(FILE *f, const char *k, double v, int prec)
{
	fprintf(f, ",\"%s\":%.*f", k, prec, v);
}

/* First post's send -> last event's arrival (idle: the hold). */
static double
elapsed_s(const struct run *run)
{
	const struct result_msg *R = &run->R;
	int64_t t_first = run->pub.t_first;
	int64_t last = R->last_delivery_ns > R->last_token_ns ? R->last_delivery_ns : R->last_token_ns;
	if (O.idle)
		return (double)(run->t_end - run->t_ready) / 1e9;
	if (last > t_first && t_first > 0)
		return (double)(last - t_first) / 1e9;
	return t_first ? (double)(run->t_pub_end - t_first) / 1e9 : 0;
}

/* --count-event's fields. */
static void
print_tokens(FILE *f, const struct run *run)
{
	const struct result_msg *R = &run->R;
	int64_t t_first = run->pub.t_first;
	double tel = R->last_token_ns > t_first && t_first ? (double)(R->last_token_ns - t_first) / 1e9 : 0;
	fprintf(f, ",\"count_event\":\"%s\",\"tokens\":%" PRIu64 ",\"bot_replies_done\":%" PRIu64,
	    O.count_event, R->tokens, R->bot_done);
	json_num(f, "tokens_per_s", tel > 0 ? (double)R->tokens / tel : 0, 0);
	json_num(f, "tokens_per_sub", R->connected ? (double)R->tokens / R->connected : 0, 1);
	json_num(f, "tok_p50_ms", h_pct_ms(&R->tok, 0.50), 3);
	json_num(f, "tok_p90_ms", h_pct_ms(&R->tok, 0.90), 3);
	json_num(f, "tok_p99_ms", h_pct_ms(&R->tok, 0.99), 3);
	json_num(f, "tok_max_ms", (double)R->tok.max_ns / 1e6, 3);
}

/*
 * --sub-port's fields: the deliveries to subscribers on another server than
 * the posts' (--port), and their latency.
 */
static void
print_cross(FILE *f, const struct run *run)
{
	const struct result_msg *R = &run->R;
	fprintf(f, ",\"sub_ports\":%d,\"cross_deliveries\":%" PRIu64, O.nsub_ports, R->deliveries_x);
	json_num(f, "cross_lat_p50_ms", h_pct_ms(&R->lat_x, 0.50), 3);
	json_num(f, "cross_lat_p90_ms", h_pct_ms(&R->lat_x, 0.90), 3);
	json_num(f, "cross_lat_p99_ms", h_pct_ms(&R->lat_x, 0.99), 3);
	json_num(f, "cross_lat_max_ms", (double)R->lat_x.max_ns / 1e6, 3);
}

/* The one JSON line (its fields: bench/README.md). */
static void
print_result(FILE *f, const struct run *run)
{
	const struct result_msg *R = &run->R;
	const struct pub_result *P = &run->pub;
	double elapsed = elapsed_s(run);
	fprintf(f, "{\"target\":\"%s\",\"scenario\":\"%s\"", O.target == T_PARLEY ? "parley" : "nchan",
	    O.scenario);
	fprintf(f, ",\"subscribers\":%d,\"connected\":%d", run->total, R->connected);
	fprintf(f, ",\"posts\":%d,\"post_errors\":%d", O.idle ? 0 : P->acked, O.idle ? 0 : P->errors);
	fprintf(f, ",\"deliveries\":%" PRIu64 ",\"expected_deliveries\":%" PRIu64, R->deliveries, R->expected);
	json_num(f, "elapsed_s", elapsed, 3);
	json_num(f, "deliveries_per_s", elapsed > 0 ? (double)R->deliveries / elapsed : 0, 0);
	json_num(f, "lat_p50_ms", h_pct_ms(&R->lat, 0.50), 3);
	json_num(f, "lat_p90_ms", h_pct_ms(&R->lat, 0.90), 3);
	json_num(f, "lat_p99_ms", h_pct_ms(&R->lat, 0.99), 3);
	json_num(f, "lat_max_ms", (double)R->lat.max_ns / 1e6, 3);
	fprintf(f, ",\"lost\":%" PRIu64 ",\"out_of_order\":%" PRIu64 ",\"duplicates\":%" PRIu64
	    ",\"bad_events\":%" PRIu64, R->lost, R->out_of_order, R->duplicates, R->bad_events);
	fprintf(f, ",\"failed\":%d,\"reconnects\":%d,\"closed_early\":%d,\"connected_end\":%d",
	    R->failed, R->reconnects, R->closed_early, R->connected_end);
	fprintf(f, ",\"server_rss_kb\":%ld,\"server_rss_base_kb\":%ld", run->s2.rss_kb, run->s0.rss_kb);
	fprintf(f, ",\"server_pss_kb\":%ld,\"server_pss_base_kb\":%ld", run->s2.pss_kb, run->s0.pss_kb);
	json_num(f, "server_cpu_s", run->s2.cpu_s - run->s0.cpu_s, 2);
	json_num(f, "server_cpu_pub_s", run->s2.cpu_s - run->s1.cpu_s, 2);
	if (O.ndb_pids > 0) {
		json_num(f, "db_cpu_s", run->s2.db_cpu_s - run->s0.db_cpu_s, 2);
		json_num(f, "db_cpu_pub_s", run->s2.db_cpu_s - run->s1.db_cpu_s, 2);
	}
	if (O.nredis_pids > 0) {
		json_num(f, "redis_cpu_s", run->s2.redis_cpu_s - run->s0.redis_cpu_s, 2);
		json_num(f, "redis_cpu_pub_s", run->s2.redis_cpu_s - run->s1.redis_cpu_s, 2);
	}
	if (O.nsub_ports > 0)
		print_cross(f, run);
	json_num(f, "connect_s", (double)(run->t_ready - run->t_start) / 1e9, 3);
	json_num(f, "publish_s", run->t_pub_end && P->t_first ?
	    (double)(run->t_pub_end - P->t_first) / 1e9 : 0, 3);
	if (O.count_event != NULL)
		print_tokens(f, run);
	fprintf(f, ",\"server_alive\":%d}\n", run->s2.alive);
	fflush(f);
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	rlim_t nofile = raise_nofile();
	if (O.setup) {
		do_setup();
		return 0;
	}
	load_chats();
	struct run *run = xcalloc(1, sizeof *run);
	run->total = O.chats * O.subs_per_chat;
	plan_procs(run->total, nofile);
	if (O.storm) {
		storm_run(run);
		storm_print(stdout, run);
	} else {
		run_load(run);
		print_result(stdout, run);
	}
	free(run);
	return 0;
}
