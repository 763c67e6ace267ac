/*
 * fuzz_sse_frame.c - src/sse/frame.c: sse_frame_event on an arbitrary
 * payload. Reads the frame back as an SSE client would and checks the data
 * lines rejoin to the payload with its line ends (CRLF, CR, LF) made LF, and
 * that the HTTP chunk around it is well formed.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse/frame.h"

/* The payload with CRLF and lone CR turned into LF. */
static char *
normalise(const uint8_t *p, size_t n, size_t *out_len)
{
	char *s = malloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r') {
			s[k++] = '\n';
			if (i + 1 < n && p[i + 1] == '\n')
				i++;
		} else
			s[k++] = (char)p[i];
	}
	*out_len = k;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool has_id = false;
	uint64_t id = 0;
	if (size >= 9) {
		has_id = data[0] & 1;
		memcpy(&id, data + 1, 8);
		data += 9;
		size -= 9;
	}
	struct frame *f = sse_frame_event(has_id, id, "message", (const char *)data, size);
	if (f == NULL || f->id != id)
		abort();

	/* the chunk: hex length CRLF, body, CRLF */
	char head[32];
	int hl = snprintf(head, sizeof head, "%zx\r\n", f->body_len);
	if (f->chunk_len != (size_t)hl + f->body_len + 2 || memcmp(f->chunk, head, (size_t)hl) != 0 ||
	    f->body != f->chunk + hl || memcmp(f->chunk + hl + f->body_len, "\r\n", 2) != 0)
		abort();

	/* the body: id, event, data lines, blank line */
	const char *b = f->body, *end = f->body + f->body_len;
	char line[48];
	if (has_id) {
		int n = snprintf(line, sizeof line, "id: %" PRIu64 "\n", id);
		if ((size_t)(end - b) < (size_t)n || memcmp(b, line, (size_t)n) != 0)
			abort();
		b += n;
	}
	if ((size_t)(end - b) < 15 || memcmp(b, "event: message\n", 15) != 0)
		abort();
	b += 15;

	size_t want_len;
	char *want = normalise(data, size, &want_len);
	char *got = malloc(size + 1);
	size_t got_len = 0;
	bool first = true;
	while (b < end && *b != '\n') {
		if ((size_t)(end - b) < 6 || memcmp(b, "data: ", 6) != 0)
			abort();
		b += 6;
		const char *nl = memchr(b, '\n', (size_t)(end - b));
		if (nl == NULL || memchr(b, '\r', (size_t)(nl - b)) != NULL)
			abort();
		if (!first)
			got[got_len++] = '\n';
		if (got_len + (size_t)(nl - b) > size)
			abort();
		memcpy(got + got_len, b, (size_t)(nl - b));
		got_len += (size_t)(nl - b);
		first = false;
		b = nl + 1;
	}
	/* at least one data line, then the blank line that ends the event */
	if (first || end - b != 1 || *b != '\n')
		abort();
	if (got_len != want_len || memcmp(got, want, got_len) != 0)
		abort();

	sse_frame_ref(f);
	sse_frame_unref(f);
	sse_frame_unref(f);
	free(got);
	free(want);
	return 0;
}
