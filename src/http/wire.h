/*
 * wire.h - a strict reader of the bytes a client sends, run on every byte
 * before evhttp parses it (conns.c feeds it). It follows each request's
 * framing (request line, header block, a body by Content-Length or chunked)
 * and refuses, with a status and a reason, what RFC 9112 says a server must
 * not accept or what Parley does not: a header name that is not a token
 * (a space before the colon would hide a Transfer-Encoding), obs-fold,
 * HTTP/1.1 without exactly one Host, Content-Length and Transfer-Encoding
 * together, Content-Lengths that disagree, a transfer coding other than
 * chunked, malformed chunks, a header block or body over Parley's limits,
 * methods and versions it does not serve. So libevent never answers a
 * request itself, and every refusal is Parley's own. Chunk extensions are
 * valid and ignored: wire reports where they are so that the caller drops
 * them before evhttp (which cannot read them) sees the chunk. Pure.
 */
#ifndef PARLEY_WIRE_H
#define PARLEY_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum wire_state {
	WIRE_REQUEST_LINE, WIRE_HEADER, WIRE_BODY, WIRE_CHUNK_SIZE, WIRE_CHUNK_DATA,
	WIRE_CHUNK_END, WIRE_TRAILER, WIRE_REFUSED,
};

struct wire {
	enum wire_state	 state;
	uint64_t	 offset;		/* bytes fed so far */
	struct buf	 line;			/* the line being read, without its end */
	uint64_t	 line_start;		/* its offset */
	size_t		 head_bytes;		/* of this request's head (or trailers) */
	uint64_t	 body_bytes;		/* of this request's body */
	uint64_t	 remaining;		/* of the body or the chunk being read */
	uint64_t	 length;		/* Content-Length */
	int		 lengths;		/* Content-Length headers seen */
	int		 hosts;
	bool		 chunked;		/* Transfer-Encoding: chunked */
	bool		 head;			/* a HEAD request (evhttp reads no body for it) */
	bool		 http11;
	bool		 after_cr;		/* the last byte was a CR ending a line */
	int		 status;		/* refused: the status to answer */
	char		 reason[96];		/* and why */
	char		 path[64];		/* the request's path, cut: how to answer */
};

/*
 * The one route whose body may be larger than LIMIT_BODY_BYTES: a character
 * card's upload, up to LIMIT_UPLOAD_BYTES.
 */
#define WIRE_UPLOAD_PATH	"/api/v1/bots/import"

/* A stretch of bytes (a chunk extension) the caller must drop before evhttp reads them. */
typedef void (*wire_drop_fn)(void *arg, uint64_t offset, size_t len);

void	 wire_init(struct wire *w);
void	 wire_free(struct wire *w);
/*
 * Reads n more bytes of the connection. Returns true while the stream is
 * sound; false once refused (w->status and w->reason say why; later bytes
 * are ignored). drop(arg, ...) is called for each chunk extension found.
 */
bool	 wire_feed(struct wire *w, const char *p, size_t n, wire_drop_fn drop, void *arg);

#endif
