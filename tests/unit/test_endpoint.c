/*
 * test_endpoint.c - where bots may send requests (src/backends/endpoint.c):
 * base URLs with link-local or metadata addresses, credentials, fragments or
 * another scheme are refused unless allowed; loopback, private networks and
 * names pass; and the addresses a name resolves to are checked the same way
 * at connect time (IPv4, IPv6, IPv4-mapped IPv6).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "backends/endpoint.h"

static int
check(const char *url, bool allow)
{
	char why[160];
	return endpoint_check_url(url, allow, why, sizeof why);
}

static void
test_urls(void **state)
{
	(void)state;
	const char *ok[] = { "http://127.0.0.1:8000/v1", "https://api.openai.com/v1",
	    "http://localhost:11434/v1", "http://[::1]:8000/v1", "http://10.0.0.7/v1",
	    "http://169.254.1.1.example.org/v1" };
	const char *refused[] = { "http://169.254.169.254/latest", "http://169.254.0.1:80/",
	    "http://[fe80::1]/v1", "http://[fe80::1%25eth0]/v1", "http://[fd00:ec2::254]/",
	    "http://[::ffff:169.254.169.254]/", "http://user:pw@127.0.0.1/v1",
	    "http://user@127.0.0.1/v1", "http://127.0.0.1/v1#x", "ftp://127.0.0.1/",
	    "http:///v1", "http://", "file:///etc/passwd", "http://127.0.0.1/a b" };
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		assert_int_equal(check(ok[i], false), 0);
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
		assert_int_equal(check(refused[i], false), -1);
	assert_int_equal(check("http://169.254.169.254/latest", true), 0);
	assert_int_equal(check("http://user:pw@127.0.0.1/v1", true), -1);	/* the flag allows addresses only */
}

static bool
allowed4(const char *a, bool allow)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	assert_int_equal(inet_pton(AF_INET, a, &sa.sin_addr), 1);
	return endpoint_address_allowed((struct sockaddr *)&sa, allow);
}

static bool
allowed6(const char *a, bool allow)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	assert_int_equal(inet_pton(AF_INET6, a, &sa.sin6_addr), 1);
	return endpoint_address_allowed((struct sockaddr *)&sa, allow);
}

static void
test_addresses(void **state)
{
	(void)state;
	assert_true(allowed4("127.0.0.1", false));
	assert_true(allowed4("192.168.1.10", false));
	assert_false(allowed4("169.254.169.254", false));
	assert_false(allowed4("169.254.0.0", false));
	assert_true(allowed4("169.253.255.255", false));
	assert_true(allowed4("169.254.169.254", true));
	assert_true(allowed6("::1", false));
	assert_false(allowed6("fe80::1", false));
	assert_false(allowed6("febf::1", false));
	assert_true(allowed6("fec0::1", false));
	assert_false(allowed6("fd00:ec2::254", false));
	assert_true(allowed6("fd00:ec2::253", false));
	assert_false(allowed6("::ffff:169.254.169.254", false));
	assert_true(allowed6("::ffff:127.0.0.1", false));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
