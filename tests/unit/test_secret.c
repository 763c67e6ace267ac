/*
 * test_secret.c - the secrets handed out (src/util/secret.c) and password
 * hashing (src/util/password.c): their form, hashes, link passes, constant-
 * time comparison, and Argon2id encodings that verify only the right password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/password.h"
#include "util/secret.h"

static void
test_new_secrets(void **state)
{
	(void)state;
	char a[SECRET_LEN + 1], b[SECRET_LEN + 1];
	secret_new(a);
	secret_new(b);
	assert_int_equal(strlen(a), SECRET_LEN);
	assert_true(secret_plausible(a));
	assert_true(secret_plausible(b));
	assert_string_not_equal(a, b);
	assert_true(SECRET_BYTES * 8 >= 128);	/* SPEC 7: at least 128 bits */
}

static void
test_plausible(void **state)
{
	(void)state;
	assert_true(secret_plausible("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_"));
	assert_false(secret_plausible(""));
	assert_false(secret_plausible("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));	/* 31 */
	assert_false(secret_plausible("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));	/* 33 */
	assert_false(secret_plausible("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	assert_false(secret_plausible("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"));
}

static void
test_hash_and_pass(void **state)
{
	(void)state;
	char h[SECRET_HEX + 1], pass[SECRET_HEX + 1], again[SECRET_HEX + 1];
	secret_hash("abc", h);	/* FIPS 180-2's example */
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *token = "abcdefghijklmnopqrstuvwxyz012345";
	secret_link_pass(token, pass);
	secret_hash(token, again);
	assert_string_equal(pass, again);	/* a link's pass is its token's hash ... */
	assert_true(secret_pass_plausible(pass));
	assert_false(secret_plausible(pass));	/* ... and not a token itself */
	secret_link_pass("short", pass);
	assert_string_equal(pass, "");
	secret_link_pass(NULL, pass);
	assert_string_equal(pass, "");
	assert_false(secret_pass_plausible(NULL));
	assert_false(secret_pass_plausible("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
	assert_true(secret_equal("same", "same", 4));
	assert_false(secret_equal("same", "sane", 4));
}

static void
test_password(void **state)
{
	(void)state;
	char a[PASSWORD_ENCODED_MAX], b[PASSWORD_ENCODED_MAX];
	assert_int_equal(password_hash("correct horse", a), 0);
	assert_int_equal(password_hash("correct horse", b), 0);
	assert_int_equal(strncmp(a, "$argon2id$v=19$m=19456,t=5,p=1$", 31), 0);
	assert_string_not_equal(a, b);		/* a salt of its own each time */
	assert_true(password_verify(a, "correct horse"));
	assert_true(password_verify(b, "correct horse"));
	assert_false(password_verify(a, "correct horsE"));
	assert_false(password_verify(a, ""));
	assert_false(password_verify("not an encoding", "correct horse"));
	password_waste("anything");		/* costs time, answers nothing */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_secrets),
		cmocka_unit_test(test_plausible),
		cmocka_unit_test(test_hash_and_pass),
		cmocka_unit_test(test_password),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
