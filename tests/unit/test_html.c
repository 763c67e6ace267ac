/*
 * test_html.c - HTML escaping (src/web/html.c) and the fragments built on it
 * (src/web/fragments.c), with hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/buf.h"
#include "web/fragments.h"
#include "web/html.h"

#define HOSTILE "<script>alert('x')</script>&\""
#define HOSTILE_ESC "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"

static void
assert_buf(const struct buf *b, const char *expected)
{
	assert_non_null(b->data);
	assert_string_equal(b->data, expected);
	assert_int_equal(b->len, strlen(expected));
}

static void
test_escape_specials(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	html_escape(&b, "&<>\"'");
	assert_buf(&b, "&amp;&lt;&gt;&quot;&#39;");
	buf_free(&b);
}

static void
test_escape_plain_and_mixed(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	html_escape(&b, "plain text 123");
	assert_buf(&b, "plain text 123");
	buf_reset(&b);
	html_escape(&b, "a<b>c&&d\"e'f");
	assert_buf(&b, "a&lt;b&gt;c&amp;&amp;d&quot;e&#39;f");
	buf_reset(&b);
	html_escape(&b, HOSTILE);
	assert_buf(&b, HOSTILE_ESC);
	buf_reset(&b);
	/* already-escaped text is escaped again, not trusted */
	html_escape(&b, "&amp;");
	assert_buf(&b, "&amp;amp;");
	buf_free(&b);
}

static void
test_escape_empty_and_appends(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	html_escape(&b, "");
	assert_int_equal(b.len, 0);
	buf_adds(&b, "<p>");
	html_escape(&b, "<x>");
	buf_adds(&b, "</p>");
	assert_buf(&b, "<p>&lt;x&gt;</p>");
	buf_free(&b);
}

static void
test_escape_utf8_untouched(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	const char *s = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac";
	html_escape(&b, s);
	assert_buf(&b, s);
	buf_reset(&b);
	html_escape(&b, "\xc3\xa9<\xf0\x9f\x98\x80>");
	assert_buf(&b, "\xc3\xa9&lt;\xf0\x9f\x98\x80&gt;");
	buf_free(&b);
}

static void
test_escape_n(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	html_escape_n(&b, "<a>&<b>", 4);
	assert_buf(&b, "&lt;a&gt;&amp;");
	buf_reset(&b);
	html_escape_n(&b, "abc", 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* ---------- fragments ---------- */

static json_t *
hostile_message(const char *error)
{
	json_t *m = json_pack("{s:s, s:I, s:s, s:s, s:n, s:s, s:s, s:s}",
	    "chat_id", "abcdefghijkl", "seq", (json_int_t)7, "kind", "bot",
	    "author", HOSTILE, "bot_id", "body", "a & b \"q\" <img src=x onerror=y>",
	    "state", "failed", "created_at", "2026-11-27T18:05:09Z");
	json_object_set_new(m, "error", error ? json_string(error) : json_null());
	return m;
}

static void
test_fragment_message_with_error(void **state)
{
	(void)state;
	json_t *m = hostile_message("boom <b>'");
	struct buf b = BUF_INIT;
	fragment_message(&b, m);
	assert_buf(&b,
	    "<article id=\"msg-7\" class=\"msg msg-bot msg-failed\" data-seq=\"7\""
	    " data-chat=\"abcdefghijkl\">"
	    "<header><span class=\"msg-author\" dir=\"auto\">" HOSTILE_ESC "</span>"
	    "<span class=\"msg-badge\">bot</span>"
	    "<time datetime=\"2026-11-27T18:05:09Z\">18:05</time></header>"
	    "<div class=\"msg-body\" dir=\"auto\"><p>a &amp; b &quot;q&quot; &lt;img src=x onerror=y&gt;</p></div>"
	    "<p class=\"msg-error\">boom &lt;b&gt;&#39;</p></article>");
	buf_free(&b);
	json_decref(m);
}

static void
test_fragment_message_no_error(void **state)
{
	(void)state;
	json_t *m = hostile_message(NULL);
	struct buf b = BUF_INIT;
	fragment_message(&b, m);
	assert_null(strstr(b.data, "msg-error"));
	assert_buf(&b,
	    "<article id=\"msg-7\" class=\"msg msg-bot msg-failed\" data-seq=\"7\""
	    " data-chat=\"abcdefghijkl\">"
	    "<header><span class=\"msg-author\" dir=\"auto\">" HOSTILE_ESC "</span>"
	    "<span class=\"msg-badge\">bot</span>"
	    "<time datetime=\"2026-11-27T18:05:09Z\">18:05</time></header>"
	    "<div class=\"msg-body\" dir=\"auto\"><p>a &amp; b &quot;q&quot; &lt;img src=x onerror=y&gt;</p></div>"
	    "</article>");
	buf_free(&b);
	json_decref(m);

	/* "error" absent altogether: no paragraph either */
	m = hostile_message(NULL);
	json_object_del(m, "error");
	fragment_message(&b, m);
	assert_null(strstr(b.data, "msg-error"));
	buf_free(&b);
	json_decref(m);
}

static void
test_fragment_message_hostile_kind_state(void **state)
{
	(void)state;
	json_t *m = json_pack("{s:I, s:s, s:s, s:n, s:s, s:s}", "seq", (json_int_t)12,
	    "kind", "x\" onclick=\"a", "state", "<s>", "author", "body", "",
	    "created_at", "");
	struct buf b = BUF_INIT;
	fragment_message(&b, m);
	assert_buf(&b,
	    "<article id=\"msg-12\" class=\"msg msg-x&quot; onclick=&quot;a msg-&lt;s&gt;\""
	    " data-seq=\"12\" data-chat=\"\"><header><span class=\"msg-author\" dir=\"auto\"></span>"
	    "<time datetime=\"\"></time></header><div class=\"msg-body\" dir=\"auto\"></div>"
	    "</article>");
	buf_free(&b);
	json_decref(m);
}

static void
test_fragment_message_defaults(void **state)
{
	(void)state;
	json_t *m = json_pack("{s:I}", "seq", (json_int_t)1);
	struct buf b = BUF_INIT;
	fragment_message(&b, m);
	assert_buf(&b,
	    "<article id=\"msg-1\" class=\"msg msg-person msg-complete\" data-seq=\"1\""
	    " data-chat=\"\"><header><span class=\"msg-author\" dir=\"auto\"></span>"
	    "<time datetime=\"\"></time></header><div class=\"msg-body\" dir=\"auto\"></div>"
	    "</article>");
	buf_free(&b);
	json_decref(m);
}

/* Edited, several answers, a person's own user id, a deletion, presence, typing: escaped. */
static void
test_fragment_conversation_control(void **state)
{
	(void)state;
	struct buf b = BUF_INIT, ev = BUF_INIT;
	json_t *m = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:I}", "chat_id", "c\"1",
	    "seq", (json_int_t)3, "kind", "bot", "state", "streaming", "body", "",
	    "edited_at", "2026-12-06T01:00:00Z\"><x", "alternative", (json_int_t)1,
	    "alternatives", (json_int_t)3);
	fragment_message(&b, m);
	assert_non_null(strstr(b.data, " data-chat=\"c&quot;1\""));
	assert_non_null(strstr(b.data, "title=\"edited 2026-12-06T01:00:00Z&quot;&gt;&lt;x\">edited"));
	/* ‹ goes to 0, › to 2, shown 2/3; neither while it is written */
	assert_non_null(strstr(b.data, "data-index=\"0\" aria-label=\"Previous answer\" disabled"));
	assert_non_null(strstr(b.data, "<span class=\"alt-pos\">2/3</span>"));
	assert_non_null(strstr(b.data, "data-index=\"2\" aria-label=\"Next answer\" disabled"));
	buf_reset(&b);
	json_decref(m);

	m = json_pack("{s:I, s:s}", "seq", (json_int_t)9, "user_id", "u<1");
	assert_int_equal(fragment_for_event("message", m, &ev, &b), 0);
	assert_non_null(strstr(b.data, " data-user=\"u&lt;1\""));
	buf_reset(&b);
	buf_reset(&ev);
	assert_int_equal(fragment_for_event("message-deleted", m, &ev, &b), 0);
	assert_buf(&ev, "message-deleted");
	assert_buf(&b, "<article id=\"msg-9\" hx-swap-oob=\"delete\"></article>");
	buf_reset(&b);
	buf_reset(&ev);
	json_decref(m);

	json_t *here = json_pack("[{s:s, s:s}, {s:n, s:s}]", "user_id", "u1", "name", HOSTILE,
	    "user_id", "name", "Bob");
	assert_int_equal(fragment_for_event("presence", here, &ev, &b), 0);
	assert_buf(&b, "<span class=\"here-label\">Here:</span><span class=\"here-person\""
	    " data-user=\"u1\">" HOSTILE_ESC "</span><span class=\"here-person\">Bob</span>");
	buf_reset(&b);
	buf_reset(&ev);
	assert_int_equal(fragment_for_event("typing", json_array_get(here, 0), &ev, &b), 0);
	assert_buf(&ev, "typing");
	assert_buf(&b, "<span class=\"typer\" data-user=\"u1\">" HOSTILE_ESC "</span>");
	json_decref(here);
	buf_free(&b);
	buf_free(&ev);
}

static void
test_fragment_chat_header(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	json_t *c = json_pack("{s:s, s:s, s:s, s:[]}", "id", "c1", "title", "T&<'>\"",
	    "policy", "<round-robin>", "bots");
	fragment_chat_header(&b, c);
	assert_buf(&b, "<h1 class=\"chat-title\" dir=\"auto\">T&amp;&lt;&#39;&gt;&quot;</h1>"
	    "<div class=\"chat-meta\"><span>No bots yet: add some in Settings</span></div>");
	json_decref(c);

	buf_reset(&b);
	c = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "id", "c\"2", "title", "One",
	    "policy", "manual", "bots", "id", "b<1>", "name", "<Eli>");
	fragment_chat_header(&b, c);
	assert_buf(&b, "<h1 class=\"chat-title\" dir=\"auto\">One</h1><div class=\"chat-meta\">"
	    "<form class=\"ask\" method=\"post\" action=\"/chats/c&quot;2/turn\" "
	    "hx-post=\"/chats/c&quot;2/turn\" hx-swap=\"none\">"
	    "<input type=\"hidden\" name=\"bot\" value=\"b&lt;1&gt;\">"
	    "<button type=\"submit\" class=\"bot-name\" title=\"Ask &lt;Eli&gt; to speak next\">"
	    "&lt;Eli&gt;</button></form>"
	    "<span class=\"chat-policy\">Bots only when asked</span></div>");
	json_decref(c);
	buf_free(&b);
}

static void
test_fragment_turn(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;

	json_t *t = json_pack("{s:s, s:n, s:[]}", "state", "idle", "speaker", "queue");
	fragment_turn(&b, t);
	assert_buf(&b, "<span class=\"turn-idle\"></span>");
	json_decref(t);

	buf_reset(&b);
	t = json_pack("{s:s, s:s, s:[]}", "state", "speaking", "speaker", "<Bot>&", "queue");
	assert_non_null(t);
	fragment_turn(&b, t);
	assert_buf(&b, "<span class=\"turn-speaker\">&lt;Bot&gt;&amp; is typing\xe2\x80\xa6</span>");
	json_decref(t);

	buf_reset(&b);
	t = json_pack("{s:s, s:s, s:[s,s,s]}", "state", "speaking", "speaker", "Ada",
	    "queue", "B&b", "<c>", "d'");
	fragment_turn(&b, t);
	assert_buf(&b, "<span class=\"turn-speaker\">Ada is typing\xe2\x80\xa6</span>"
	    "<span class=\"turn-queue\">next: B&amp;b, &lt;c&gt;, d&#39;</span>");
	json_decref(t);
	buf_free(&b);
}

/* Runs fragment_for_event and checks the event name and HTML. */
static void
check_event(const char *name, json_t *data, const char *ev, const char *html)
{
	struct buf e = BUF_INIT, h = BUF_INIT;
	assert_int_equal(fragment_for_event(name, data, &e, &h), 0);
	assert_buf(&e, ev);
	assert_buf(&h, html);
	buf_free(&e);
	buf_free(&h);
}

static void
test_fragment_for_event(void **state)
{
	(void)state;
	json_t *m = hostile_message("bad");
	struct buf expect = BUF_INIT;
	fragment_message(&expect, m);
	check_event("message", m, "message", expect.data);
	check_event("message-update", m, "message-update", expect.data);
	buf_free(&expect);
	json_decref(m);

	json_t *c = json_pack("{s:s, s:s, s:[]}", "title", "<t>", "policy", "p", "bots");
	fragment_chat_header(&expect, c);
	check_event("chat", c, "chat", expect.data);
	buf_free(&expect);
	json_decref(c);

	json_t *t = json_pack("{s:s, s:[s]}", "speaker", "A", "queue", "B");
	check_event("turn", t, "turn", "<span class=\"turn-speaker\">A is typing\xe2\x80\xa6</span>"
	    "<span class=\"turn-queue\">next: B</span>");
	json_decref(t);

	json_t *d = json_pack("{s:s}", "chat_id", "abcdefghijkl");
	check_event("deleted", d, "deleted", "<p class=\"notice\">This chat was deleted.</p>");
	json_decref(d);

	json_t *tok = json_pack("{s:I, s:s}", "seq", (json_int_t)42, "delta", "<b>&'hi\"");
	check_event("token", tok, "token-42", "&lt;b&gt;&amp;&#39;hi&quot;");
	json_decref(tok);
}

static void
test_fragment_for_event_unknown(void **state)
{
	(void)state;
	struct buf e = BUF_INIT, h = BUF_INIT;
	json_t *d = json_object();
	assert_int_equal(fragment_for_event("snapshot", d, &e, &h), -1);
	assert_int_equal(fragment_for_event("", d, &e, &h), -1);
	assert_int_equal(fragment_for_event("Message", d, &e, &h), -1);
	assert_int_equal(fragment_for_event("messages", d, &e, &h), -1);
	assert_int_equal(e.len, 0);
	assert_int_equal(h.len, 0);
	buf_free(&e);
	buf_free(&h);
	json_decref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_specials),
		cmocka_unit_test(test_escape_plain_and_mixed),
		cmocka_unit_test(test_escape_empty_and_appends),
		cmocka_unit_test(test_escape_utf8_untouched),
		cmocka_unit_test(test_escape_n),
		cmocka_unit_test(test_fragment_message_with_error),
		cmocka_unit_test(test_fragment_message_no_error),
		cmocka_unit_test(test_fragment_message_hostile_kind_state),
		cmocka_unit_test(test_fragment_message_defaults),
		cmocka_unit_test(test_fragment_conversation_control),
		cmocka_unit_test(test_fragment_chat_header),
		cmocka_unit_test(test_fragment_turn),
		cmocka_unit_test(test_fragment_for_event),
		cmocka_unit_test(test_fragment_for_event_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
