/*
 * test_credentials.c - credentials kept in memory (src/chat/credentials.c):
 * found again whole, updated, forgotten one by one or all at once, hashes
 * that start alike kept apart, and the bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "chat/credentials.h"
#include "chat/who.h"
#include "limits.h"

static void
hash_of(int n, char out[SECRET_HEX + 1])
{
	snprintf(out, SECRET_HEX + 1, "%012x%052d", n, 0);
}

static struct who
person(const char *id)
{
	struct who w;
	memset(&w, 0, sizeof w);
	snprintf(w.user_id, sizeof w.user_id, "%s", id);
	return w;
}

static void
test_keep_update_forget(void **state)
{
	(void)state;
	struct credentials *c = credentials_new();
	char h1[SECRET_HEX + 1], h2[SECRET_HEX + 1];
	struct who w = person("aaaaaaaaaaaa"), got;
	int64_t seen;
	hash_of(1, h1);
	hash_of(2, h2);
	assert_false(credentials_get(c, h1, &got, &seen));
	credentials_put(c, h1, &w, 100);
	assert_true(credentials_get(c, h1, &got, &seen));
	assert_string_equal(got.user_id, "aaaaaaaaaaaa");
	assert_int_equal(seen, 100);
	assert_false(credentials_get(c, h2, &got, &seen));
	credentials_put(c, h1, &w, 200);		/* seen again */
	assert_true(credentials_get(c, h1, &got, &seen));
	assert_int_equal(seen, 200);
	credentials_put(c, h2, &w, 5);
	credentials_forget(c, h1);
	assert_false(credentials_get(c, h1, &got, &seen));
	assert_true(credentials_get(c, h2, &got, &seen));
	credentials_clear(c);
	assert_false(credentials_get(c, h2, &got, &seen));
	credentials_free(c);
}

/* Two hashes with the same first characters: the first stays, the second is not kept. */
static void
test_same_start(void **state)
{
	(void)state;
	struct credentials *c = credentials_new();
	char h1[SECRET_HEX + 1], h2[SECRET_HEX + 1];
	struct who a = person("aaaaaaaaaaaa"), b = person("bbbbbbbbbbbb"), got;
	int64_t seen;
	memset(h1, 'a', SECRET_HEX);
	h1[SECRET_HEX] = '\0';
	memcpy(h2, h1, sizeof h2);
	h2[SECRET_HEX - 1] = 'b';
	credentials_put(c, h1, &a, 1);
	credentials_put(c, h2, &b, 2);
	assert_true(credentials_get(c, h1, &got, &seen));
	assert_string_equal(got.user_id, "aaaaaaaaaaaa");
	assert_false(credentials_get(c, h2, &got, &seen));
	credentials_forget(c, h2);			/* not kept: nothing happens */
	assert_true(credentials_get(c, h1, &got, &seen));
	credentials_free(c);
}

static void
test_bounded(void **state)
{
	(void)state;
	struct credentials *c = credentials_new();
	char h[SECRET_HEX + 1];
	struct who w = person("aaaaaaaaaaaa"), got;
	int64_t seen;
	for (int i = 0; i <= LIMIT_CREDENTIALS_CACHED; i++) {
		hash_of(i, h);
		credentials_put(c, h, &w, i);
	}
	/* the last made the table start over: it alone is kept */
	assert_true(credentials_get(c, h, &got, &seen));
	hash_of(0, h);
	assert_false(credentials_get(c, h, &got, &seen));
	credentials_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_update_forget),
		cmocka_unit_test(test_same_start),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
