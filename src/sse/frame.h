/*
 * frame.h - Server-Sent Events framing. A frame is one event (or comment),
 * encoded once and shared by reference count among every subscriber that
 * sends it. Its bytes carry an HTTP/1.1 chunk header and trailer around the
 * SSE text, so chunked streams send [chunk, chunk + chunk_len) and
 * close-delimited (HTTP/1.0) streams send [body, body + body_len).
 *
 * Pure: no I/O. Reference counts are atomic so frames may cross event loops.
 */
#ifndef PARLEY_SSE_FRAME_H
#define PARLEY_SSE_FRAME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct frame {
	_Atomic unsigned refs;
	uint64_t	 id;		/* event id, 0 for none */
	const char	*chunk;		/* chunk header + body + CRLF */
	size_t		 chunk_len;
	const char	*body;		/* the SSE text alone */
	size_t		 body_len;
	char		 bytes[];
};

/*
 * Frames an event: "id: N" when has_id, "event: NAME", one "data:" line per
 * line of payload (a payload line ends at LF, CRLF or CR, as SSE clients
 * read them), then a blank line. Returns a frame with one reference.
 */
struct frame	*sse_frame_event(bool has_id, uint64_t id, const char *event,
		    const char *payload, size_t payload_len);
/*
 * The same for a stream that carries several chats: the id and the event
 * name are prefixed with scope and ':' ("id: CHAT:N", "event: CHAT:NAME");
 * scope NULL: none, as sse_frame_event.
 */
struct frame	*sse_frame_scoped(const char *scope, bool has_id, uint64_t id,
		    const char *event, const char *payload, size_t payload_len);
/* Frames the comment ": TEXT" and a blank line. One reference. */
struct frame	*sse_frame_comment(const char *text);
struct frame	*sse_frame_ref(struct frame *f);
void		 sse_frame_unref(struct frame *f);

/* A list of frames to send in order, each with a reference of the list's. */
struct sse_frame_list {
	struct frame	**v;
	size_t		 n, cap;
};

/* Appends f (taking a reference); NULL is ignored. */
void		 sse_frame_list_add(struct sse_frame_list *l, struct frame *f);
/* Releases the references and the array. */
void		 sse_frame_list_free(struct sse_frame_list *l);

#endif
