/*
 * test_workers.c - the worker threads (src/util/workers.c): work runs off
 * the loop, done runs on it, a full queue refuses, and freeing runs what
 * was queued and delivers its last answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "util/workers.h"

struct job {
	pthread_t	 loop, ran_on;
	bool		 done_on_loop;
	int		*done_count;
};

static void
work(void *arg)
{
	struct job *j = arg;
	usleep(20000);		/* slow, like a password hash */
	j->ran_on = pthread_self();
}

static void
done(void *arg)
{
	struct job *j = arg;
	j->done_on_loop = pthread_equal(pthread_self(), j->loop);
	(*j->done_count)++;
}

static void
test_jobs_answer_on_the_loop(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct workers *w = workers_new(base, 2, 4);
	struct job jobs[6];
	int count = 0, queued = 0;
	for (int i = 0; i < 6; i++) {
		jobs[i] = (struct job){ .loop = pthread_self(), .done_count = &count };
		queued += workers_submit(w, work, done, &jobs[i]) == 0;
	}
	assert_true(queued >= 4 && queued < 6);	/* at most 4 wait; 2 may be taken already */
	for (int spins = 0; count < queued && spins < 500; spins++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(2000);
	}
	assert_int_equal(count, queued);
	for (int i = 0; i < queued; i++) {
		assert_true(jobs[i].done_on_loop);
		assert_false(pthread_equal(jobs[i].ran_on, pthread_self()));
	}
	workers_free(w);
	event_base_free(base);
}

static void
test_free_delivers_the_rest(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct workers *w = workers_new(base, 1, 8);
	struct job jobs[3];
	int count = 0;
	for (int i = 0; i < 3; i++) {
		jobs[i] = (struct job){ .loop = pthread_self(), .done_count = &count };
		assert_int_equal(workers_submit(w, work, done, &jobs[i]), 0);
	}
	workers_free(w);	/* without running the loop */
	assert_int_equal(count, 3);
	event_base_free(base);
}

int
main(void)
{
	evthread_use_pthreads();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_answer_on_the_loop),
		cmocka_unit_test(test_free_delivers_the_rest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
