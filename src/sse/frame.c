/*
 * frame.c - SSE event framing; see frame.h.
 */
#include "sse/frame.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Wraps the SSE text in an HTTP/1.1 chunk and returns it as a frame. */
static struct frame *
frame_from_text(uint64_t id, const struct buf *text)
{
	char head[24];
	int head_len = snprintf(head, sizeof head, "%zx\r\n", text->len);
	size_t total = (size_t)head_len + text->len + 2;
	struct frame *f = xmalloc(sizeof *f + total);

	atomic_init(&f->refs, 1);
	f->id = id;
	memcpy(f->bytes, head, (size_t)head_len);
	memcpy(f->bytes + head_len, text->data, text->len);
	memcpy(f->bytes + head_len + text->len, "\r\n", 2);
	f->chunk = f->bytes;
	f->chunk_len = total;
	f->body = f->bytes + head_len;
	f->body_len = text->len;
	return f;
}

static void
add_data_lines(struct buf *b, const char *p, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '\n' && p[i] != '\r')
			continue;
		buf_adds(b, "data: ");
		buf_add(b, p + start, i - start);
		buf_addc(b, '\n');
		if (i + 1 < n && p[i] == '\r' && p[i + 1] == '\n')
			i++;
		start = i + 1;
	}
}

struct frame *
sse_frame_event(bool has_id, uint64_t id, const char *event, const char *payload,
    size_t payload_len)
{
	return sse_frame_scoped(NULL, has_id, id, event, payload, payload_len);
}

struct frame *
sse_frame_scoped(const char *scope, bool has_id, uint64_t id, const char *event,
    const char *payload, size_t payload_len)
{
	struct buf b = BUF_INIT;
	const char *sep = scope ? ":" : "";

	scope = scope ? scope : "";
	buf_reserve(&b, payload_len + 64);
	if (has_id)
		buf_printf(&b, "id: %s%s%llu\n", scope, sep, (unsigned long long)id);
	buf_printf(&b, "event: %s%s%s\n", scope, sep, event);
	add_data_lines(&b, payload, payload_len);
	buf_addc(&b, '\n');
	struct frame *f = frame_from_text(id, &b);
	buf_free(&b);
	return f;
}

struct frame *
sse_frame_comment(const char *text)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, ": %s\n\n", text);
	struct frame *f = frame_from_text(0, &b);
	buf_free(&b);
	return f;
}

struct frame *
sse_frame_ref(struct frame *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
	return f;
}

void
sse_frame_unref(struct frame *f)
{
	if (f != NULL && atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
		free(f);
}

void
sse_frame_list_add(struct sse_frame_list *l, struct frame *f)
{
	if (f == NULL)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	l->v[l->n++] = sse_frame_ref(f);
}

void
sse_frame_list_free(struct sse_frame_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		sse_frame_unref(l->v[i]);
	free(l->v);
	*l = (struct sse_frame_list){ NULL, 0, 0 };
}
