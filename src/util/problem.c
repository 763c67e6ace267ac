/*
 * problem.c - refusals with a status and a detail; see problem.h.
 */
#include "util/problem.h"
#include "util/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
problem_set(struct problem *p, int status, const char *fmt, ...)
{
	char whole[4 * PROBLEM_DETAIL_MAX];	/* cut below, on a character boundary */
	va_list ap;
	p->status = status;
	p->retry_after = 0;
	va_start(ap, fmt);
	vsnprintf(whole, sizeof whole, fmt, ap);
	va_end(ap);
	size_t n = text_utf8_prefix(whole, strlen(whole), sizeof p->detail - 1);
	memcpy(p->detail, whole, n);
	p->detail[n] = '\0';
}
