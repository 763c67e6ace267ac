/*
 * test_router.c - path patterns, captures and method lookup (src/http/router.c)
 * against a local route table with dummy handlers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/router.h"
#include "util/buf.h"

static void h_root(struct exchange *x, void *c) { (void)x; (void)c; }
static void h_list(struct exchange *x, void *c) { (void)x; (void)c; }
static void h_create(struct exchange *x, void *c) { (void)x; (void)c; }
static void h_get(struct exchange *x, void *c) { (void)x; (void)c; }
static void h_patch(struct exchange *x, void *c) { (void)x; (void)c; }
static void h_delete(struct exchange *x, void *c) { (void)x; (void)c; }
static void h_msgs(struct exchange *x, void *c) { (void)x; (void)c; }
static void h_post(struct exchange *x, void *c) { (void)x; (void)c; }
static void h_two(struct exchange *x, void *c) { (void)x; (void)c; }
static void h_put(struct exchange *x, void *c) { (void)x; (void)c; }
static void h_special(struct exchange *x, void *c) { (void)x; (void)c; }
static void h_static(struct exchange *x, void *c) { (void)x; (void)c; }

enum { R_ROOT, R_CHATS, R_SPECIAL, R_CHAT, R_MSGS, R_TWO, R_POSTONLY, R_FULL, R_STATIC, R_COUNT };

static const struct route routes[] = {
	[R_ROOT] = { "/", { { HTTP_GET, h_root } } },
	[R_CHATS] = { "/chats", { { HTTP_GET, h_list }, { HTTP_POST, h_create } } },
	/* listed before the "/chats/STAR" route: the first match wins */
	[R_SPECIAL] = { "/chats/new", { { HTTP_GET, h_special } } },
	[R_CHAT] = { "/chats/*", { { HTTP_GET, h_get }, { HTTP_PATCH, h_patch },
	    { HTTP_DELETE, h_delete } } },
	[R_MSGS] = { "/chats/*/messages", { { HTTP_GET, h_msgs }, { HTTP_POST, h_post } } },
	[R_TWO] = { "/chats/*/bots/*", { { HTTP_DELETE, h_two } } },
	[R_POSTONLY] = { "/api/*/post", { { HTTP_POST, h_post } } },
	[R_FULL] = { "/full", { { HTTP_POST, h_post }, { HTTP_PUT, h_put },
	    { HTTP_GET, h_get }, { HTTP_DELETE, h_delete } } },
	[R_STATIC] = { "/static/*", { { HTTP_GET, h_static } } },
};
#define NROUTES (sizeof routes / sizeof routes[0])

static int
match(const char *path, struct route_params *p)
{
	memset(p, 0x55, sizeof *p);	/* stale bytes must not leak into results */
	return router_match(routes, NROUTES, path, p);
}

static void
test_literal(void **state)
{
	(void)state;
	struct route_params p;
	assert_int_equal(match("/", &p), R_ROOT);
	assert_int_equal(p.n, 0);
	assert_int_equal(match("/chats", &p), R_CHATS);
	assert_int_equal(p.n, 0);
	assert_int_equal(match("/chats/new", &p), R_SPECIAL);
	assert_int_equal(p.n, 0);
}

static void
test_capture_one(void **state)
{
	(void)state;
	struct route_params p;
	assert_int_equal(match("/chats/abc123def456", &p), R_CHAT);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.seg[0], "abc123def456");
	assert_int_equal(match("/chats/x", &p), R_CHAT);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.seg[0], "x");
	/* a segment may hold anything but '/' */
	assert_int_equal(match("/chats/a.b%20c?d", &p), R_CHAT);
	assert_string_equal(p.seg[0], "a.b%20c?d");
	assert_int_equal(match("/chats/newer", &p), R_CHAT);
	assert_string_equal(p.seg[0], "newer");
	assert_int_equal(match("/static/app.css", &p), R_STATIC);
	assert_string_equal(p.seg[0], "app.css");
}

static void
test_capture_middle_and_two(void **state)
{
	(void)state;
	struct route_params p;
	assert_int_equal(match("/chats/abc/messages", &p), R_MSGS);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.seg[0], "abc");
	assert_int_equal(match("/chats/c1/bots/b2", &p), R_TWO);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.seg[0], "c1");
	assert_string_equal(p.seg[1], "b2");
	assert_int_equal(match("/api/v1/post", &p), R_POSTONLY);
	assert_string_equal(p.seg[0], "v1");
}

static void
test_no_match(void **state)
{
	(void)state;
	struct route_params p;
	const char *paths[] = {
		"", "/chat", "/chatsx", "/chats/", "/chats//messages", "//",
		"/chats/abc/", "/chats/abc/messages/", "/chats/abc/def",
		"/chats/abc/messages/x", "/chats/abc/bots/", "/chats/abc/bots",
		"/chats/a/bots/b/c", "/Chats", "chats", "/static/", "/static/a/b",
		"/api//post", "/api/x/pos", "/api/x/posts", "/full/",
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		int r = match(paths[i], &p);
		if (r != -1)
			fail_msg("path '%s' matched route %d", paths[i], r);
	}
}

static void
test_segment_length(void **state)
{
	(void)state;
	struct route_params p;
	char path[128], seg[70];

	memset(seg, 'a', ROUTE_PARAM_MAX);
	seg[ROUTE_PARAM_MAX] = '\0';
	snprintf(path, sizeof path, "/chats/%s", seg);
	assert_int_equal(match(path, &p), R_CHAT);
	assert_int_equal(strlen(p.seg[0]), ROUTE_PARAM_MAX);
	assert_string_equal(p.seg[0], seg);

	snprintf(path, sizeof path, "/chats/%s/messages", seg);
	assert_int_equal(match(path, &p), R_MSGS);
	assert_string_equal(p.seg[0], seg);

	seg[ROUTE_PARAM_MAX] = 'a';
	seg[ROUTE_PARAM_MAX + 1] = '\0';
	snprintf(path, sizeof path, "/chats/%s", seg);
	assert_int_equal(match(path, &p), -1);
	snprintf(path, sizeof path, "/chats/%s/messages", seg);
	assert_int_equal(match(path, &p), -1);
}

static void
test_handlers(void **state)
{
	(void)state;
	assert_ptr_equal(router_handler(&routes[R_CHATS], HTTP_GET), h_list);
	assert_ptr_equal(router_handler(&routes[R_CHATS], HTTP_POST), h_create);
	assert_ptr_equal(router_handler(&routes[R_CHATS], HTTP_HEAD), h_list);
	assert_null(router_handler(&routes[R_CHATS], HTTP_DELETE));
	assert_null(router_handler(&routes[R_CHATS], HTTP_PUT));
	assert_null(router_handler(&routes[R_CHATS], HTTP_OPTIONS));

	assert_ptr_equal(router_handler(&routes[R_CHAT], HTTP_GET), h_get);
	assert_ptr_equal(router_handler(&routes[R_CHAT], HTTP_HEAD), h_get);
	assert_ptr_equal(router_handler(&routes[R_CHAT], HTTP_PATCH), h_patch);
	assert_ptr_equal(router_handler(&routes[R_CHAT], HTTP_DELETE), h_delete);
	assert_null(router_handler(&routes[R_CHAT], HTTP_POST));

	/* HEAD on a route without GET has no handler */
	assert_null(router_handler(&routes[R_POSTONLY], HTTP_HEAD));
	assert_null(router_handler(&routes[R_POSTONLY], HTTP_GET));
	assert_ptr_equal(router_handler(&routes[R_POSTONLY], HTTP_POST), h_post);

	/* all ROUTE_MAX_METHODS slots used */
	assert_ptr_equal(router_handler(&routes[R_FULL], HTTP_POST), h_post);
	assert_ptr_equal(router_handler(&routes[R_FULL], HTTP_PUT), h_put);
	assert_ptr_equal(router_handler(&routes[R_FULL], HTTP_GET), h_get);
	assert_ptr_equal(router_handler(&routes[R_FULL], HTTP_DELETE), h_delete);
	assert_ptr_equal(router_handler(&routes[R_FULL], HTTP_HEAD), h_get);
	assert_null(router_handler(&routes[R_FULL], HTTP_PATCH));
}

static void
check_allow(int r, const char *expected)
{
	struct buf b = BUF_INIT;
	router_allow(&routes[r], &b);
	assert_non_null(b.data);
	assert_string_equal(b.data, expected);
	assert_int_equal(b.len, strlen(expected));
	buf_free(&b);
}

static void
test_allow(void **state)
{
	(void)state;
	check_allow(R_ROOT, "GET, HEAD");
	check_allow(R_CHATS, "GET, HEAD, POST");
	check_allow(R_CHAT, "GET, HEAD, PATCH, DELETE");
	check_allow(R_MSGS, "GET, HEAD, POST");
	check_allow(R_TWO, "DELETE");
	check_allow(R_POSTONLY, "POST");
	check_allow(R_FULL, "POST, PUT, GET, HEAD, DELETE");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_capture_one),
		cmocka_unit_test(test_capture_middle_and_two),
		cmocka_unit_test(test_no_match),
		cmocka_unit_test(test_segment_length),
		cmocka_unit_test(test_handlers),
		cmocka_unit_test(test_allow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
