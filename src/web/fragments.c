/*
 * fragments.c - HTML fragments for messages, the chat header and turn
 * status; see fragments.h.
 */
#include "web/fragments.h"
#include "util/buf.h"
#include "web/html.h"
#include "web/markdown.h"

#include <string.h>

static const char *
str_or(json_t *obj, const char *key, const char *fallback)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v ? v : fallback;
}

/* "2026-11-27T18:00:00Z" shown as "18:00"; the full time goes in datetime="". */
static void
message_time(struct buf *out, const char *created_at)
{
	buf_adds(out, "<time datetime=\"");
	html_escape(out, created_at);
	buf_adds(out, "\">");
	if (strlen(created_at) >= 16)
		html_escape_n(out, created_at + 11, 5);
	buf_adds(out, "</time>");
}

void
fragment_message(struct buf *out, json_t *m)
{
	json_int_t seq = json_integer_value(json_object_get(m, "seq"));
	const char *kind = str_or(m, "kind", "person");
	const char *state = str_or(m, "state", "complete");
	const char *error = str_or(m, "error", NULL);

	buf_printf(out, "<article id=\"msg-%lld\" class=\"msg msg-", (long long)seq);
	html_escape(out, kind);
	buf_adds(out, " msg-");
	html_escape(out, state);
	buf_printf(out, "\" data-seq=\"%lld\"><header><span class=\"msg-author\">", (long long)seq);
	html_escape(out, str_or(m, "author", ""));
	buf_adds(out, "</span>");
	if (strcmp(kind, "bot") == 0)
		buf_adds(out, "<span class=\"msg-badge\">bot</span>");
	message_time(out, str_or(m, "created_at", ""));
	buf_adds(out, "</header>");
	const char *body = str_or(m, "body", "");
	if (strcmp(state, "streaming") == 0) {
		/*
		 * "token-SEQ" events append to it. app.js listens for them as soon as
		 * this fragment arrives: an sse-swap attribute would start listening
		 * only once htmx has processed the element, missing the first tokens.
		 */
		buf_printf(out, "<div class=\"msg-body msg-typing\" data-tokens=\"token-%lld\">",
		    (long long)seq);
		html_escape(out, body);
	} else {
		buf_adds(out, "<div class=\"msg-body\">");
		markdown_render(out, body, strlen(body));
	}
	buf_adds(out, "</div>");
	if (error != NULL) {
		buf_adds(out, "<p class=\"msg-error\">");
		html_escape(out, error);
		buf_adds(out, "</p>");
	}
	buf_adds(out, "</article>");
}

void
fragment_chat_header(struct buf *out, json_t *chat)
{
	buf_adds(out, "<h1 class=\"chat-title\">");
	html_escape(out, str_or(chat, "title", ""));
	buf_adds(out, "</h1><p class=\"chat-meta\">");
	json_t *bots = json_object_get(chat, "bots"), *bot;
	size_t i;
	if (json_array_size(bots) == 0)
		buf_adds(out, "No bots");
	json_array_foreach(bots, i, bot) {
		if (i > 0)
			buf_adds(out, ", ");
		buf_adds(out, "<span class=\"bot-name\">");
		html_escape(out, str_or(bot, "name", ""));
		buf_adds(out, "</span>");
	}
	buf_adds(out, " · ");
	html_escape(out, str_or(chat, "policy", ""));
	buf_adds(out, "</p>");
}

void
fragment_turn(struct buf *out, json_t *turn)
{
	const char *speaker = str_or(turn, "speaker", NULL);
	json_t *queue = json_object_get(turn, "queue");

	if (speaker == NULL) {
		buf_adds(out, "<span class=\"turn-idle\"></span>");
		return;
	}
	buf_adds(out, "<span class=\"turn-speaker\">");
	html_escape(out, speaker);
	buf_adds(out, " is typing…</span>");
	if (json_array_size(queue) > 0) {
		buf_adds(out, "<span class=\"turn-queue\">next: ");
		size_t i;
		json_t *name;
		json_array_foreach(queue, i, name) {
			if (i > 0)
				buf_adds(out, ", ");
			html_escape(out, json_string_value(name) ? json_string_value(name) : "");
		}
		buf_adds(out, "</span>");
	}
}

/* The last words of a stream that ends: the chat went, or this person's access did. */
static void
fragment_gone(struct buf *out, const char *reason)
{
	const char *text = "This chat was deleted.";
	if (reason != NULL && strcmp(reason, "removed") == 0)
		text = "You are no longer a member of this chat.";
	else if (reason != NULL && strcmp(reason, "signed-out") == 0)
		text = "You signed out.";
	else if (reason != NULL)
		text = "Your access to this chat has ended.";
	buf_printf(out, "<p class=\"notice\">%s</p>", text);
}

int
fragment_for_event(const char *name, json_t *data, struct buf *event, struct buf *html)
{
	if (strcmp(name, "message") == 0 || strcmp(name, "message-update") == 0)
		fragment_message(html, data);
	else if (strcmp(name, "chat") == 0)
		fragment_chat_header(html, data);
	else if (strcmp(name, "turn") == 0)
		fragment_turn(html, data);
	else if (strcmp(name, "deleted") == 0)
		fragment_gone(html, str_or(data, "reason", NULL));
	else if (strcmp(name, "token") == 0) {
		buf_printf(event, "token-%lld",
		    (long long)json_integer_value(json_object_get(data, "seq")));
		html_escape(html, str_or(data, "delta", ""));
		return 0;
	} else
		return -1;
	buf_adds(event, name);
	return 0;
}
