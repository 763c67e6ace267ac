/*
 * stream.h - one subscriber's event stream on its own socket.
 *
 * The HTTP request was read elsewhere (evhttp on the main loop); the stream
 * takes over the connected socket on whichever loop will serve it, writes
 * the response head itself, and from then on owns every write: a frame's
 * shared bytes go straight to the socket, and only what the kernel does not
 * take is queued (by reference, not copied) in the stream's output buffer,
 * which arms the write event until it drains. Once live, output queued past
 * the stream's cap cuts the subscriber off; publishing never waits on it.
 * The first burst (snapshot or replay) is not held against it: until that
 * has drained, the cap counts on top of what the burst left unsent.
 *
 * Lifetime: until the client goes away, the stream is cut off, or an
 * sse_stream_end() has flushed. Teardown runs from a deferred event, never
 * inside the callback that noticed it: the owner's on_close runs there, then
 * the stream and its socket are freed. Owned by one loop; not thread-safe.
 */
#ifndef PARLEY_SSE_STREAM_H
#define PARLEY_SSE_STREAM_H
#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <stddef.h>

#define SSE_HOLD_MAX 32	/* frames a stream holds for one write */

struct event_base;
struct frame;
struct sse_stream;

/*
 * What a stream's events carry: JSON (programs), HTML fragments (a page's
 * chat), or HTML fragments of several chats, each event named and
 * numbered with its chat (a browser's one shared stream, see frame.h).
 */
enum stream_kind { STREAM_JSON, STREAM_HTML, STREAM_MUX };
#define STREAM_KINDS 3

typedef void (*sse_close_fn)(struct sse_stream *s, void *arg);

struct sse_stream_opts {
	enum stream_kind kind;
	bool		 chunked;		/* HTTP/1.1: chunked; 1.0: close-delimited */
	unsigned	 keepalive_seconds;
	size_t		 output_cap;		/* bytes queued before cut-off */
	sse_close_fn	 on_close;
	void		*arg;
};

/* Takes over fd (its request already read) on base and sends the 200 head; never NULL. */
struct sse_stream	*sse_stream_start(struct event_base *base, int fd,
			    const struct sse_stream_opts *opts);
/* Sends a frame now (taking its own reference); does nothing once closing. */
void			 sse_stream_send(struct sse_stream *s, struct frame *f);
/*
 * Holds a frame (taking a reference) to go out with the stream's next
 * sse_stream_flush(), so that several go in one writev. Returns true when
 * the stream held nothing before: the caller must flush it later.
 */
bool			 sse_stream_hold(struct sse_stream *s, struct frame *f);
/* Writes the frames held, in one writev; returns how many (the caller counts them). */
unsigned		 sse_stream_flush(struct sse_stream *s);
/*
 * The same in two steps, for a caller that writes many streams with one
 * system call (send_batch.c): sse_stream_direct() fills iov with the held
 * frames when they can go straight to the socket and returns how many (0:
 * flush the stream instead); after writing them to sse_stream_fd(),
 * sse_stream_written() takes the result (bytes, or -errno) and returns what
 * sse_stream_flush() would have.
 */
unsigned		 sse_stream_direct(struct sse_stream *s, struct iovec iov[SSE_HOLD_MAX]);
int			 sse_stream_fd(const struct sse_stream *s);
unsigned		 sse_stream_written(struct sse_stream *s, ssize_t result);
/* The snapshot or replay has been queued: from now on the cap applies. */
void			 sse_stream_go_live(struct sse_stream *s);
/* Ends the stream after what is queued; the connection then closes. */
void			 sse_stream_end(struct sse_stream *s);
/* Shutdown only: closes the socket and frees the stream now, without on_close. */
void			 sse_stream_free(struct sse_stream *s);
enum stream_kind	 sse_stream_kind(const struct sse_stream *s);
bool			 sse_stream_closing(const struct sse_stream *s);

#endif
