/*
 * loadgen.h - what the load generator's files share: the options (set once by
 * main.c's parse_args, read everywhere), the plan (which chat gets which post),
 * the messages between the subscriber processes and the parent, the latency
 * histogram and the helpers of util.c. Each file's own state stays in it.
 *
 * The load generator (bench/README.md): main.c parses the options and runs
 * the phases; procs.c forks the subscriber processes, which run sub.c (the
 * connections) and sse.c (the exact HTTP/SSE parser); pub.c publishes from
 * the parent; setup.c creates the chats for --setup.
 */
#ifndef LOADGEN_H
#define LOADGEN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

enum { T_PARLEY, T_NCHAN };

/* ------------------------------------------------------------------ options */

#define MAX_PIDS 32
#define MAX_PORTS 8		/* --sub-port, --resume-port: at most this many */
#define MAX_HEADERS 4		/* --header: at most this many */
#define HEADERS_MAX 1024	/* their lines together, with CRLFs */

struct options {
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
	pid_t	 db_pids[MAX_PIDS];	/* --db-pid: the database's processes */
	int	 ndb_pids;
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
	int	 nheaders;
	char	 headers[HEADERS_MAX];	/* --header lines, each ending in CRLF, for
					   every request: "" or "Name: value\r\n"... */
	int	 sub_ports[MAX_PORTS];	/* --sub-port: the subscribers' servers */
	int	 nsub_ports;		/* 0: every subscriber on --port */
	pid_t	 redis_pids[MAX_PIDS];	/* --redis-pid: Redis, sampled apart */
	int	 nredis_pids;
	bool	 storm;			/* --storm (storm.c) */
	pid_t	 kill_pid;		/* --kill-pid: killed with SIGKILL */
	int	 resume_ports[MAX_PORTS];	/* --resume-port: where streams resume */
	int	 nresume_ports;
	double	 resume_delay;		/* --resume-delay: at most this many s */
	int	 storm_posts;		/* --storm-posts: per chat, after the kill */
};

extern struct options O;	/* main.c */

/*
 * the plan (main.c): post j goes to chat j % chats; posts in all: --posts, and
 * with --storm --storm-posts per chat more, after the kill
 */
int		 plan_posts(void);
int		 posts_for_chat(int chat);
int		 posts_before(int chat, int n);	/* of posts 0 .. n-1 */
const char	*chat_name(int chat);
/* subscriber idx's server (--sub-port), and where it resumes (--resume-port) */
int		 sub_port(int idx);
int		 resume_port(int idx);

/* ------------------------------------------------------------ histogram */

/*
 * Log-linear histogram of microseconds: exact below 128 us, then 64 buckets
 * per power of two (resolution 1/64 = 1.6%). hist.c.
 */
#define H_SUB	64
#define H_NB	(128 + 40 * H_SUB)

struct hist {
	uint64_t n;
	uint64_t max_ns;
	uint64_t b[H_NB];
};

void	 h_add(struct hist *h, int64_t ns);
void	 h_merge(struct hist *a, const struct hist *b);
double	 h_pct_ms(const struct hist *h, double p);

/* ---------------------------------------------------------- child <-> parent */

/*
 * A subscriber process sends one ready_msg once every subscriber is connected
 * or given up, and one result_msg at the end. The parent sends single bytes:
 * 'G' posting starts, 'D' the last post is acknowledged (drain), 'H' the idle
 * hold is over, 'Q' quit (after the parent sampled the server). --storm adds
 * 'S': say (a ready_msg MSG_SYNCED) once every stream has the posts so far.
 */
enum { MSG_READY = 1, MSG_RESULT = 2, MSG_SYNCED = 3 };

struct ready_msg {
	int	type;
	int	connected;
	int	failed;
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
	uint64_t deliveries_x;	/* of deliveries, to subscribers on another
				   server than --port's (--sub-port) */
	/* --storm */
	int	 resumed;	/* streams reopened after the server closed them */
	uint64_t id_gaps;	/* an event id more than one past the last */
	uint64_t resume_snapshots;	/* a resumed stream began with a snapshot */
	int64_t	 last_live_ns;	/* the last stream to have every post */
	int64_t	 last_reopen_ns;	/* the last resume answered 200 */
	struct hist lat;
	struct hist tok;
	struct hist lat_x;	/* deliveries_x's latency */
	struct hist reopen;	/* --storm: resume attempt -> 200 */
	struct hist relive;	/* --storm: closed -> every post */
};

/* procs.c: the parent's side of the subscriber processes */
void	 procs_start(void);
void	 procs_wait_ready(int *connected, int *failed);
void	 procs_tell(const char *cmd);
void	 procs_collect(struct result_msg *sum);
void	 procs_quit(void);

void	 procs_wait_synced(int *synced);

/* sub.c: a subscriber process; never returns */
_Noreturn void child_main(int k, int from_parent, int to_parent);

/* ------------------------------------------------------------ publishers */

struct pub_result {
	int	 acked;		/* posts acknowledged */
	int	 errors;	/* posts refused or lost on the wire */
	int64_t	 t_first;	/* the first post's send */
};

/* pub.c: posts first .. end-1, over connections to ports (round robin) */
struct pub_result publish(int first, int end, const int *ports, int nports);
int	 tcp_connect_blocking(int port);
int	 http_response_complete(const char *b, size_t n, int *status, bool *close_after,
	    size_t *total);

/* setup.c */
void	 do_setup(void);

/* ------------------------------------------------------- the run (main.c) */

struct srvstat {
	long	rss_kb;
	long	pss_kb;
	double	cpu_s;
	int	alive;
	double	db_cpu_s;	/* the --db-pid processes */
	double	redis_cpu_s;	/* the --redis-pid processes */
};

struct run {
	int	 total;		/* subscribers attempted */
	struct srvstat s0;	/* the server before subscribing */
	struct srvstat s1;	/* when posting started (storm: at the kill) */
	struct srvstat s2;	/* at the end (idle: with everything held) */
	int64_t	 t_start, t_ready, t_pub_end, t_end;
	int64_t	 t_kill;	/* --storm */
	struct pub_result pre;	/* --storm: the posts before the kill */
	struct pub_result pub;
	struct result_msg R;	/* the subscriber processes' results, summed */
};

struct srvstat server_sample(void);
void	 json_num(FILE *f, const char *k, double v, int prec);

/* storm.c */
void	 storm_run(struct run *run);
void	 storm_print(FILE *f, const struct run *run);

/* ------------------------------------------------------------------ util.c */

int64_t	 now_ns(void);
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 logv(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	*xmalloc(size_t n);
void	*xcalloc(size_t a, size_t b);
void	*xrealloc(void *p, size_t n);
void	 write_all(int fd, const void *buf, size_t n);
bool	 read_all(int fd, void *buf, size_t n);
const void *memmem_s(const void *h, size_t hl, const char *n);
const char *json_str(const char *d, size_t n, const char *key, size_t *len);

#endif
