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
#include <stdint.h>
#include <sys/types.h>

enum { T_PARLEY, T_NCHAN };

/* ------------------------------------------------------------------ options */

#define MAX_PIDS 32
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
};

extern struct options O;	/* main.c */

/* the plan (main.c): post j goes to chat j % chats */
int		 posts_for_chat(int chat);
const char	*chat_name(int chat);

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
 * hold is over, 'Q' quit (after the parent sampled the server).
 */
enum { MSG_READY = 1, MSG_RESULT = 2 };

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
	struct hist lat;
	struct hist tok;
};

/* procs.c: the parent's side of the subscriber processes */
void	 procs_start(void);
void	 procs_wait_ready(int *connected, int *failed);
void	 procs_tell(const char *cmd);
void	 procs_collect(struct result_msg *sum);
void	 procs_quit(void);

/* sub.c: a subscriber process; never returns */
_Noreturn void child_main(int k, int from_parent, int to_parent);

/* ------------------------------------------------------------ publishers */

struct pub_result {
	int	 acked;		/* posts acknowledged */
	int	 errors;	/* posts refused or lost on the wire */
	int64_t	 t_first;	/* the first post's send */
};

/* pub.c */
struct pub_result publish(void);
int	 tcp_connect_blocking(void);
int	 http_response_complete(const char *b, size_t n, int *status, bool *close_after,
	    size_t *total);

/* setup.c */
void	 do_setup(void);

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
