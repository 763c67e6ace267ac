/*
 * hist.c - the latency histogram (struct hist in loadgen.h): sse.c adds each
 * delivery's and token's latency in the subscriber processes, procs.c merges
 * the processes' histograms, main.c reads the percentiles for the JSON line.
 */
#include "loadgen.h"

static int
h_index(uint64_t us)
{
	if (us < 128)
		return (int)us;
	int e = 63 - __builtin_clzll(us);	/* >= 7 */
	int i = 128 + (e - 7) * H_SUB + (int)((us >> (e - 6)) & (H_SUB - 1));
	return i < H_NB ? i : H_NB - 1;
}

static double
h_value_us(int i)
{
	if (i < 128)
		return i + 0.5;
	int e = (i - 128) / H_SUB + 7;
	int sub = (i - 128) % H_SUB;
	double lo = (double)((uint64_t)(H_SUB + sub) << (e - 6));
	double w = (double)(1ULL << (e - 6));
	return lo + w / 2;
}

void
h_add(struct hist *h, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	h->n++;
	if ((uint64_t)ns > h->max_ns)
		h->max_ns = (uint64_t)ns;
	h->b[h_index((uint64_t)ns / 1000)]++;
}

void
h_merge(struct hist *a, const struct hist *b)
{
	a->n += b->n;
	if (b->max_ns > a->max_ns)
		a->max_ns = b->max_ns;
	for (int i = 0; i < H_NB; i++)
		a->b[i] += b->b[i];
}

/* The p-quantile (0..1) in milliseconds, at most the maximum seen. */
double
h_pct_ms(const struct hist *h, double p)
{
	if (h->n == 0)
		return 0;
	uint64_t rank = (uint64_t)(p * (double)h->n + 0.999999);
	if (rank < 1)
		rank = 1;
	uint64_t c = 0;
	for (int i = 0; i < H_NB; i++) {
		c += h->b[i];
		if (c >= rank) {
			double v = h_value_us(i) / 1000.0;
			double mx = (double)h->max_ns / 1e6;
			return v > mx ? mx : v;
		}
	}
	return (double)h->max_ns / 1e6;
}
