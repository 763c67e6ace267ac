/*
 * test_throttle.c - sign-in throttling (src/chat/throttle.c): the wait after
 * too many failures, failures ageing out of the window, clearing a key,
 * keys apart, a full table making room, and never with a key kept waiting
 * while another could go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "chat/throttle.h"

static void
test_wait_after_failures(void **state)
{
	(void)state;
	struct throttle *t = throttle_new(5, 900, 16);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(throttle_wait(t, "ada", 1000 + i), 0);
		throttle_fail(t, "ada", 1000 + i);
	}
	/* the oldest failure (at 1000) leaves the window at 1900 */
	assert_int_equal(throttle_wait(t, "ada", 1004), 896);
	assert_int_equal(throttle_wait(t, "ada", 1899), 1);
	assert_int_equal(throttle_wait(t, "ada", 1900), 0);
	assert_int_equal(throttle_wait(t, "bob", 1004), 0);	/* nobody else waits */
	throttle_fail(t, "ada", 1900);
	assert_int_equal(throttle_wait(t, "ada", 1900), 1);	/* 1001 ages out next */
	throttle_clear(t, "ada");
	assert_int_equal(throttle_wait(t, "ada", 1900), 0);
	throttle_free(t);
}

/* A full table: the key whose last failure is oldest makes room; the others stay. */
static void
test_full_table(void **state)
{
	(void)state;
	struct throttle *t = throttle_new(1, 900, 1);	/* the smallest table: 8 keys */
	char key[16];
	throttle_fail(t, "old", 10);
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof key, "k%d", i);
		throttle_fail(t, key, 20 + i);
	}
	assert_int_equal(throttle_wait(t, "old", 30), 0);
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(throttle_wait(t, key, 30), 890 + i);
	}
	throttle_free(t);
}

/* Later failures of other keys do not free a locked-out key (8 names used to be enough). */
static void
test_locked_key_stays(void **state)
{
	(void)state;
	struct throttle *t = throttle_new(5, 900, 1);	/* 8 slots: every key collides */
	char key[16];
	for (int i = 0; i < 5; i++)
		throttle_fail(t, "dave", 100 + i);
	assert_int_equal(throttle_wait(t, "dave", 110), 890);
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof key, "y%d", i);
		throttle_fail(t, key, 200 + i);
	}
	assert_int_equal(throttle_wait(t, "dave", 220), 780);
	throttle_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_after_failures),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_locked_key_stays),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
