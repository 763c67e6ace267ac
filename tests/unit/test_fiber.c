/*
 * test_fiber.c - the fibers (src/util/fiber.c): without fiber_enable they
 * are plain calls; a fiber runs at once until it waits and the loop resumes
 * it; serial fibers run one after another in the order started; fiber_wake
 * resumes only from the loop, fiber_resume at once (dropping the pending
 * wait); fibers nest; ended fibers' stacks are reused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/fiber.h"

static struct event_base *
setup(void)
{
	struct event_base *base = event_base_new();
	assert_non_null(base);
	fiber_enable(base);
	assert_true(fiber_enabled());
	return base;
}

static void
teardown(struct event_base *base)
{
	assert_int_equal(fiber_count(), 0);
	fiber_disable();
	assert_false(fiber_enabled());
	event_base_free(base);
}

/* Runs the loop until no fiber is left (bounded). */
static void
run_until_done(struct event_base *base)
{
	for (int spins = 0; fiber_count() > 0 && spins < 100; spins++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
poke(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

static void
close_pipe(int p[2])
{
	close(p[0]);
	close(p[1]);
}

/* 1. Not enabled: a plain call. */

static void
note_self(void *arg)
{
	*(int *)arg += fiber_self() == NULL ? 1 : 100;
}

static void
test_disabled_calls_directly(void **state)
{
	(void)state;
	assert_false(fiber_enabled());
	int calls = 0;
	fiber_run(note_self, &calls);
	assert_int_equal(calls, 1);
	fiber_run_serial(note_self, &calls);
	assert_int_equal(calls, 2);
	assert_int_equal(fiber_count(), 0);
}

/* 2. Runs at once until it waits; the loop resumes it. */

struct reader {
	int	 fd;
	bool	 started, done;
	short	 got;
};

static void
read_once(void *arg)
{
	struct reader *r = arg;
	assert_non_null(fiber_self());
	r->started = true;
	r->got = fiber_wait_fd(r->fd, EV_READ, 0);
	char c;
	if (r->got == EV_READ)
		assert_int_equal(read(r->fd, &c, 1), 1);
	r->done = true;
}

static void
test_run_until_wait(void **state)
{
	(void)state;
	struct event_base *base = setup();
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct reader r = { .fd = p[0] };
	fiber_run(read_once, &r);
	assert_true(r.started);
	assert_false(r.done);
	assert_int_equal(fiber_count(), 1);
	assert_null(fiber_self());
	event_base_loop(base, EVLOOP_NONBLOCK);	/* nothing ready: still waits */
	assert_false(r.done);
	poke(p[1]);
	event_base_loop(base, EVLOOP_ONCE);
	assert_true(r.done);
	assert_int_equal(r.got, EV_READ);
	assert_int_equal(fiber_count(), 0);
	close_pipe(p);
	teardown(base);
}

/* 3. Serial fibers: one after another, in the order started. */

struct serial {
	int	 i, fd;
	char	*log;
};

static void
serial_step(void *arg)
{
	struct serial *s = arg;
	char line[16];
	snprintf(line, sizeof line, "start%d,", s->i);
	strcat(s->log, line);
	char c;
	assert_int_equal(fiber_wait_fd(s->fd, EV_READ, 0), EV_READ);
	assert_int_equal(read(s->fd, &c, 1), 1);
	snprintf(line, sizeof line, "end%d,", s->i);
	strcat(s->log, line);
}

static void
set_flag(void *arg)
{
	*(bool *)arg = true;
}

static void
test_serial_in_order(void **state)
{
	(void)state;
	struct event_base *base = setup();
	char log[128] = "";
	int p[3][2];
	struct serial s[3];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pipe(p[i]), 0);
		s[i] = (struct serial){ .i = i + 1, .fd = p[i][0], .log = log };
		fiber_run_serial(serial_step, &s[i]);
	}
	assert_string_equal(log, "start1,");
	assert_int_equal(fiber_count(), 3);
	bool plain = false;
	fiber_run(set_flag, &plain);	/* not held back by the serial ones */
	assert_true(plain);
	for (int i = 2; i >= 1; i--) {	/* ready in reverse order */
		poke(p[i][1]);
		event_base_loop(base, EVLOOP_NONBLOCK);
		assert_string_equal(log, "start1,");
	}
	poke(p[0][1]);
	run_until_done(base);
	assert_string_equal(log, "start1,end1,start2,end2,start3,end3,");
	for (int i = 0; i < 3; i++)
		close_pipe(p[i]);
	teardown(base);
}

/* 4. fiber_wake resumes from the loop, never within the call. */

struct waiter {
	struct fiber	*self;
	int		 resumed;
	short		 got;
	int		 fd;
};

static void
wait_once(void *arg)
{
	struct waiter *w = arg;
	w->self = fiber_self();
	fiber_wait();
	w->resumed++;
}

static void
test_wake_from_the_loop(void **state)
{
	(void)state;
	struct event_base *base = setup();
	struct waiter w = { 0 };
	fiber_run(wait_once, &w);
	assert_non_null(w.self);
	assert_int_equal(fiber_count(), 1);
	fiber_wake(w.self);
	assert_int_equal(w.resumed, 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(w.resumed, 1);
	assert_int_equal(fiber_count(), 0);
	teardown(base);
}

/* 5. fiber_resume wakes a fiber in fiber_wait_fd early; its event is dropped. */

static void
wait_fd_then_wait(void *arg)
{
	struct waiter *w = arg;
	w->self = fiber_self();
	w->got = fiber_wait_fd(w->fd, EV_READ, 0);
	w->resumed++;
	fiber_wait();	/* a stale fd event would resume this wait */
	w->resumed++;
}

static void
test_resume_early(void **state)
{
	(void)state;
	struct event_base *base = setup();
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct waiter w = { .fd = p[0], .got = -1 };
	fiber_run(wait_fd_then_wait, &w);
	assert_int_equal(w.resumed, 0);
	fiber_resume(w.self);
	assert_int_equal(w.resumed, 1);
	assert_int_equal(w.got, 0);
	poke(p[1]);
	for (int i = 0; i < 3; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(w.resumed, 1);	/* still in fiber_wait */
	assert_int_equal(fiber_count(), 1);
	fiber_wake(w.self);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(w.resumed, 2);
	assert_int_equal(fiber_count(), 0);
	close_pipe(p);
	teardown(base);
}

/* 6. A fiber runs another: the inner waits, the outer goes on and ends. */

struct nest {
	struct reader	 inner;
	bool		 outer_done;
};

static void
outer(void *arg)
{
	struct nest *n = arg;
	struct fiber *self = fiber_self();
	fiber_run(read_once, &n->inner);
	assert_true(n->inner.started);
	assert_false(n->inner.done);
	assert_ptr_equal(fiber_self(), self);
	assert_int_equal(fiber_count(), 2);
	n->outer_done = true;
}

static void
test_nested(void **state)
{
	(void)state;
	struct event_base *base = setup();
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct nest n = { .inner = { .fd = p[0] } };
	fiber_run(outer, &n);
	assert_true(n.outer_done);
	assert_false(n.inner.done);
	assert_int_equal(fiber_count(), 1);
	poke(p[1]);
	run_until_done(base);
	assert_true(n.inner.done);
	assert_int_equal(n.inner.got, EV_READ);
	close_pipe(p);
	teardown(base);
}

/* 7. Ended fibers' stacks are reused. */

static void
wait_ready(void *arg)
{
	struct waiter *w = arg;
	w->self = fiber_self();
	w->got = fiber_wait_fd(w->fd, EV_READ, 0);
	w->resumed++;
}

static void
test_stacks_reused(void **state)
{
	(void)state;
	struct event_base *base = setup();
	int p[2];
	assert_int_equal(pipe(p), 0);
	poke(p[1]);		/* never read: always ready */
	struct fiber *first = NULL;
	for (int i = 0; i < 200; i++) {
		struct waiter w = { .fd = p[0] };
		fiber_run(wait_ready, &w);
		assert_int_equal(fiber_count(), 1);
		assert_int_equal(w.resumed, 0);
		event_base_loop(base, EVLOOP_ONCE);
		assert_int_equal(w.resumed, 1);
		assert_int_equal(w.got, EV_READ);
		assert_int_equal(fiber_count(), 0);
		if (first == NULL)
			first = w.self;
		assert_ptr_equal(w.self, first);	/* the one kept, again */
	}
	close_pipe(p);
	teardown(base);
}

/* 8. A wait with a time limit ends with EV_TIMEOUT when nothing came. */

static void
read_within(void *arg)
{
	struct reader *r = arg;
	r->got = fiber_wait_fd(r->fd, EV_READ, 20);
	r->done = true;
}

static void
test_wait_times_out(void **state)
{
	(void)state;
	struct event_base *base = setup();
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct reader r = { .fd = p[0] };
	fiber_run(read_within, &r);
	assert_false(r.done);
	event_base_loop(base, EVLOOP_ONCE);	/* nothing to read: the limit wakes it */
	assert_true(r.done);
	assert_int_equal(r.got, EV_TIMEOUT);
	assert_int_equal(fiber_count(), 0);
	poke(p[1]);
	struct reader in_time = { .fd = p[0] };
	fiber_run(read_within, &in_time);
	event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(in_time.got, EV_READ);
	close_pipe(p);
	teardown(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled_calls_directly),
		cmocka_unit_test(test_run_until_wait),
		cmocka_unit_test(test_serial_in_order),
		cmocka_unit_test(test_wake_from_the_loop),
		cmocka_unit_test(test_resume_early),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_stacks_reused),
		cmocka_unit_test(test_wait_times_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
