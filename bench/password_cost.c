/*
 * password_cost.c - what one password hash costs on this machine: times N
 * Argon2id hashes and N checks with Parley's own parameters (src/util/
 * password.c, linked in) on one thread, and prints one JSON line with the
 * medians in milliseconds. Run by bench/run.sh (scenario "hash").
 *   password_cost [N]     (default 21)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/password.h"

#define MAX_N 201

static double
now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 21;
	if (n < 1 || n > MAX_N) {
		fprintf(stderr, "usage: password_cost [N: 1..%d]\n", MAX_N);
		return 2;
	}
	static double hash[MAX_N], check[MAX_N];
	char encoded[PASSWORD_ENCODED_MAX];
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();
		if (password_hash("correct horse battery staple", encoded) != 0)
			return 1;
		double t1 = now_ms();
		if (!password_verify(encoded, "correct horse battery staple"))
			return 1;
		hash[i] = t1 - t0;
		check[i] = now_ms() - t1;
	}
	printf("{\"target\":\"parley-accounts\",\"scenario\":\"hash\",\"n\":%d,"
	    "\"hash_ms\":%.2f,\"verify_ms\":%.2f}\n", n, median(hash, n), median(check, n));
	return 0;
}
