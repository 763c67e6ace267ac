/*
 * problem.h - why a request was refused: an HTTP status and a short,
 * human-readable detail (RFC 9457's "problem details", in spirit). The
 * services fill one instead of answering, so the JSON API and the pages
 * each answer it in their own format. Pure.
 */
#ifndef PARLEY_PROBLEM_H
#define PARLEY_PROBLEM_H

#define PROBLEM_DETAIL_MAX 160	/* bytes of detail, with the NUL */

struct problem {
	int		 status;
	unsigned	 retry_after;	/* seconds to wait before trying again, or 0 */
	char		 detail[PROBLEM_DETAIL_MAX];
};

/* Sets status and the formatted detail, cut on a character boundary if too long; no wait. */
void	 problem_set(struct problem *p, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
