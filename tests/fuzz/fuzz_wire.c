/*
 * fuzz_wire.c - the strict reader of request bytes (src/http/wire.c), which
 * sees every byte a client sends before evhttp: whatever the bytes, reading
 * them at once or split at a point the input chooses ends the same way (the
 * same verdict, status, state and dropped stretches), and every dropped
 * stretch lies inside what was read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/wire.h"

struct drops {
	uint64_t	 at[64];
	size_t		 len[64];
	int		 n;
};

static void
record(void *arg, uint64_t offset, size_t len)
{
	struct drops *d = arg;
	if (d->n < 64) {
		d->at[d->n] = offset;
		d->len[d->n] = len;
	}
	d->n++;
}

static void
run(const uint8_t *data, size_t size, size_t split, struct wire *w, struct drops *d)
{
	wire_init(w);
	if (wire_feed(w, (const char *)data, split, record, d))
		wire_feed(w, (const char *)data + split, size - split, record, d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t split = data[0] % size;
	data++;
	size--;
	struct wire a, b;
	struct drops da = { .n = 0 }, db = { .n = 0 };
	run(data, size, 0, &a, &da);
	run(data, size, split, &b, &db);
	if (a.state != b.state || a.status != b.status || da.n != db.n)
		abort();
	for (int i = 0; i < da.n && i < 64; i++)
		if (da.at[i] != db.at[i] || da.len[i] != db.len[i] ||
		    da.at[i] + da.len[i] > a.offset)
			abort();
	wire_free(&a);
	wire_free(&b);
	return 0;
}
