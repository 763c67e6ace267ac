/*
 * oai_stream.h - an incremental parser for OpenAI-compatible streaming
 * responses (text/event-stream of chat.completion.chunk objects). Fed bytes
 * as they arrive, in pieces of any size; reports each content delta.
 * Copes with a leading byte order mark, CRLF, comment lines, events split
 * across reads, a role-only first delta, a usage chunk with empty choices,
 * "[DONE]" (with or without its blank line), a finish reason (noted: the
 * stream may end after it without [DONE]), and errors sent
 * mid-stream: an error object as data, an "event: error", or llama.cpp's
 * "error:" line. Pure.
 */
#ifndef PARLEY_OAI_STREAM_H
#define PARLEY_OAI_STREAM_H
#include <stdbool.h>
#include <stddef.h>

#include "limits.h"
#include "util/buf.h"


enum oai_status {
	OAI_MORE,	/* feed more bytes */
	OAI_DONE,	/* [DONE] seen; later bytes are ignored */
	OAI_ERROR,	/* malformed stream or an error object; see error */
};

typedef void (*oai_delta_fn)(void *arg, const char *text, size_t len);

struct oai_stream {
	struct buf	 line;		/* the line being read */
	struct buf	 data;		/* the event's data lines so far */
	enum oai_status	 status;
	bool		 after_cr;	/* the last byte ended a line with CR */
	unsigned	 bom_seen;	/* bytes of a leading UTF-8 BOM skipped (3: past it) */
	bool		 error_event;	/* the event being read is "event: error" */
	size_t		 content_bytes;	/* the answer's text so far */
	unsigned long	 chunks;	/* chunks of the answer (not comments, keepalive objects, usage) */
	bool		 reasoned;	/* reasoning text came (not part of the answer) */
	char		 error[160];
	char		 finish_reason[32];
	oai_delta_fn	 on_delta;
	void		*arg;
	const char	*secret;	/* never in an error (the API key), or NULL */
};

void		 oai_stream_init(struct oai_stream *p, oai_delta_fn on_delta, void *arg);
/* Consumes bytes; returns the status after them. */
enum oai_status	 oai_stream_feed(struct oai_stream *p, const char *bytes, size_t n);
/* The stream ended (connection closed): an error unless [DONE] or a finish reason came. */
enum oai_status	 oai_stream_finish(struct oai_stream *p);
void		 oai_stream_free(struct oai_stream *p);

#endif
