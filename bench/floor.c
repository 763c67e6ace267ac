/*
 * floor.c - the least an SSE fan-out server can do, as a yardstick for
 * `make bench` (bench/run.sh runs it in S4 beside Parley and nchan). It
 * speaks nchan's URL shapes, so the load generator drives it with
 * --target nchan:
 *
 *   GET  /sub/{name}   an EventSource stream of the channel's posts
 *   POST /pub/{name}   the body goes out to every stream of the channel
 *                      ("id: N\ndata: BODY\n\n"), then 201 with no body
 *
 * One thread, one epoll loop, one write per stream per post. With --db FILE
 * each post is first stored the way Parley stores it (the same two tables and
 * keys, WAL, synchronous=NORMAL, SQLite's own checkpoints): by default one
 * commit per post; with --group one commit per loop iteration, the posts of
 * the iteration fanned out and answered after it. It parses only what the
 * load generator sends (Content-Length bodies, no chunked requests), drops a
 * stream whose socket does not take a whole frame at once, and exits on a
 * storage error. Not a server for anything but this measurement.
 *
 *   floor --port N [--db FILE [--group]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 20480
#define CHANNELS 4096		/* open addressing; S4 uses 1,000 */
#define REQUEST_MAX 4096
#define BATCH_MAX 1024

struct channel {
	char	 name[64];
	int	*subs;			/* stream fds */
	int	 nsubs, cap;
	long	 last_id;
};

struct conn {
	struct channel *channel;	/* a stream's channel, NULL for a publisher */
	size_t	 len;
	char	 in[REQUEST_MAX];
};

struct post {			/* stored, waiting for the iteration's commit */
	int	 publisher;
	struct channel *channel;
	char	*frame;
	int	 frame_len;
};

static struct conn *conns[MAX_FDS];
static struct channel channels[CHANNELS];
static sqlite3 *db;
static sqlite3_stmt *insert_message, *insert_event;
static bool group;
static struct post batch[BATCH_MAX];
static int nbatch;

static const char STREAM_HEAD[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n\r\n";
static const char CREATED[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
static const char OTHER[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";

static void
die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, db ? sqlite3_errmsg(db) : strerror(errno));
	exit(1);
}

static struct channel *
channel_named(const char *name, size_t len)
{
	if (len == 0 || len >= sizeof channels[0].name)
		return NULL;
	unsigned h = 5381;
	for (size_t i = 0; i < len; i++)
		h = h * 33 + (unsigned char)name[i];
	for (unsigned n = 0, i = h % CHANNELS; n < CHANNELS; n++, i = (i + 1) % CHANNELS) {
		struct channel *c = &channels[i];
		if (c->name[0] == '\0')
			memcpy(c->name, name, len);
		if (strncmp(c->name, name, len) == 0 && c->name[len] == '\0')
			return c;
	}
	return NULL;
}

static void
conn_close(int fd)
{
	struct channel *c = conns[fd]->channel;
	for (int i = 0; c != NULL && i < c->nsubs; i++)
		if (c->subs[i] == fd)
			c->subs[i] = c->subs[--c->nsubs];
	for (int i = 0; i < nbatch; i++)
		if (batch[i].publisher == fd)
			batch[i].publisher = -1;
	free(conns[fd]);
	conns[fd] = NULL;
	close(fd);		/* leaves the epoll set with it */
}

static void
reply(int fd, const char *text, size_t len)
{
	if (fd >= 0 && write(fd, text, len) != (ssize_t)len)
		conn_close(fd);
}

static void
subscribe(int fd, struct channel *c)
{
	if (c->nsubs == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		if ((c->subs = realloc(c->subs, (size_t)c->cap * sizeof *c->subs)) == NULL)
			die("realloc");
	}
	c->subs[c->nsubs++] = fd;
	conns[fd]->channel = c;
	reply(fd, STREAM_HEAD, sizeof STREAM_HEAD - 1);
}

/* Every stream of the channel gets the frame; the 201 follows. */
static void
deliver(struct post *p)
{
	struct channel *c = p->channel;
	for (int i = 0; i < c->nsubs;) {
		if (write(c->subs[i], p->frame, (size_t)p->frame_len) == p->frame_len)
			i++;
		else
			conn_close(c->subs[i]);	/* the last stream moves into slot i */
	}
	reply(p->publisher, CREATED, sizeof CREATED - 1);
	free(p->frame);
}

static void
store(struct channel *c, long id, const char *body, int len)
{
	sqlite3_stmt *stmts[] = { insert_message, insert_event };
	for (int i = 0; i < 2; i++) {
		sqlite3_bind_text(stmts[i], 1, c->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmts[i], 2, id);
		sqlite3_bind_text(stmts[i], 3, body, len, SQLITE_STATIC);
		int rc = sqlite3_step(stmts[i]);
		sqlite3_reset(stmts[i]);
		if (rc != SQLITE_DONE)
			die("insert");
	}
}

static void
sql(const char *statement)
{
	if (sqlite3_exec(db, statement, NULL, NULL, NULL) != SQLITE_OK)
		die(statement);
}

/* One loop iteration's posts become durable together, then go out. */
static void
commit_batch(void)
{
	if (nbatch == 0)
		return;
	if (db != NULL)
		sql("COMMIT");
	for (int i = 0; i < nbatch; i++)
		deliver(&batch[i]);
	nbatch = 0;
}

static void
publish(int fd, struct channel *c, const char *body, int len)
{
	long id = ++c->last_id;
	if (group && nbatch == BATCH_MAX)
		commit_batch();
	if (db != NULL && (!group || nbatch == 0))
		sql("BEGIN");
	if (db != NULL)
		store(c, id, body, len);
	if (db != NULL && !group)
		sql("COMMIT");
	struct post p = { .publisher = fd, .channel = c, .frame = malloc((size_t)len + 40) };
	if (p.frame == NULL)
		die("malloc");
	p.frame_len = sprintf(p.frame, "id: %ld\ndata: %.*s\n\n", id, len, body);
	if (group)
		batch[nbatch++] = p;
	else
		deliver(&p);
}

/* Handles the complete requests in the connection's buffer; false once closed. */
static bool
serve(int fd)
{
	struct conn *cn = conns[fd];
	for (;;) {
		char *end = memmem(cn->in, cn->len, "\r\n\r\n", 4);
		if (end == NULL)
			return cn->len < sizeof cn->in;
		size_t head = (size_t)(end + 4 - cn->in), body_len = 0;
		char *cl = memmem(cn->in, head, "Content-Length:", 15);
		if (cl != NULL)
			body_len = strtoul(cl + 15, NULL, 10);
		if (head + body_len > sizeof cn->in)
			return false;
		if (cn->len < head + body_len)
			return true;
		char *path = memchr(cn->in, ' ', head), *path_end;
		path_end = path ? memchr(path + 1, ' ', head - (size_t)(path + 1 - cn->in)) : NULL;
		struct channel *c = NULL;
		if (path_end && strncmp(cn->in, "GET /sub/", 9) == 0 &&
		    (c = channel_named(path + 6, (size_t)(path_end - path - 6))) != NULL)
			subscribe(fd, c);
		else if (path_end && strncmp(cn->in, "POST /pub/", 10) == 0 &&
		    (c = channel_named(path + 6, (size_t)(path_end - path - 6))) != NULL)
			publish(fd, c, cn->in + head, (int)body_len);
		else
			reply(fd, OTHER, sizeof OTHER - 1);
		if (conns[fd] != cn)
			return false;
		memmove(cn->in, cn->in + head + body_len, cn->len - head - body_len);
		cn->len -= head + body_len;
	}
}

static void
readable(int fd)
{
	struct conn *cn = conns[fd];
	ssize_t n = read(fd, cn->in + cn->len, sizeof cn->in - cn->len);
	if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
		conn_close(fd);
		return;
	}
	if (n > 0) {
		cn->len += (size_t)n;
		if (!serve(fd) && conns[fd] == cn)
			conn_close(fd);
	}
}

static void
accept_all(int listener, int ep)
{
	int one = 1, fd;
	while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
		if (fd >= MAX_FDS || (conns[fd] = calloc(1, sizeof *conns[fd])) == NULL ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			free(fd < MAX_FDS ? conns[fd] : NULL);
			if (fd < MAX_FDS)
				conns[fd] = NULL;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
}

static void
open_store(const char *path)
{
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	    "CREATE TABLE IF NOT EXISTS messages (chat_id TEXT NOT NULL, seq INTEGER NOT NULL,"
	    "  kind TEXT NOT NULL, author TEXT, bot_id TEXT, body TEXT NOT NULL,"
	    "  state TEXT NOT NULL, error TEXT, created_at TEXT NOT NULL,"
	    "  PRIMARY KEY (chat_id, seq)) WITHOUT ROWID;"
	    "CREATE TABLE IF NOT EXISTS events (chat_id TEXT NOT NULL, id INTEGER NOT NULL,"
	    "  name TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (chat_id, id)) WITHOUT ROWID;",
	    NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO messages VALUES (?1, ?2, 'person', 'bench',"
	    " NULL, ?3, 'complete', NULL, strftime('%Y-%m-%dT%H:%M:%SZ'))", -1,
	    &insert_message, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?1, ?2, 'message', ?3)", -1,
	    &insert_event, NULL) != SQLITE_OK)
		die(path);
}

int
main(int argc, char **argv)
{
	int port = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			open_store(argv[++i]);
		else if (strcmp(argv[i], "--group") == 0)
			group = true;
		else
			port = 0, i = argc;
	}
	if (port <= 0 || port > 65535) {
		fprintf(stderr, "usage: floor --port N [--db FILE [--group]]\n");
		return 2;
	}
	int one = 1, listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 4096) != 0)
		die("listen");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = { .events = EPOLLIN, .data.fd = listener }, evs[512];
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listener, &lev) != 0)
		die("epoll");
	printf("floor: listening on 127.0.0.1:%d\n", port);
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 512, -1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == listener)
				accept_all(listener, ep);
			else if (conns[evs[i].data.fd] != NULL)
				readable(evs[i].data.fd);
		}
		commit_batch();
	}
}
