/*
 * oai_stream.c - OpenAI-compatible stream parsing; see oai_stream.h.
 */
#include "backends/oai_stream.h"
#include "util/text.h"
#include "util/xmalloc.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
oai_stream_init(struct oai_stream *p, oai_delta_fn on_delta, void *arg)
{
	memset(p, 0, sizeof *p);
	p->on_delta = on_delta;
	p->arg = arg;
	p->status = OAI_MORE;
}

void
oai_stream_free(struct oai_stream *p)
{
	buf_free(&p->line);
	buf_free(&p->data);
}

/* The stream failed; the reason is cut on a character boundary to fit. */
static enum oai_status
fail(struct oai_stream *p, const char *fmt, ...)
{
	char whole[4 * sizeof p->error];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(whole, sizeof whole, fmt, ap);
	va_end(ap);
	text_one_line(p->error, sizeof p->error, whole);
	return p->status = OAI_ERROR;
}

/* An error object, at the top level ({"error":{...}}) or as the chunk itself. */
static bool
take_error(struct oai_stream *p, json_t *chunk)
{
	json_t *err = json_object_get(chunk, "error");
	if (err == NULL || json_is_null(err) || (json_is_string(err) && !*json_string_value(err)))
		return false;	/* "error": null beside a chunk is no error */
	const char *msg = json_string_value(json_object_get(err, "message"));
	if (msg == NULL)
		msg = json_string_value(err);
	char *whole = xstrdup(msg ? msg : "unknown");
	text_hide(whole, p->secret);
	fail(p, "model server error: %s", whole);
	free(whole);
	return true;
}

/* The error an "event: error" or an "error:" line carries: JSON or plain text. */
static void
take_error_text(struct oai_stream *p, const char *text, size_t len)
{
	json_t *v = json_loadb(text, len, 0, NULL);
	if (json_is_object(v) && take_error(p, v)) {
		json_decref(v);
		return;
	}
	const char *msg = json_string_value(json_object_get(v, "message"));
	char *whole = msg ? xstrdup(msg) : xstrndup(text, len);
	text_hide(whole, p->secret);
	fail(p, "model server error: %s", *whole ? whole : "unknown");
	free(whole);
	json_decref(v);
}

static void
take_chunk(struct oai_stream *p, json_t *chunk)
{
	json_t *choice = json_array_get(json_object_get(chunk, "choices"), 0);
	if (choice == NULL)
		return;		/* a usage chunk, or a keepalive object */
	p->chunks++;
	json_t *delta = json_object_get(choice, "delta");
	json_t *content = json_object_get(delta, "content");
	const char *text = json_string_value(content);
	size_t left = json_string_length(content);
	while (left > 0) {	/* a NUL ("\u0000") is no text: the pieces around it are */
		size_t n = strnlen(text, left);
		if (n > 0) {
			p->content_bytes += n;
			p->on_delta(p->arg, text, n);
		}
		size_t skip = n < left ? n + 1 : n;
		text += skip;
		left -= skip;
	}
	for (const char *const *k = (const char *const[]){ "reasoning_content", "reasoning", NULL };
	    *k != NULL; k++)
		p->reasoned |= json_string_length(json_object_get(delta, *k)) > 0;
	/* not the end by itself: some servers and proxies send one with every chunk */
	const char *reason = json_string_value(json_object_get(choice, "finish_reason"));
	if (reason != NULL && *reason)
		snprintf(p->finish_reason, sizeof p->finish_reason, "%s", reason);
}

/* A blank line ends an event: its data is "[DONE]" or one JSON chunk. */
static void
end_event(struct oai_stream *p)
{
	bool error_event = p->error_event;
	p->error_event = false;
	if (p->data.len == 0)
		return;
	if (error_event) {
		take_error_text(p, p->data.data, p->data.len);
		return;
	}
	if (strcmp(p->data.data, "[DONE]") == 0) {
		p->status = OAI_DONE;
		return;
	}
	json_t *chunk = json_loadb(p->data.data, p->data.len, JSON_ALLOW_NUL, NULL);
	buf_reset(&p->data);
	if (!json_is_object(chunk))
		fail(p, "malformed stream from the model server");
	else if (!take_error(p, chunk))
		take_chunk(p, chunk);
	json_decref(chunk);
}

/* The value of a "name: value" line (one space after the colon dropped), or NULL. */
static const char *
field(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	if (len == n && strncmp(line, name, n) == 0) {
		*vlen = 0;
		return line + n;	/* the name alone: an empty value */
	}
	if (len <= n || strncmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	const char *value = line + n + 1;
	*vlen = len - n - 1;
	if (*vlen > 0 && value[0] == ' ') {
		value++;
		(*vlen)--;
	}
	return value;
}

static void
take_line(struct oai_stream *p, const char *line, size_t len)
{
	size_t vlen;
	const char *value;
	if (len == 0) {
		end_event(p);
		return;
	}
	if ((value = field(line, len, "error", &vlen)) != NULL) {
		take_error_text(p, value, vlen);	/* llama.cpp's server */
		return;
	}
	if ((value = field(line, len, "event", &vlen)) != NULL) {
		p->error_event = vlen == 5 && strncmp(value, "error", 5) == 0;
		return;
	}
	if ((value = field(line, len, "data", &vlen)) == NULL)
		return;		/* comments, id:, retry: */
	if (p->data.len == 0 && !p->error_event && vlen == 6 && strncmp(value, "[DONE]", 6) == 0) {
		p->status = OAI_DONE;	/* whole, its blank line or not */
		return;
	}
	if (p->data.len > 0)
		buf_addc(&p->data, '\n');
	buf_add(&p->data, value, vlen);
	if (p->data.len > LIMIT_MODEL_EVENT_BYTES)
		fail(p, "the model server sent an event over %d bytes", LIMIT_MODEL_EVENT_BYTES);
}

/* A line ends at LF, CR or CRLF (the SSE rule). */
enum oai_status
oai_stream_feed(struct oai_stream *p, const char *bytes, size_t n)
{
	static const char bom[] = "\xef\xbb\xbf";
	for (size_t i = 0; i < n && p->status == OAI_MORE; i++) {
		char c = bytes[i];
		if (p->bom_seen < 3) {	/* a leading byte order mark is no part of the stream */
			if (c == bom[p->bom_seen]) {
				p->bom_seen++;
				continue;
			}
			p->bom_seen = 3;
		}
		bool crlf = p->after_cr && c == '\n';
		p->after_cr = c == '\r';
		if (crlf)
			continue;	/* the LF of a CRLF already ended its line */
		if (c != '\n' && c != '\r') {
			buf_addc(&p->line, c);
			if (p->line.len > LIMIT_MODEL_EVENT_BYTES)
				return fail(p, "the model server sent a line over %d bytes",
				    LIMIT_MODEL_EVENT_BYTES);
			continue;
		}
		take_line(p, p->line.data ? p->line.data : "", p->line.len);
		buf_reset(&p->line);
	}
	return p->status;
}

enum oai_status
oai_stream_finish(struct oai_stream *p)
{
	if (p->status != OAI_MORE)
		return p->status;
	if (p->line.len > 0)
		oai_stream_feed(p, "\n", 1);
	if (p->status == OAI_MORE)
		end_event(p);
	if (p->status == OAI_MORE && p->finish_reason[0] == '\0')
		return fail(p, "the model server's stream ended early");
	if (p->status == OAI_MORE)
		p->status = OAI_DONE;
	return p->status;
}
