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
 * C17, epoll, libc only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { T_PARLEY, T_NCHAN };

/* ------------------------------------------------------------------ options */

#define MAX_PIDS 32

static struct {
	int	 target;
	char	 host[64];
	int	 port;
	int	 chats;
	char	*chat_ids_file;
	char	**chat_ids;
	char	*chat_prefix;
	int	 subs_per_chat;
	int	 posts;
	int	 publishers;
	double	 rate;
	bool	 idle;
	double	 hold;
	int	 procs;
	int	 src_addrs;
	const char *scenario;
	pid_t	 server_pids[MAX_PIDS];
	int	 nserver_pids;
	const char *count_event;
	int	 bot_replies;
	int	 body_words;
	double	 connect_timeout;
	double	 drain_timeout;
	int	 connect_concurrency;
	int	 retries;
	bool	 setup;
	const char *bot_backend;
	bool	 verbose;
} O = {
	.target = T_PARLEY, .host = "127.0.0.1", .port = 8080, .chats = 1,
	.subs_per_chat = 10, .posts = 10, .publishers = 1, .hold = 10, .procs = 0,
	.src_addrs = 49, .scenario = "adhoc", .body_words = 2,
	.connect_timeout = 60, .drain_timeout = 30, .connect_concurrency = 256,
	.retries = 5,
};

static void
usage(FILE *f)
{
	fprintf(f,
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
"  --scenario NAME         label in the JSON line                 [adhoc]\n"
"  --verbose               progress on stderr\n"
"\n"
"setup (parley): --setup --chats N --chat-ids-file F [--bot-backend echo]\n"
"  creates N chats (with one bot of that backend, policy round-robin, when\n"
"  --bot-backend is given) over one keep-alive connection and writes their ids.\n"
"\n"
"output: {\"target\",\"scenario\",\"subscribers\",\"connected\",\"posts\",\"deliveries\",\n"
"  \"elapsed_s\",\"deliveries_per_s\",\"lat_p50_ms\",\"lat_p90_ms\",\"lat_p99_ms\",\n"
"  \"lat_max_ms\",\"lost\",\"out_of_order\",\"server_rss_kb\",\"server_cpu_s\", ...}\n"
"  (see bench/README.md for every field).\n");
}

/* ------------------------------------------------------------------ utils */

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

_Noreturn static void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void
logv(const char *fmt, ...)
{
	if (!O.verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "loadgen[%d]: ", (int)getpid());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

static void *
xcalloc(size_t a, size_t b)
{
	void *p = calloc(a ? a : 1, b ? b : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

static void
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write pipe: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Returns false on EOF before anything was read. */
static bool
read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read pipe: %s", strerror(errno));
		}
		if (r == 0) {
			if (got == 0)
				return false;
			die("short read on pipe");
		}
		got += (size_t)r;
	}
	return true;
}

static const void *
memmem_s(const void *h, size_t hl, const char *n)
{
	return memmem(h, hl, n, strlen(n));
}

/* ------------------------------------------------------------- histogram */

/*
 * Log-linear histogram of microseconds: exact below 128 us, then 64 buckets
 * per power of two (resolution 1/64 = 1.6%).
 */
#define H_SUB	64
#define H_NB	(128 + 40 * H_SUB)

struct hist {
	uint64_t n;
	uint64_t max_ns;
	uint64_t b[H_NB];
};

static int
h_index(uint64_t us)
{
	if (us < 128)
		return (int)us;
	int e = 63 - __builtin_clzll(us);	/* >= 7 */
	int i = 128 + (e - 7) * H_SUB + (int)((us >> (e - 6)) & (H_SUB - 1));
	return i < H_NB ? i : H_NB - 1;
}

static double
h_value_us(int i)
{
	if (i < 128)
		return i + 0.5;
	int e = (i - 128) / H_SUB + 7;
	int sub = (i - 128) % H_SUB;
	double lo = (double)((uint64_t)(H_SUB + sub) << (e - 6));
	double w = (double)(1ULL << (e - 6));
	return lo + w / 2;
}

static void
h_add(struct hist *h, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	h->n++;
	if ((uint64_t)ns > h->max_ns)
		h->max_ns = (uint64_t)ns;
	h->b[h_index((uint64_t)ns / 1000)]++;
}

static void
h_merge(struct hist *a, const struct hist *b)
{
	a->n += b->n;
	if (b->max_ns > a->max_ns)
		a->max_ns = b->max_ns;
	for (int i = 0; i < H_NB; i++)
		a->b[i] += b->b[i];
}

static double
h_pct_ms(const struct hist *h, double p)
{
	if (h->n == 0)
		return 0;
	uint64_t rank = (uint64_t)(p * (double)h->n + 0.999999);
	if (rank < 1)
		rank = 1;
	uint64_t c = 0;
	for (int i = 0; i < H_NB; i++) {
		c += h->b[i];
		if (c >= rank) {
			double v = h_value_us(i) / 1000.0;
			double mx = (double)h->max_ns / 1e6;
			return v > mx ? mx : v;
		}
	}
	return (double)h->max_ns / 1e6;
}

/* --------------------------------------------------------- server stats */

struct srvstat {
	long	rss_kb;
	long	pss_kb;
	double	cpu_s;
	int	alive;
};

static struct srvstat
server_sample(void)
{
	struct srvstat s = {0};
	long tck = sysconf(_SC_CLK_TCK);
	for (int i = 0; i < O.nserver_pids; i++) {
		char path[64], buf[4096];
		snprintf(path, sizeof path, "/proc/%d/stat", (int)O.server_pids[i]);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = 0;
		s.alive++;
		char *p = strrchr(buf, ')');
		if (p != NULL) {
			/* fields after ")": 3 state ... 14 utime 15 stime */
			unsigned long ut = 0, st = 0;
			if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			    &ut, &st) == 2)
				s.cpu_s += (double)(ut + st) / (double)tck;
		}
		snprintf(path, sizeof path, "/proc/%d/status", (int)O.server_pids[i]);
		if ((f = fopen(path, "r")) != NULL) {
			char line[256];
			while (fgets(line, sizeof line, f) != NULL) {
				long v;
				if (sscanf(line, "VmRSS: %ld", &v) == 1)
					s.rss_kb += v;
			}
			fclose(f);
		}
		snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)O.server_pids[i]);
		if ((f = fopen(path, "r")) != NULL) {
			char line[256];
			while (fgets(line, sizeof line, f) != NULL) {
				long v;
				if (sscanf(line, "Pss: %ld", &v) == 1)
					s.pss_kb += v;
			}
			fclose(f);
		}
	}
	return s;
}

/* ------------------------------------------------------------------ plan */

static int
posts_for_chat(int chat)
{
	/* post j goes to chat j % chats */
	if (chat >= O.chats)
		return 0;
	return O.posts / O.chats + (chat < O.posts % O.chats ? 1 : 0);
}

static const char *
chat_name(int chat)
{
	return O.chat_ids[chat];
}

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

/* ---------------------------------------------------------- child <-> parent */

enum { MSG_READY = 1, MSG_RESULT = 2 };

struct ready_msg {
	int	type;
	int	connected;
	int	failed;
	int	pending;
};

struct result_msg {
	int	 type;
	int	 subscribers;	/* attempted */
	int	 connected;	/* ready when publishing started (idle: at the end) */
	int	 connected_end;	/* still open at the end */
	int	 failed;
	int	 closed_early;	/* ready, then closed by the server */
	int	 complete;	/* subscribers that got everything */
	int	 reconnects;	/* connection attempts after the first */
	uint64_t deliveries;	/* post events received (duplicates included) */
	uint64_t expected;
	uint64_t lost;
	uint64_t duplicates;
	uint64_t out_of_order;
	uint64_t bad_events;
	uint64_t tokens;
	uint64_t bot_done;
	int64_t	 first_delivery_ns;
	int64_t	 last_delivery_ns;
	int64_t	 last_token_ns;
	struct hist lat;
	struct hist tok;
};

/* ------------------------------------------------------------ subscribers */

enum { S_IDLE, S_CONNECTING, S_HEAD, S_BODY, S_DEAD, S_FAILED, S_WAIT };
enum { C_SIZE, C_EXT, C_SIZE_LF, C_DATA, C_DATA_CR, C_DATA_LF, C_TRAILER, C_END };

struct sub {
	int	 fd;
	int	 idx;
	int	 chat;
	uint8_t	 state;
	bool	 ready;
	bool	 counted;	/* ready when publishing started */
	bool	 complete;
	bool	 chunked;
	bool	 skip_lf;
	bool	 id_in_frame;
	bool	 have_id;
	uint8_t	 cstate;
	uint8_t	 evlen;
	uint8_t	 idlen;
	int	 attempts;
	uint64_t crem;
	int64_t	 started_ns;
	int64_t	 retry_at_ns;
	int64_t	 post_ts;	/* send time of the last post received */
	uint64_t last_hi, last_lo;
	int	 last_seq;
	int	 ngot;
	int	 bot_done;
	char	*hbuf;
	size_t	 hlen;
	char	*line;
	size_t	 llen, lcap;
	char	*data;
	size_t	 dlen, dcap;
	uint8_t	*got;
	char	 ev[32];
	char	 id[48];
};

static struct {
	struct sub *subs;
	int	 n;
	int	 ep;
	int	 to_parent;
	int	 from_parent;
	int	 inflight;
	int	 next_start;	/* index of the next subscriber never started */
	int	 connected;
	int	 failed;
	int	 complete;
	int	 counted;	/* ready when publishing started */
	int	 dead_counted;	/* of those, closed before complete */
	int	 waiting;	/* subscribers waiting to retry */
	bool	 publishing;
	bool	 draining;
	int64_t	 deadline;
	bool	 check_client_order;
	struct result_msg r;
} C;

static char rbuf[1 << 16];
static int64_t cur_ns;

static void sub_fail(struct sub *s, bool retry);

static void
sub_close_fd(struct sub *s)
{
	if (s->fd >= 0) {
		epoll_ctl(C.ep, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
		s->fd = -1;
	}
}

static void
sub_reset_parser(struct sub *s)
{
	free(s->hbuf);
	s->hbuf = NULL;
	s->hlen = 0;
	s->llen = 0;
	s->dlen = 0;
	s->evlen = 0;
	s->idlen = 0;
	s->id_in_frame = false;
	s->skip_lf = false;
	s->chunked = false;
	s->cstate = C_SIZE;
	s->crem = 0;
}

static void
sub_start(struct sub *s)
{
	sub_reset_parser(s);
	if (s->attempts++ > 0)
		C.r.reconnects++;
	s->started_ns = now_ns();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			die("socket: %s (too many subscribers per process: raise --procs)",
			    strerror(errno));
		die("socket: %s", strerror(errno));
	}
	int one = 1;
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	struct sockaddr_in src = { .sin_family = AF_INET };
	src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(s->idx % O.src_addrs));
	if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0)
		die("bind 127.0.0.%d: %s", 2 + s->idx % O.src_addrs, strerror(errno));
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)O.port) };
	inet_pton(AF_INET, O.host, &dst.sin_addr);
	s->fd = fd;
	s->state = S_CONNECTING;
	C.inflight++;
	int rc = connect(fd, (struct sockaddr *)&dst, sizeof dst);
	if (rc != 0 && errno != EINPROGRESS) {
		logv("connect: %s", strerror(errno));
		sub_fail(s, true);
		return;
	}
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = s };
	if (epoll_ctl(C.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl: %s", strerror(errno));
}

/* A subscriber that was not ready: retry later or give up. */
static void
sub_fail(struct sub *s, bool retry)
{
	bool was_ready = s->ready;
	sub_close_fd(s);
	if (was_ready) {
		s->ready = false;
		s->state = S_DEAD;
		C.connected--;
		C.r.closed_early++;
		if (s->counted && !s->complete)
			C.dead_counted++;
		return;
	}
	if (s->state == S_CONNECTING || s->state == S_HEAD || s->state == S_BODY)
		C.inflight--;
	if (retry && s->attempts <= O.retries &&
	    cur_ns - s->started_ns < (int64_t)(O.connect_timeout * 1e9)) {
		s->state = S_WAIT;
		C.waiting++;
		s->retry_at_ns = now_ns() + (int64_t)(50e6 * (1 << (s->attempts - 1)));
		return;
	}
	s->state = S_FAILED;
	C.failed++;
}

static void
sub_ready(struct sub *s)
{
	if (s->ready)
		return;
	s->ready = true;
	C.inflight--;
	C.connected++;
}

static void
sub_check_complete(struct sub *s)
{
	if (s->complete || !s->counted)
		return;
	int want = posts_for_chat(s->chat);
	if (s->ngot >= want && s->bot_done >= want * O.bot_replies) {
		s->complete = true;
		C.complete++;
	}
}

/* Parses "A" or "A:B" (nchan: "time:tag", maybe with brackets). */
static void
parse_id(const char *p, uint64_t *hi, uint64_t *lo)
{
	*hi = 0;
	*lo = 0;
	while (*p && !isdigit((unsigned char)*p))
		p++;
	while (isdigit((unsigned char)*p))
		*hi = *hi * 10 + (uint64_t)(*p++ - '0');
	while (*p && !isdigit((unsigned char)*p))
		p++;
	while (isdigit((unsigned char)*p))
		*lo = *lo * 10 + (uint64_t)(*p++ - '0');
}

/* Finds the value of "key":"..." in a JSON object (start of the string). */
static const char *
json_str(const char *d, size_t n, const char *key, size_t *len)
{
	const char *end = d + n;
	const char *p = memmem_s(d, n, key);
	while (p != NULL) {
		const char *q = p + strlen(key);
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q < end && *q == ':') {
			q++;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (q < end && *q == '"') {
				q++;
				const char *e = q;
				while (e < end && *e != '"') {
					if (*e == '\\' && e + 1 < end)
						e++;
					e++;
				}
				*len = (size_t)(e - q);
				return q;
			}
			return NULL;
		}
		p = memmem_s(q, (size_t)(end - q), key);
	}
	return NULL;
}

static bool
json_str_is(const char *d, size_t n, const char *key, const char *val)
{
	size_t l;
	const char *v = json_str(d, n, key, &l);
	return v != NULL && l == strlen(val) && memcmp(v, val, l) == 0;
}

/* the event being dispatched was already counted out of order by its id */
static bool frame_out_of_order;

/* A post's body: "<ts> <seq> ...". */
static void
on_post(struct sub *s, const char *b, size_t n)
{
	const char *end = b + n;
	int64_t ts = 0;
	long seq = 0;
	const char *p = b;
	if (p >= end || !isdigit((unsigned char)*p)) {
		C.r.bad_events++;
		return;
	}
	while (p < end && isdigit((unsigned char)*p))
		ts = ts * 10 + (*p++ - '0');
	if (p >= end || *p != ' ' || p + 1 >= end || !isdigit((unsigned char)p[1])) {
		C.r.bad_events++;
		return;
	}
	p++;
	while (p < end && isdigit((unsigned char)*p))
		seq = seq * 10 + (*p++ - '0');
	int want = posts_for_chat(s->chat);
	if (seq >= want) {
		C.r.bad_events++;
		return;
	}
	C.r.deliveries++;
	h_add(&C.r.lat, cur_ns - ts);
	if (C.r.first_delivery_ns == 0 || cur_ns < C.r.first_delivery_ns)
		C.r.first_delivery_ns = cur_ns;
	if (cur_ns > C.r.last_delivery_ns)
		C.r.last_delivery_ns = cur_ns;
	s->post_ts = ts;
	if (s->got == NULL)
		s->got = xcalloc((size_t)want, 1);
	if (s->got[seq]) {
		C.r.duplicates++;
		return;
	}
	s->got[seq] = 1;
	s->ngot++;
	if (C.check_client_order && seq < s->last_seq && !frame_out_of_order)
		C.r.out_of_order++;
	if (seq > s->last_seq)
		s->last_seq = (int)seq;
	sub_check_complete(s);
}

static void
dispatch(struct sub *s)
{
	if (s->dlen == 0) {
		s->evlen = 0;
		s->id_in_frame = false;
		return;
	}
	s->dlen--;	/* the last "\n" */
	s->data[s->dlen] = 0;
	s->ev[s->evlen] = 0;
	const char *type = s->evlen ? s->ev : "message";
	const char *d = s->data;
	size_t n = s->dlen;

	/* Order: event ids on one stream must increase. */
	frame_out_of_order = false;
	if (s->id_in_frame) {
		s->id[s->idlen] = 0;
		uint64_t hi, lo;
		parse_id(s->id, &hi, &lo);
		bool snapshot = O.target == T_PARLEY && strcmp(type, "snapshot") == 0;
		if (s->have_id && !snapshot &&
		    (hi < s->last_hi || (hi == s->last_hi && lo <= s->last_lo))) {
			C.r.out_of_order++;
			frame_out_of_order = true;
		}
		s->have_id = true;
		s->last_hi = hi;
		s->last_lo = lo;
	}

	if (O.target == T_NCHAN) {
		if (strcmp(type, "message") == 0)
			on_post(s, d, n);
	} else if (strcmp(type, "snapshot") == 0) {
		sub_ready(s);
	} else if (strcmp(type, "message") == 0) {
		if (!json_str_is(d, n, "\"kind\"", "bot") && !json_str_is(d, n, "\"kind\"", "system")) {
			size_t bl;
			const char *b = json_str(d, n, "\"body\"", &bl);
			if (b != NULL)
				on_post(s, b, bl);
			else
				C.r.bad_events++;
		}
	} else if (O.count_event != NULL && strcmp(type, O.count_event) == 0) {
		C.r.tokens++;
		if (s->post_ts != 0)
			h_add(&C.r.tok, cur_ns - s->post_ts);
		if (cur_ns > C.r.last_token_ns)
			C.r.last_token_ns = cur_ns;
	} else if (strcmp(type, "message-update") == 0 && O.bot_replies > 0) {
		if (json_str_is(d, n, "\"kind\"", "bot") &&
		    (json_str_is(d, n, "\"state\"", "complete") ||
		     json_str_is(d, n, "\"state\"", "stopped") ||
		     json_str_is(d, n, "\"state\"", "failed"))) {
			s->bot_done++;
			C.r.bot_done++;
			sub_check_complete(s);
		}
	}
	s->dlen = 0;
	s->evlen = 0;
	s->id_in_frame = false;
}

static void
data_append(struct sub *s, const char *p, size_t n)
{
	if (s->dlen + n + 2 > s->dcap) {
		s->dcap = (s->dlen + n + 2) * 2;
		if (s->dcap < 256)
			s->dcap = 256;
		s->data = xrealloc(s->data, s->dcap);
	}
	memcpy(s->data + s->dlen, p, n);
	s->dlen += n;
	s->data[s->dlen++] = '\n';
}

static void
sse_line(struct sub *s, const char *p, size_t n)
{
	if (n == 0) {
		dispatch(s);
		return;
	}
	if (p[0] == ':')
		return;		/* comment, e.g. ": keepalive" */
	const char *c = memchr(p, ':', n);
	size_t fl = c ? (size_t)(c - p) : n;
	const char *v = c ? c + 1 : p + n;
	size_t vl = (size_t)(p + n - v);
	if (vl > 0 && *v == ' ') {
		v++;
		vl--;
	}
	if (fl == 4 && memcmp(p, "data", 4) == 0) {
		data_append(s, v, vl);
	} else if (fl == 5 && memcmp(p, "event", 5) == 0) {
		size_t l = vl < sizeof s->ev - 1 ? vl : sizeof s->ev - 1;
		memcpy(s->ev, v, l);
		s->evlen = (uint8_t)l;
	} else if (fl == 2 && memcmp(p, "id", 2) == 0) {
		if (memchr(v, 0, vl) == NULL) {
			size_t l = vl < sizeof s->id - 1 ? vl : sizeof s->id - 1;
			memcpy(s->id, v, l);
			s->idlen = (uint8_t)l;
			s->id_in_frame = true;
		}
	}
	/* retry and unknown fields are ignored */
}

/* Feeds decoded body bytes to the SSE line parser. */
static void
sse_feed(struct sub *s, const char *p, size_t n)
{
	const char *end = p + n;
	while (p < end) {
		if (s->skip_lf) {
			s->skip_lf = false;
			if (*p == '\n') {
				p++;
				continue;
			}
		}
		const char *e = p;
		while (e < end && *e != '\n' && *e != '\r')
			e++;
		if (e == end) {
			/* partial line: keep it */
			size_t l = (size_t)(e - p);
			if (s->llen + l > s->lcap) {
				s->lcap = (s->llen + l) * 2;
				if (s->lcap < 256)
					s->lcap = 256;
				s->line = xrealloc(s->line, s->lcap);
			}
			memcpy(s->line + s->llen, p, l);
			s->llen += l;
			return;
		}
		if (*e == '\r')
			s->skip_lf = true;
		if (s->llen > 0) {
			size_t l = (size_t)(e - p);
			if (s->llen + l > s->lcap) {
				s->lcap = (s->llen + l) * 2;
				s->line = xrealloc(s->line, s->lcap);
			}
			memcpy(s->line + s->llen, p, l);
			s->llen += l;
			size_t ll = s->llen;
			s->llen = 0;
			sse_line(s, s->line, ll);
		} else {
			sse_line(s, p, (size_t)(e - p));
		}
		if (s->state != S_BODY)
			return;
		p = e + 1;
	}
}

/* Decodes chunked transfer encoding; returns false at a malformed chunk. */
static bool
body_feed(struct sub *s, const char *p, size_t n)
{
	if (!s->chunked) {
		sse_feed(s, p, n);
		return true;
	}
	const char *end = p + n;
	while (p < end && s->state == S_BODY) {
		char c = *p;
		switch (s->cstate) {
		case C_SIZE:
			if (isxdigit((unsigned char)c)) {
				int v = isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
				if (s->crem > (UINT64_MAX >> 4))
					return false;
				s->crem = s->crem * 16 + (uint64_t)v;
				p++;
			} else if (c == ';' || c == ' ' || c == '\t') {
				s->cstate = C_EXT;
				p++;
			} else if (c == '\r') {
				s->cstate = C_SIZE_LF;
				p++;
			} else if (c == '\n') {
				p++;
				s->cstate = s->crem ? C_DATA : C_TRAILER;
			} else {
				return false;
			}
			break;
		case C_EXT:
			if (c == '\r')
				s->cstate = C_SIZE_LF;
			else if (c == '\n')
				s->cstate = s->crem ? C_DATA : C_TRAILER;
			p++;
			break;
		case C_SIZE_LF:
			if (c != '\n')
				return false;
			p++;
			s->cstate = s->crem ? C_DATA : C_TRAILER;
			break;
		case C_DATA: {
			size_t take = (size_t)(end - p);
			if (take > s->crem)
				take = (size_t)s->crem;
			sse_feed(s, p, take);
			p += take;
			s->crem -= take;
			if (s->crem == 0)
				s->cstate = C_DATA_CR;
			break;
		}
		case C_DATA_CR:
			if (c == '\r') {
				s->cstate = C_DATA_LF;
				p++;
			} else if (c == '\n') {
				s->cstate = C_SIZE;
				p++;
			} else {
				return false;
			}
			break;
		case C_DATA_LF:
			if (c != '\n')
				return false;
			p++;
			s->cstate = C_SIZE;
			break;
		case C_TRAILER:
			/* the end of the stream: "0\r\n\r\n" */
			s->cstate = C_END;
			return true;
		case C_END:
			return true;
		}
	}
	return true;
}

static bool
head_feed(struct sub *s, const char *p, size_t n, size_t *used)
{
	size_t old = s->hlen;
	s->hbuf = xrealloc(s->hbuf, s->hlen + n + 1);
	memcpy(s->hbuf + s->hlen, p, n);
	s->hlen += n;
	s->hbuf[s->hlen] = 0;
	char *e = strstr(s->hbuf + (old > 3 ? old - 3 : 0), "\r\n\r\n");
	if (e == NULL) {
		*used = n;
		if (s->hlen > 65536)
			return false;
		return true;
	}
	size_t hl = (size_t)(e - s->hbuf) + 4;
	*used = hl - old;
	int code = 0;
	if (sscanf(s->hbuf, "HTTP/1.%*d %d", &code) != 1 || code != 200) {
		logv("subscriber %d: status %d", s->idx, code);
		return false;
	}
	for (char *l = strstr(s->hbuf, "\r\n"); l != NULL && l < e; l = strstr(l + 2, "\r\n")) {
		char *h = l + 2;
		if (strncasecmp(h, "Transfer-Encoding:", 18) == 0) {
			char *v = h + 18;
			char *le = strstr(v, "\r\n");
			char save = *le;
			*le = 0;
			if (strcasestr(v, "chunked") != NULL)
				s->chunked = true;
			*le = save;
		}
	}
	free(s->hbuf);
	s->hbuf = NULL;
	s->hlen = 0;
	s->state = S_BODY;
	if (O.target == T_NCHAN)
		sub_ready(s);
	return true;
}

static void
sub_readable(struct sub *s)
{
	for (int rounds = 0; rounds < 8; rounds++) {
		ssize_t r = read(s->fd, rbuf, sizeof rbuf);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			logv("subscriber %d: read: %s", s->idx, strerror(errno));
			sub_fail(s, true);
			return;
		}
		if (r == 0) {
			logv("subscriber %d: closed by server", s->idx);
			sub_fail(s, true);
			return;
		}
		cur_ns = now_ns();
		const char *p = rbuf;
		size_t n = (size_t)r;
		if (s->state == S_HEAD) {
			size_t used;
			if (!head_feed(s, p, n, &used)) {
				sub_fail(s, true);
				return;
			}
			p += used;
			n -= used;
		}
		if (s->state == S_BODY && n > 0) {
			if (!body_feed(s, p, n)) {
				logv("subscriber %d: bad chunk", s->idx);
				C.r.bad_events++;
				sub_fail(s, false);
				return;
			}
		}
		if ((size_t)r < sizeof rbuf)
			return;
	}
}

static void
sub_writable(struct sub *s)
{
	int err = 0;
	socklen_t el = sizeof err;
	getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err != 0) {
		logv("subscriber %d: connect: %s", s->idx, strerror(err));
		sub_fail(s, true);
		return;
	}
	char req[512];
	int n;
	if (O.target == T_PARLEY)
		n = snprintf(req, sizeof req,
		    "GET /api/v1/chats/%s/events HTTP/1.1\r\nHost: %s:%d\r\n"
		    "Accept: text/event-stream\r\n\r\n", chat_name(s->chat), O.host, O.port);
	else
		n = snprintf(req, sizeof req,
		    "GET /sub/%s HTTP/1.1\r\nHost: %s:%d\r\n"
		    "Accept: text/event-stream\r\n\r\n", chat_name(s->chat), O.host, O.port);
	ssize_t w = send(s->fd, req, (size_t)n, MSG_NOSIGNAL);
	if (w != n) {
		sub_fail(s, true);
		return;
	}
	s->state = S_HEAD;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = s };
	epoll_ctl(C.ep, EPOLL_CTL_MOD, s->fd, &ev);
}

static void
child_send_ready(void)
{
	struct ready_msg m = { MSG_READY, C.connected, C.failed, C.inflight };
	write_all(C.to_parent, &m, sizeof m);
}

static void
child_finish(void)
{
	C.r.type = MSG_RESULT;
	C.r.subscribers = C.n;
	C.r.failed = C.failed;
	int open = 0, counted = 0;
	for (int i = 0; i < C.n; i++) {
		struct sub *s = &C.subs[i];
		if (s->ready)
			open++;
		if (!s->counted)
			continue;
		counted++;
		int want = posts_for_chat(s->chat);
		C.r.expected += (uint64_t)want;
		C.r.lost += (uint64_t)(want - s->ngot);
	}
	C.r.connected = O.idle ? open : counted;
	C.r.connected_end = open;
	C.r.complete = C.complete;
	write_all(C.to_parent, &C.r, sizeof C.r);
}

static void
child_main(int k)
{
	/* this process's share: subscribers k, k + procs, ... */
	int total = O.chats * O.subs_per_chat;
	C.n = 0;
	C.subs = xcalloc((size_t)(total / O.procs + 1), sizeof(struct sub));
	for (int i = k; i < total; i += O.procs) {
		struct sub *s = &C.subs[C.n++];
		s->fd = -1;
		s->idx = i;
		s->chat = i % O.chats;
		s->last_seq = -1;
	}
	C.ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event pev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(C.ep, EPOLL_CTL_ADD, C.from_parent, &pev);

	int64_t t0 = now_ns();
	int64_t last_scan = t0;
	bool ready_sent = false;
	bool hold_done = false;
	struct epoll_event evs[512];
	for (;;) {
		cur_ns = now_ns();
		/* due retries, then new connections, at most --concurrency in flight */
		if (C.waiting > 0) {
			for (int i = 0; i < C.next_start && C.inflight < O.connect_concurrency; i++) {
				struct sub *s = &C.subs[i];
				if (s->state == S_WAIT && s->retry_at_ns <= cur_ns) {
					C.waiting--;
					sub_start(s);
				}
			}
		}
		while (C.inflight < O.connect_concurrency && C.next_start < C.n)
			sub_start(&C.subs[C.next_start++]);
		/* subscribers stuck waiting for a response */
		if (cur_ns - last_scan > 250000000) {
			last_scan = cur_ns;
			for (int i = 0; i < C.next_start; i++) {
				struct sub *s = &C.subs[i];
				if ((s->state == S_CONNECTING || s->state == S_HEAD ||
				     (s->state == S_BODY && !s->ready)) &&
				    cur_ns - s->started_ns > (int64_t)(O.connect_timeout * 1e9)) {
					logv("subscriber %d: no response", s->idx);
					s->attempts = O.retries + 1;
					sub_fail(s, false);
				}
			}
		}
		bool all_tried = C.next_start >= C.n && C.inflight == 0 && C.waiting == 0;
		if (!ready_sent && (all_tried || cur_ns - t0 > (int64_t)(O.connect_timeout * 1e9))) {
			child_send_ready();
			ready_sent = true;
		}
		if (C.draining && (C.complete + C.dead_counted >= C.counted || cur_ns >= C.deadline))
			break;
		if (hold_done)
			break;

		int timeout = 50;
		int n = epoll_wait(C.ep, evs, 512, timeout);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				char cmd;
				ssize_t r = read(C.from_parent, &cmd, 1);
				if (r <= 0)
					exit(1);	/* parent gone */
				if (cmd == 'G') {
					C.publishing = true;
					for (int j = 0; j < C.n; j++) {
						if (C.subs[j].ready) {
							C.subs[j].counted = true;
							C.counted++;
							sub_check_complete(&C.subs[j]);
						}
					}
				} else if (cmd == 'D') {
					C.draining = true;
					C.deadline = now_ns() + (int64_t)(O.drain_timeout * 1e9);
				} else if (cmd == 'H') {
					hold_done = true;
				}
				continue;
			}
			struct sub *s = evs[i].data.ptr;
			if (s->fd < 0)
				continue;
			uint32_t e = evs[i].events;
			if (s->state == S_CONNECTING) {
				if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
					sub_writable(s);
				continue;
			}
			if (e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
				sub_readable(s);
		}
	}
	child_finish();
	/* keep the connections open until the parent has sampled the server */
	char cmd;
	while (read(C.from_parent, &cmd, 1) < 0 && errno == EINTR)
		;
	exit(0);
}

/* ------------------------------------------------------------ publishers */

enum { P_DOWN, P_IDLE, P_BUSY };

struct pub {
	int	 fd;
	int	 state;
	char	*req;
	size_t	 reqlen, reqoff;
	char	 rb[16384];
	size_t	 rlen;
	int	 post;
};

static struct {
	struct pub *p;
	int	 n;
	int	 ep;
	int	 next;
	int	 acked;
	int	 errors;
	int64_t	 t_first;
	int64_t	 t_last_ack;
	int64_t	 t_progress;
} P;

static const char *const words[] = {
	"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit",
	"sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore",
	"magna", "aliqua", "enim",
};

static int
tcp_connect_blocking(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)O.port) };
	if (inet_pton(AF_INET, O.host, &dst.sin_addr) != 1)
		die("bad --host %s", O.host);
	if (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0)
		die("connect %s:%d: %s", O.host, O.port, strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void
pub_connect(struct pub *p)
{
	p->fd = tcp_connect_blocking();
	fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = p };
	epoll_ctl(P.ep, EPOLL_CTL_ADD, p->fd, &ev);
	p->state = P_IDLE;
	p->rlen = 0;
}

static void
pub_down(struct pub *p)
{
	if (p->fd >= 0) {
		epoll_ctl(P.ep, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
	}
	p->fd = -1;
	p->state = P_DOWN;
}

static void
pub_flush(struct pub *p)
{
	while (p->reqoff < p->reqlen) {
		ssize_t w = send(p->fd, p->req + p->reqoff, p->reqlen - p->reqoff, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = p };
				epoll_ctl(P.ep, EPOLL_CTL_MOD, p->fd, &ev);
				return;
			}
			return;	/* the read side sees the error */
		}
		p->reqoff += (size_t)w;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = p };
	epoll_ctl(P.ep, EPOLL_CTL_MOD, p->fd, &ev);
}

/* Sends post j, stamped with ts (CLOCK_MONOTONIC ns). */
static void
pub_send(struct pub *p, int j, int64_t ts)
{
	if (p->state == P_DOWN)
		pub_connect(p);
	int chat = j % O.chats;
	int seq = j / O.chats;
	char body[4096];
	int bl = snprintf(body, sizeof body, "%" PRId64 " %d", ts, seq);
	for (int w = 2; w < O.body_words && bl < (int)sizeof body - 32; w++)
		bl += snprintf(body + bl, sizeof body - (size_t)bl, " %s",
		    words[(w * 7 + seq) % (int)(sizeof words / sizeof words[0])]);
	char payload[4200];
	int pl;
	if (O.target == T_PARLEY)
		pl = snprintf(payload, sizeof payload, "{\"author\":\"bench\",\"body\":\"%s\"}", body);
	else
		pl = snprintf(payload, sizeof payload, "%s", body);
	free(p->req);
	p->req = xmalloc((size_t)pl + 512);
	if (O.target == T_PARLEY)
		p->reqlen = (size_t)snprintf(p->req, (size_t)pl + 512,
		    "POST /api/v1/chats/%s/messages HTTP/1.1\r\nHost: %s:%d\r\n"
		    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		    chat_name(chat), O.host, O.port, pl, payload);
	else
		p->reqlen = (size_t)snprintf(p->req, (size_t)pl + 512,
		    "POST /pub/%s HTTP/1.1\r\nHost: %s:%d\r\n"
		    "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		    chat_name(chat), O.host, O.port, pl, payload);
	p->reqoff = 0;
	p->post = j;
	p->state = P_BUSY;
	p->rlen = 0;
	if (P.t_first == 0)
		P.t_first = now_ns();
	pub_flush(p);
}

/* Returns 1 when a whole response is in, 0 if more is needed, -1 if malformed. */
static int
http_response_complete(const char *b, size_t n, int *status, bool *close_after, size_t *total)
{
	const char *e = memmem_s(b, n, "\r\n\r\n");
	if (e == NULL)
		return 0;
	size_t hl = (size_t)(e - b) + 4;
	if (sscanf(b, "HTTP/1.%*d %d", status) != 1)
		return -1;
	long cl = -1;
	bool chunked = false;
	*close_after = strncmp(b, "HTTP/1.0", 8) == 0;
	for (const char *l = memmem_s(b, hl, "\r\n"); l != NULL && l < e;
	    l = memmem_s(l + 2, (size_t)(e + 2 - (l + 2)), "\r\n")) {
		const char *h = l + 2;
		if (strncasecmp(h, "Content-Length:", 15) == 0)
			cl = strtol(h + 15, NULL, 10);
		else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 &&
		    strncasecmp(h + 18 + strspn(h + 18, " "), "chunked", 7) == 0)
			chunked = true;
		else if (strncasecmp(h, "Connection:", 11) == 0 &&
		    strncasecmp(h + 11 + strspn(h + 11, " "), "close", 5) == 0)
			*close_after = true;
	}
	if (chunked) {
		const char *z = memmem_s(e + 2, n - hl + 2, "0\r\n\r\n");
		if (z == NULL)
			return 0;
		*total = (size_t)(z - b) + 5;
		return 1;
	}
	if (cl < 0)
		cl = 0;
	if (n < hl + (size_t)cl)
		return 0;
	*total = hl + (size_t)cl;
	return 1;
}

static void
pub_next(struct pub *p)
{
	if (O.rate > 0 || P.next >= O.posts)
		return;
	pub_send(p, P.next++, now_ns());
}

static void
pub_event(struct pub *p, uint32_t e)
{
	if ((e & EPOLLOUT) && p->state == P_BUSY)
		pub_flush(p);
	if (!(e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
		return;
	for (;;) {
		if (p->rlen == sizeof p->rb)
			p->rlen = 0;	/* response too large: its body does not matter */
		ssize_t r = read(p->fd, p->rb + p->rlen, sizeof p->rb - p->rlen);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			bool busy = p->state == P_BUSY;
			pub_down(p);
			if (busy) {
				fprintf(stderr, "loadgen: post %d: connection closed\n", p->post);
				P.errors++;
				pub_next(p);
			}
			return;
		}
		p->rlen += (size_t)r;
		int status = 0;
		bool close_after = false;
		size_t total = 0;
		int rc = http_response_complete(p->rb, p->rlen, &status, &close_after, &total);
		if (rc == 0)
			continue;
		P.t_progress = now_ns();
		bool ok = O.target == T_PARLEY ? status == 201 : (status >= 200 && status < 300);
		if (rc < 0 || !ok) {
			if (P.errors < 5)
				fprintf(stderr, "loadgen: post %d: HTTP %d: %.200s\n", p->post, status, p->rb);
			P.errors++;
		} else {
			P.acked++;
		}
		P.t_last_ack = P.t_progress;
		p->rlen = 0;
		p->state = P_IDLE;
		if (close_after || rc < 0)
			pub_down(p);
		pub_next(p);
		return;
	}
}

static void
publish(void)
{
	P.ep = epoll_create1(EPOLL_CLOEXEC);
	P.n = O.publishers;
	P.p = xcalloc((size_t)P.n, sizeof(struct pub));
	for (int i = 0; i < P.n; i++) {
		P.p[i].fd = -1;
		pub_connect(&P.p[i]);
	}
	int64_t t0 = now_ns();
	P.t_progress = t0;
	if (O.rate <= 0)
		for (int i = 0; i < P.n && P.next < O.posts; i++)
			pub_next(&P.p[i]);
	struct epoll_event evs[64];
	while (P.acked + P.errors < O.posts) {
		int timeout = 200;
		if (O.rate > 0) {
			int64_t now = now_ns();
			while (P.next < O.posts) {
				int64_t due = t0 + (int64_t)((double)P.next * 1e9 / O.rate);
				if (due > now) {
					int64_t ms = (due - now) / 1000000;
					timeout = ms < 200 ? (int)ms : 200;
					break;
				}
				struct pub *idle = NULL;
				for (int i = 0; i < P.n; i++)
					if (P.p[i].state != P_BUSY) {
						idle = &P.p[i];
						break;
					}
				if (idle == NULL) {
					timeout = 1;
					break;
				}
				pub_send(idle, P.next++, due);
			}
		}
		int n = epoll_wait(P.ep, evs, 64, timeout);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			pub_event(evs[i].data.ptr, evs[i].events);
		if (now_ns() - P.t_progress > 30000000000LL) {
			fprintf(stderr, "loadgen: no publish acknowledged for 30 s; giving up\n");
			P.errors += O.posts - P.acked - P.errors;
			break;
		}
	}
	for (int i = 0; i < P.n; i++)
		pub_down(&P.p[i]);
	close(P.ep);
}

/* ----------------------------------------------------------------- setup */

/* One request on a blocking keep-alive connection; returns the status. */
static int
http_call(int *fd, const char *method, const char *path, const char *body, char *out, size_t outsz)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (*fd < 0)
			*fd = tcp_connect_blocking();
		char req[8192];
		int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		    method, path, O.host, O.port, strlen(body), body);
		if (send(*fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			close(*fd);
			*fd = -1;
			continue;
		}
		size_t got = 0;
		int status = 0;
		bool close_after = false;
		size_t total = 0;
		int rc = 0;
		while (rc == 0) {
			ssize_t r = read(*fd, out + got, outsz - 1 - got);
			if (r <= 0)
				break;
			got += (size_t)r;
			out[got] = 0;
			rc = http_response_complete(out, got, &status, &close_after, &total);
			if (got == outsz - 1)
				break;
		}
		if (rc != 1) {
			close(*fd);
			*fd = -1;
			if (got == 0)
				continue;	/* a stale keep-alive connection */
			die("%s %s: bad response", method, path);
		}
		out[total] = 0;
		if (close_after) {
			close(*fd);
			*fd = -1;
		}
		return status;
	}
	die("%s %s: no response", method, path);
}

static void
json_id(const char *resp, char *id, size_t idsz)
{
	const char *b = strstr(resp, "\r\n\r\n");
	b = b ? b + 4 : resp;
	size_t l;
	const char *v = json_str(b, strlen(b), "\"id\"", &l);
	if (v == NULL || l == 0 || l >= idsz)
		die("no id in response: %.200s", b);
	memcpy(id, v, l);
	id[l] = 0;
}

static void
do_setup(void)
{
	if (O.chat_ids_file == NULL)
		die("--setup needs --chat-ids-file");
	int fd = -1;
	static char resp[1 << 16];
	char bot[64] = "";
	if (O.bot_backend != NULL) {
		char body[256];
		snprintf(body, sizeof body, "{\"name\":\"Bench\",\"backend\":\"%s\"}", O.bot_backend);
		int st = http_call(&fd, "POST", "/api/v1/bots", body, resp, sizeof resp);
		if (st != 201)
			die("POST /api/v1/bots: HTTP %d: %.300s", st, resp);
		json_id(resp, bot, sizeof bot);
	}
	FILE *f = fopen(O.chat_ids_file, "w");
	if (f == NULL)
		die("%s: %s", O.chat_ids_file, strerror(errno));
	for (int i = 0; i < O.chats; i++) {
		char body[256];
		if (bot[0])
			snprintf(body, sizeof body,
			    "{\"title\":\"bench %d\",\"bots\":[\"%s\"],\"policy\":\"round-robin\"}", i, bot);
		else
			snprintf(body, sizeof body, "{\"title\":\"bench %d\"}", i);
		int st = http_call(&fd, "POST", "/api/v1/chats", body, resp, sizeof resp);
		if (st != 201)
			die("POST /api/v1/chats: HTTP %d: %.300s", st, resp);
		char id[64];
		json_id(resp, id, sizeof id);
		fprintf(f, "%s\n", id);
	}
	if (fclose(f) != 0)
		die("%s: %s", O.chat_ids_file, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* ------------------------------------------------------------------ main */

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

static void
parse_args(int argc, char **argv)
{
	enum {
		o_target = 1, o_host, o_port, o_chats, o_ids, o_prefix, o_spc, o_posts,
		o_pubs, o_rate, o_idle, o_hold, o_procs, o_src, o_scen, o_pid, o_count,
		o_botr, o_words, o_ctime, o_dtime, o_conc, o_retries, o_setup, o_botb,
		o_verbose, o_help,
	};
	static const struct option lo[] = {
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
		{"verbose", 0, 0, o_verbose}, {"help", 0, 0, o_help}, {0, 0, 0, 0},
	};
	int c, li;
	while ((c = getopt_long(argc, argv, "h", lo, &li)) != -1) {
		const char *name = c > 0 && c <= o_help ? lo[c - 1].name : "?";
		switch (c) {
		case o_target:
			if (strcmp(optarg, "parley") == 0)
				O.target = T_PARLEY;
			else if (strcmp(optarg, "nchan") == 0)
				O.target = T_NCHAN;
			else
				die("--target must be parley or nchan");
			break;
		case o_host:	snprintf(O.host, sizeof O.host, "%s", optarg); break;
		case o_port:	O.port = (int)num_arg(name, optarg, 1, 65535); break;
		case o_chats:	O.chats = (int)num_arg(name, optarg, 1, 1e6); break;
		case o_ids:	O.chat_ids_file = optarg; break;
		case o_prefix:	O.chat_prefix = optarg; break;
		case o_spc:	O.subs_per_chat = (int)num_arg(name, optarg, 0, 1e6); break;
		case o_posts:	O.posts = (int)num_arg(name, optarg, 0, 1e8); break;
		case o_pubs:	O.publishers = (int)num_arg(name, optarg, 1, 1000); break;
		case o_rate:	O.rate = num_arg(name, optarg, 0.001, 1e7); break;
		case o_idle:	O.idle = true; break;
		case o_hold:	O.hold = num_arg(name, optarg, 0, 86400); break;
		case o_procs:	O.procs = (int)num_arg(name, optarg, 0, 64); break;
		case o_src:	O.src_addrs = (int)num_arg(name, optarg, 1, 253); break;
		case o_scen:	O.scenario = optarg; break;
		case o_pid:
			if (O.nserver_pids == MAX_PIDS)
				die("too many --server-pid");
			O.server_pids[O.nserver_pids++] = (pid_t)num_arg(name, optarg, 1, 1e9);
			break;
		case o_count:	O.count_event = optarg; break;
		case o_botr:	O.bot_replies = (int)num_arg(name, optarg, 0, 100); break;
		case o_words:	O.body_words = (int)num_arg(name, optarg, 2, 500); break;
		case o_ctime:	O.connect_timeout = num_arg(name, optarg, 0.1, 3600); break;
		case o_dtime:	O.drain_timeout = num_arg(name, optarg, 0, 3600); break;
		case o_conc:	O.connect_concurrency = (int)num_arg(name, optarg, 1, 100000); break;
		case o_retries:	O.retries = (int)num_arg(name, optarg, 0, 20); break;
		case o_setup:	O.setup = true; break;
		case o_botb:	O.bot_backend = optarg; break;
		case o_verbose:	O.verbose = true; break;
		case o_help:
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "loadgen: unexpected argument %s\n", argv[optind]);
		exit(2);
	}
}

static void
json_num(FILE *f, const char *k, double v, int prec)
{
	fprintf(f, ",\"%s\":%.*f", k, prec, v);
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (O.setup) {
		do_setup();
		return 0;
	}
	load_chats();

	int total = O.chats * O.subs_per_chat;
	if (O.procs == 0)
		O.procs = (total + 8999) / 9000;
	if (total == 0)
		O.procs = 0;
	if (O.procs > 0 && (total + O.procs - 1) / O.procs + 64 > (int)rl.rlim_cur)
		die("%d subscribers in %d processes exceed the open-file limit %ld: raise --procs",
		    total, O.procs, (long)rl.rlim_cur);
	/* one post per chat in flight at a time: client order = server order */
	C.check_client_order = O.rate <= 0 && O.publishers <= O.chats;

	struct srvstat s0 = server_sample();
	int64_t t_start = now_ns();

	int *to_child = xcalloc((size_t)O.procs + 1, sizeof(int));
	int *from_child = xcalloc((size_t)O.procs + 1, sizeof(int));
	pid_t *kids = xcalloc((size_t)O.procs + 1, sizeof(pid_t));
	fflush(stdout);
	for (int k = 0; k < O.procs; k++) {
		int a[2], b[2];
		if (pipe2(a, O_CLOEXEC) != 0 || pipe2(b, O_CLOEXEC) != 0)
			die("pipe: %s", strerror(errno));
		pid_t pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			for (int j = 0; j < k; j++) {
				close(to_child[j]);
				close(from_child[j]);
			}
			close(a[1]);
			close(b[0]);
			C.from_parent = a[0];
			C.to_parent = b[1];
			child_main(k);
		}
		close(a[0]);
		close(b[1]);
		to_child[k] = a[1];
		from_child[k] = b[0];
		kids[k] = pid;
	}

	/* every subscriber connected (or given up) */
	int connected = 0, failed = 0;
	for (int k = 0; k < O.procs; k++) {
		struct ready_msg m;
		if (!read_all(from_child[k], &m, sizeof m) || m.type != MSG_READY)
			die("subscriber process %d died", k);
		connected += m.connected;
		failed += m.failed;
	}
	int64_t t_ready = now_ns();
	logv("%d of %d subscribers connected (%d failed) in %.2f s", connected, total, failed,
	    (double)(t_ready - t_start) / 1e9);

	struct srvstat s1 = server_sample();
	int64_t t_pub_end = 0;
	if (O.idle) {
		struct timespec ts = { (time_t)O.hold, (long)((O.hold - (double)(time_t)O.hold) * 1e9) };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	} else {
		for (int k = 0; k < O.procs; k++)
			write_all(to_child[k], "G", 1);
		publish();
		t_pub_end = now_ns();
		logv("%d posts acknowledged, %d errors, in %.2f s", P.acked, P.errors,
		    (double)(t_pub_end - P.t_first) / 1e9);
	}
	struct srvstat s_mid = server_sample();	/* idle: RSS with everything held */
	for (int k = 0; k < O.procs; k++)
		write_all(to_child[k], O.idle ? "H" : "D", 1);

	struct result_msg *R = xcalloc(1, sizeof *R);
	struct result_msg *r = xcalloc(1, sizeof *r);
	for (int k = 0; k < O.procs; k++) {
		if (!read_all(from_child[k], r, sizeof *r) || r->type != MSG_RESULT)
			die("subscriber process %d died", k);
		R->subscribers += r->subscribers;
		R->connected += r->connected;
		R->connected_end += r->connected_end;
		R->failed += r->failed;
		R->closed_early += r->closed_early;
		R->complete += r->complete;
		R->reconnects += r->reconnects;
		R->deliveries += r->deliveries;
		R->expected += r->expected;
		R->lost += r->lost;
		R->duplicates += r->duplicates;
		R->out_of_order += r->out_of_order;
		R->bad_events += r->bad_events;
		R->tokens += r->tokens;
		R->bot_done += r->bot_done;
		if (r->first_delivery_ns && (!R->first_delivery_ns || r->first_delivery_ns < R->first_delivery_ns))
			R->first_delivery_ns = r->first_delivery_ns;
		if (r->last_delivery_ns > R->last_delivery_ns)
			R->last_delivery_ns = r->last_delivery_ns;
		if (r->last_token_ns > R->last_token_ns)
			R->last_token_ns = r->last_token_ns;
		h_merge(&R->lat, &r->lat);
		h_merge(&R->tok, &r->tok);
	}
	struct srvstat s2 = O.idle ? s_mid : server_sample();
	int64_t t_end = now_ns();
	for (int k = 0; k < O.procs; k++)
		write_all(to_child[k], "Q", 1);
	for (int k = 0; k < O.procs; k++)
		waitpid(kids[k], NULL, 0);

	int64_t last = R->last_delivery_ns > R->last_token_ns ? R->last_delivery_ns : R->last_token_ns;
	double elapsed;
	if (O.idle)
		elapsed = (double)(t_end - t_ready) / 1e9;
	else if (last > P.t_first && P.t_first > 0)
		elapsed = (double)(last - P.t_first) / 1e9;
	else
		elapsed = P.t_first ? (double)(t_pub_end - P.t_first) / 1e9 : 0;

	FILE *f = stdout;
	fprintf(f, "{\"target\":\"%s\",\"scenario\":\"%s\"", O.target == T_PARLEY ? "parley" : "nchan",
	    O.scenario);
	fprintf(f, ",\"subscribers\":%d,\"connected\":%d", total, R->connected);
	fprintf(f, ",\"posts\":%d,\"post_errors\":%d", O.idle ? 0 : P.acked, O.idle ? 0 : P.errors);
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
	fprintf(f, ",\"server_rss_kb\":%ld,\"server_rss_base_kb\":%ld", s2.rss_kb, s0.rss_kb);
	fprintf(f, ",\"server_pss_kb\":%ld,\"server_pss_base_kb\":%ld", s2.pss_kb, s0.pss_kb);
	json_num(f, "server_cpu_s", s2.cpu_s - s0.cpu_s, 2);
	json_num(f, "server_cpu_pub_s", s2.cpu_s - s1.cpu_s, 2);
	json_num(f, "connect_s", (double)(t_ready - t_start) / 1e9, 3);
	json_num(f, "publish_s", t_pub_end && P.t_first ? (double)(t_pub_end - P.t_first) / 1e9 : 0, 3);
	if (O.count_event != NULL) {
		double tel = R->last_token_ns > P.t_first && P.t_first ? (double)(R->last_token_ns - P.t_first) / 1e9 : 0;
		fprintf(f, ",\"count_event\":\"%s\",\"tokens\":%" PRIu64 ",\"bot_replies_done\":%" PRIu64,
		    O.count_event, R->tokens, R->bot_done);
		json_num(f, "tokens_per_s", tel > 0 ? (double)R->tokens / tel : 0, 0);
		json_num(f, "tokens_per_sub", R->connected ? (double)R->tokens / R->connected : 0, 1);
		json_num(f, "tok_p50_ms", h_pct_ms(&R->tok, 0.50), 3);
		json_num(f, "tok_p90_ms", h_pct_ms(&R->tok, 0.90), 3);
		json_num(f, "tok_p99_ms", h_pct_ms(&R->tok, 0.99), 3);
		json_num(f, "tok_max_ms", (double)R->tok.max_ns / 1e6, 3);
	}
	fprintf(f, ",\"server_alive\":%d}\n", s2.alive);
	fflush(f);
	return 0;
}
