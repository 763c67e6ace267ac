/*
 * test_cidr.c - address range lists (src/util/cidr.c): parsing, refusals,
 * matching IPv4, IPv6 and IPv4-mapped IPv6 peers at range edges, and the
 * client a chain of proxies names in X-Forwarded-For.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "util/cidr.h"

static bool
match(const struct cidr_list *l, const char *addr)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
	if (inet_pton(AF_INET, addr, &v4.sin_addr) == 1)
		return cidr_list_match(l, (struct sockaddr *)&v4);
	assert_int_equal(inet_pton(AF_INET6, addr, &v6.sin6_addr), 1);
	return cidr_list_match(l, (struct sockaddr *)&v6);
}

static void
test_parse(void **state)
{
	(void)state;
	struct cidr_list l;
	assert_int_equal(cidr_list_parse(&l, "127.0.0.1/32,::1/128"), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(cidr_list_parse(&l, " 10.0.0.0/8 , fd00::/8,192.168.1.7"), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[2].bits, 32);		/* a bare address */
	static const char *const bad[] = { "", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0/8",
	    "banana", "10.0.0.0/-1", "10.0.0.0/8x", "1.2.3.4/8/8" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(cidr_list_parse(&l, bad[i]), -1);
}

static void
test_match(void **state)
{
	(void)state;
	struct cidr_list l;
	assert_int_equal(cidr_list_parse(&l, "10.1.0.0/16,fd00:1::/32,127.0.0.1"), 0);
	assert_true(match(&l, "10.1.0.0"));
	assert_true(match(&l, "10.1.255.255"));
	assert_false(match(&l, "10.2.0.0"));
	assert_false(match(&l, "10.0.255.255"));
	assert_true(match(&l, "127.0.0.1"));
	assert_false(match(&l, "127.0.0.2"));
	assert_true(match(&l, "fd00:1:ffff::1"));
	assert_false(match(&l, "fd00:2::1"));
	assert_true(match(&l, "::ffff:10.1.2.3"));	/* IPv4-mapped counts as IPv4 */
	assert_false(match(&l, "::ffff:10.2.2.3"));
	assert_int_equal(cidr_list_parse(&l, "0.0.0.0/0"), 0);
	assert_true(match(&l, "203.0.113.9"));
	assert_false(match(&l, "2001:db8::1"));		/* an IPv4 range holds no IPv6 */
}

/* The client named by X-Forwarded-For, read from the right past trusted proxies. */
static const char *
client(const char *trusted, const char *const *values, size_t n)
{
	static char out[CIDR_TEXT_MAX];
	struct cidr_list l;
	assert_int_equal(cidr_list_parse(&l, trusted), 0);
	return cidr_forwarded_client(&l, values, n, out) ? out : NULL;
}

static void
test_forwarded_client(void **state)
{
	(void)state;
	const char *one[] = { "203.0.113.7" };
	assert_string_equal(client("127.0.0.1", one, 1), "203.0.113.7");
	/* what the client wrote lies left of what the proxy saw */
	const char *spoofed[] = { "198.51.100.1, 203.0.113.7" };
	assert_string_equal(client("127.0.0.1", spoofed, 1), "203.0.113.7");
	/* a second header (haproxy adds its own) counts after the first */
	const char *two[] = { "198.51.100.1", "203.0.113.7" };
	assert_string_equal(client("127.0.0.1", two, 2), "203.0.113.7");
	/* proxies in a chain are passed over, and the text is inet_ntop's */
	const char *chain[] = { "2001:DB8:0::5 ,10.0.0.2,  10.0.0.3 " };
	assert_string_equal(client("10.0.0.0/8", chain, 1), "2001:db8::5");
	const char *all_trusted[] = { "10.0.0.9, 10.0.0.2" };
	assert_string_equal(client("10.0.0.0/8", all_trusted, 1), "10.0.0.9");
	/* what is not a bare address ends the walk: the hop before it, else nothing */
	const char *garbage[] = { "203.0.113.7, unknown, 10.0.0.2" };
	assert_string_equal(client("10.0.0.0/8", garbage, 1), "10.0.0.2");
	const char *bad[] = { "203.0.113.7:80" }, *empty[] = { "" }, *comma[] = { "1.2.3.4," };
	assert_null(client("127.0.0.1", bad, 1));
	assert_null(client("127.0.0.1", empty, 1));
	assert_null(client("127.0.0.1", comma, 1));
	assert_null(client("127.0.0.1", NULL, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_forwarded_client),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
