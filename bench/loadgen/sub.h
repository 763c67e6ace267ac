/*
 * sub.h - a subscriber process's state, shared by sub.c (the connections and
 * the process's event loop) and sse.c (the HTTP/SSE parser that feeds them).
 * Nothing here is used by the parent.
 */
#ifndef LOADGEN_SUB_H
#define LOADGEN_SUB_H
#include "loadgen.h"

/* a subscriber's connection */
enum { S_IDLE, S_CONNECTING, S_HEAD, S_BODY, S_DEAD, S_FAILED, S_WAIT };
/* where the chunked decoder is */
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
	bool	 cross;		/* on another server than the posts' (--sub-port) */
	bool	 resuming;	/* --storm: reopened after the server closed it */
	bool	 synced;	/* --storm: has the posts sent before 'S' */
	uint8_t	 cstate;
	uint8_t	 evlen;
	uint8_t	 idlen;
	int	 attempts;
	int	 port;		/* its server's */
	uint64_t crem;
	int64_t	 started_ns;
	int64_t	 retry_at_ns;
	int64_t	 closed_ns;	/* --storm: when the server closed it */
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

struct child {
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
	bool	 draining;
	bool	 syncing;	/* --storm: 'S' came, MSG_SYNCED not sent yet */
	int	 synced;	/* --storm: counted subscribers with the posts so far */
	bool	 hold_done;
	int64_t	 deadline;
	bool	 check_client_order;
	struct result_msg r;
};

extern struct child C;		/* sub.c: this process's subscribers */
extern int64_t cur_ns;		/* sub.c: when the bytes being parsed arrived */

/* sub.c */
void	 sub_ready(struct sub *s);
void	 sub_check_complete(struct sub *s);
void	 sub_check_synced(struct sub *s);

/* sse.c */
void	 sub_reset_parser(struct sub *s);
bool	 head_feed(struct sub *s, const char *p, size_t n, size_t *used);
bool	 body_feed(struct sub *s, const char *p, size_t n);

#endif
