/*
 * fragments.c - HTML fragments for messages, the chat header and turn
 * status; see fragments.h.
 */
#include "web/fragments.h"
#include "util/buf.h"
#include "web/html.h"
#include "web/markdown.h"

#include <stdbool.h>
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

/* ' data-user="ID"' for whose it is (a person with an account), or nothing. */
static void
data_user(struct buf *out, json_t *obj)
{
	const char *user_id = str_or(obj, "user_id", NULL);
	if (user_id == NULL)
		return;
	buf_adds(out, " data-user=\"");
	html_escape(out, user_id);
	buf_adds(out, "\"");
}

/* "edited", and for a bot's message with several, "‹ 2/3 ›" to flip between them. */
static void
message_marks(struct buf *out, json_t *m, bool streaming)
{
	const char *edited = str_or(m, "edited_at", NULL);
	json_int_t shown = json_integer_value(json_object_get(m, "alternative"));
	json_int_t count = json_integer_value(json_object_get(m, "alternatives"));
	if (edited != NULL) {
		buf_adds(out, "<span class=\"msg-edited\" title=\"edited ");
		html_escape(out, edited);
		buf_adds(out, "\">edited</span>");
	}
	if (count < 2)
		return;
	const char *off = streaming ? " disabled" : "";
	buf_printf(out, "<span class=\"msg-alts\"><button type=\"button\" class=\"alt\""
	    " data-index=\"%lld\" aria-label=\"Previous answer\"%s>‹</button>"
	    "<span class=\"alt-pos\">%lld/%lld</span><button type=\"button\" class=\"alt\""
	    " data-index=\"%lld\" aria-label=\"Next answer\"%s>›</button></span>",
	    (long long)((shown + count - 1) % count), off,
	    (long long)shown + 1, (long long)count, (long long)((shown + 1) % count), off);
}

void
fragment_message(struct buf *out, json_t *m)
{
	json_int_t seq = json_integer_value(json_object_get(m, "seq"));
	const char *kind = str_or(m, "kind", "person");
	const char *state = str_or(m, "state", "complete");
	const char *error = str_or(m, "error", NULL);
	bool streaming = strcmp(state, "streaming") == 0;

	buf_printf(out, "<article id=\"msg-%lld\" class=\"msg msg-", (long long)seq);
	html_escape(out, kind);
	buf_adds(out, " msg-");
	html_escape(out, state);
	/* what can be done to it is app.js's to offer, from these (and the reader's rights) */
	buf_printf(out, "\" data-seq=\"%lld\" data-chat=\"", (long long)seq);
	html_escape(out, str_or(m, "chat_id", ""));
	buf_adds(out, "\"");
	data_user(out, m);	/* its author may change it */
	if (streaming)	/* screen readers hear it once whole, not word by word */
		buf_adds(out, " aria-busy=\"true\"");
	buf_adds(out, "><header><span class=\"msg-author\" dir=\"auto\">");
	html_escape(out, str_or(m, "author", ""));
	buf_adds(out, "</span>");
	if (strcmp(kind, "bot") == 0)
		buf_adds(out, "<span class=\"msg-badge\">bot</span>");
	message_time(out, str_or(m, "created_at", ""));
	message_marks(out, m, streaming);
	buf_adds(out, "</header>");
	const char *body = str_or(m, "body", "");
	if (streaming) {
		/*
		 * "token-SEQ" events append to it. app.js listens for them as soon as
		 * this fragment arrives: an sse-swap attribute would start listening
		 * only once htmx has processed the element, missing the first tokens.
		 */
		buf_printf(out, "<div class=\"msg-body msg-typing\" dir=\"auto\" data-tokens=\"token-%lld\">",
		    (long long)seq);
		html_escape(out, body);
	} else {
		buf_adds(out, "<div class=\"msg-body\" dir=\"auto\">");
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

/* A deleted message: the element with its id goes, wherever it is (applying it twice = once). */
static void
fragment_message_deleted(struct buf *out, json_t *data)
{
	buf_printf(out, "<article id=\"msg-%lld\" hx-swap-oob=\"delete\"></article>",
	    (long long)json_integer_value(json_object_get(data, "seq")));
}

void
fragment_presence(struct buf *out, json_t *here)
{
	size_t i;
	json_t *who;
	if (json_array_size(here) == 0)
		return;
	buf_adds(out, "<span class=\"here-label\">Here:</span>");
	json_array_foreach(here, i, who) {
		buf_adds(out, "<span class=\"here-person\"");
		data_user(out, who);
		buf_adds(out, ">");
		html_escape(out, str_or(who, "name", ""));
		buf_adds(out, "</span>");
	}
}

/* Someone typing: app.js shows "NAME is typing…" for a few seconds after the last one. */
static void
fragment_typing(struct buf *out, json_t *who)
{
	buf_adds(out, "<span class=\"typer\"");
	data_user(out, who);
	buf_adds(out, ">");
	html_escape(out, str_or(who, "name", ""));
	buf_adds(out, "</span>");
}

const char *
policy_label(const char *policy)
{
	static const char *const labels[][2] = {
		{ "round-robin", "Every bot replies" },
		{ "mentions", "Only @mentioned bots" },
		{ "natural", "Natural conversation" },
		{ "manual", "Bots only when asked" },
	};
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if (strcmp(policy, labels[i][0]) == 0)
			return labels[i][1];
	return "";
}

void
fragment_chat_header(struct buf *out, json_t *chat)
{
	buf_adds(out, "<h1 class=\"chat-title\" dir=\"auto\">");
	html_escape(out, str_or(chat, "title", ""));
	buf_adds(out, "</h1><div class=\"chat-meta\">");
	json_t *bots = json_object_get(chat, "bots"), *bot;
	const char *id = str_or(chat, "id", "");
	size_t i;
	if (json_array_size(bots) == 0)
		buf_adds(out, "<span>No bots yet: add some in Settings</span>");
	/* each bot's name asks it to speak next */
	json_array_foreach(bots, i, bot) {
		buf_adds(out, "<form class=\"ask\" method=\"post\" action=\"/chats/");
		html_escape(out, id);
		buf_adds(out, "/turn\" hx-post=\"/chats/");
		html_escape(out, id);
		buf_adds(out, "/turn\" hx-swap=\"none\"><input type=\"hidden\" name=\"bot\" value=\"");
		html_escape(out, str_or(bot, "id", ""));
		buf_adds(out, "\"><button type=\"submit\" class=\"bot-name\" title=\"Ask ");
		html_escape(out, str_or(bot, "name", ""));
		buf_adds(out, " to speak next\">");
		html_escape(out, str_or(bot, "name", ""));
		buf_adds(out, "</button></form>");
	}
	if (json_array_size(bots) > 0)		/* how they take turns, when there are some */
		buf_printf(out, "<span class=\"chat-policy\">%s</span>",
		    policy_label(str_or(chat, "policy", "")));
	buf_adds(out, "</div>");
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
	json_int_t auto_left = json_integer_value(json_object_get(turn, "auto_left"));
	if (auto_left > 0)
		buf_printf(out, "<span class=\"turn-auto\" title=\"The bots answer each other this"
		    " many more times; Stop ends it\">auto: %lld left</span>", (long long)auto_left);
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

/* The newest message of a list item: "Author: body" (plain text, the body a preview). */
static void
item_preview(struct buf *out, json_t *last)
{
	if (!json_is_object(last)) {
		buf_adds(out, "<span class=\"chat-preview empty\">No messages yet</span>");
		return;
	}
	buf_adds(out, "<span class=\"chat-preview\" dir=\"auto\">");
	const char *author = str_or(last, "author", NULL);
	if (author != NULL) {
		buf_adds(out, "<b>");
		html_escape(out, author);
		buf_adds(out, ":</b> ");
	}
	html_escape(out, str_or(last, "body", ""));
	buf_adds(out, "</span>");
	message_time(out, str_or(last, "created_at", ""));
}

void
fragment_chat_item(struct buf *out, json_t *item)
{
	const char *id = str_or(item, "id", "");
	json_t *last = json_object_get(item, "last"), *read = json_object_get(item, "read_seq");
	long long seq = (long long)json_integer_value(json_object_get(last, "seq"));
	buf_adds(out, "<li id=\"chat-");
	html_escape(out, id);
	buf_printf(out, "\" class=\"chat-item\" data-seq=\"%lld\" data-active=\"%lld\"", seq,
	    (long long)json_integer_value(json_object_get(item, "active")));
	/* who wrote the newest message: one's own is never unread */
	if (json_is_string(json_object_get(last, "user_id"))) {
		buf_adds(out, " data-by-user=\"");
		html_escape(out, str_or(last, "user_id", ""));
		buf_adds(out, "\"");
	} else if (json_is_string(json_object_get(last, "author"))) {
		buf_adds(out, " data-by-name=\"");
		html_escape(out, str_or(last, "author", ""));
		buf_adds(out, "\"");
	}
	if (json_is_integer(read))
		buf_printf(out, " data-read=\"%lld\"", (long long)json_integer_value(read));
	buf_adds(out, "><a href=\"/chats/");
	html_escape(out, id);
	buf_adds(out, "\"><span class=\"chat-name\" dir=\"auto\">");
	html_escape(out, str_or(item, "title", ""));
	buf_adds(out, "</span><span class=\"chat-unread\" hidden></span>");
	item_preview(out, last);
	buf_adds(out, "</a></li>");
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
	else if (reason != NULL && strcmp(reason, "not-found") == 0)
		text = "This chat does not exist, or is not yours to see.";
	else if (reason != NULL)
		text = "Your access to this chat has ended.";
	buf_printf(out, "<p class=\"notice\">%s</p>", text);
}

int
fragment_for_event(const char *name, json_t *data, struct buf *event, struct buf *html)
{
	if (strcmp(name, "message") == 0 || strcmp(name, "message-update") == 0)
		fragment_message(html, data);
	else if (strcmp(name, "message-deleted") == 0)
		fragment_message_deleted(html, data);
	else if (strcmp(name, "presence") == 0)
		fragment_presence(html, data);
	else if (strcmp(name, "typing") == 0)
		fragment_typing(html, data);
	else if (strcmp(name, "chat") == 0)
		fragment_chat_header(html, data);
	else if (strcmp(name, "turn") == 0)
		fragment_turn(html, data);
	else if (strcmp(name, "deleted") == 0)
		fragment_gone(html, str_or(data, "reason", NULL));
	else if (strcmp(name, "list-chat") == 0) {
		fragment_chat_item(html, data);
		buf_adds(event, "chat");
		return 0;
	} else if (strcmp(name, "list-gone") == 0) {
		html_escape(html, str_or(data, "id", ""));
		buf_adds(event, "gone");
		return 0;
	} else if (strcmp(name, "list-read") == 0) {
		html_escape(html, str_or(data, "id", ""));
		buf_printf(html, " %lld", (long long)json_integer_value(json_object_get(data, "seq")));
		buf_adds(event, "read");
		return 0;
	} else if (strcmp(name, "list-all") == 0) {
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(data, "chats"), i, item)
			fragment_chat_item(html, item);
		buf_adds(event, "all");
		return 0;
	}
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
