/*
 * fuzz_oai_stream.c - src/bots/oai_stream.c fed arbitrary bytes. The first
 * input byte picks the piece size; the same bytes fed whole must give the
 * same deltas, status and error (the parser keeps no state tied to reads).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/oai_stream.h"
#include "util/buf.h"

static void
on_delta(void *arg, const char *text, size_t len)
{
	struct buf *b = arg;
	if (len == 0 || strlen(text) != len)
		abort();		/* deltas are non-empty strings without NUL */
	buf_add(b, text, len);
	buf_addc(b, '\0');		/* keeps delta boundaries in the comparison */
}

struct result {
	struct buf	 deltas;
	enum oai_status	 fed, finished;
	char		 error[160];
};

static void
run(const uint8_t *data, size_t size, size_t piece, struct result *r)
{
	struct oai_stream p;
	memset(r, 0, sizeof *r);
	oai_stream_init(&p, on_delta, &r->deltas);
	enum oai_status st = OAI_MORE, first_end = OAI_MORE;
	for (size_t off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		st = oai_stream_feed(&p, (const char *)data + off, n);
		if (st != OAI_MORE && st != OAI_DONE && st != OAI_ERROR)
			abort();
		if (first_end != OAI_MORE && st != first_end)
			abort();	/* once over, it stays over */
		if (first_end == OAI_MORE)
			first_end = st;
	}
	r->fed = st;
	r->finished = oai_stream_finish(&p);
	if (r->finished == OAI_MORE)
		abort();		/* finishing always decides */
	if (oai_stream_finish(&p) != r->finished)
		abort();
	if (r->fed != OAI_MORE && r->finished != r->fed)
		abort();
	if ((r->finished == OAI_ERROR) != (p.error[0] != '\0'))
		abort();		/* an error, and only an error, has a message */
	if (memchr(p.error, '\0', sizeof p.error) == NULL)
		abort();
	snprintf(r->error, sizeof r->error, "%s", p.error);
	oai_stream_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t piece = (size_t)data[0] % 17 + 1;
	data++;
	size--;

	struct result a, b;
	run(data, size, piece, &a);
	run(data, size, size ? size : 1, &b);
	if (a.fed != b.fed || a.finished != b.finished || strcmp(a.error, b.error) != 0 ||
	    a.deltas.len != b.deltas.len ||
	    (a.deltas.len > 0 && memcmp(a.deltas.data, b.deltas.data, a.deltas.len) != 0))
		abort();
	/* deltas cannot hold more text than came in */
	if (a.deltas.len > 2 * size + 1)
		abort();
	buf_free(&a.deltas);
	buf_free(&b.deltas);
	return 0;
}
