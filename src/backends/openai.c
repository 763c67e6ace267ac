/*
 * openai.c - the model-server backend: POST {base_url}/chat/completions with
 * "stream": true on libcurl's multi interface, driven by the libevent loop
 * (curl tells us which sockets and timeouts to watch; nothing blocks). The
 * response streams through oai_stream into the reply's sink. Works with any
 * OpenAI-compatible server: OpenAI, llama.cpp, Ollama (/v1), vLLM.
 *
 * The API key is read from the environment variable the bot names, at the
 * moment of the request; it is never stored, logged or echoed. Every
 * address curl connects to is checked first (endpoint.h), and what a failed
 * reply says is what a user needs (unreachable, timed out, or the HTTP
 * status with the short message of a JSON error), never a foreign body.
 * A server that answers with one JSON object instead of a stream (a proxy
 * that ignores "stream", or an error with a 2xx status) is read whole; an
 * answer with no text in it fails, saying why when the server said. A 400
 * refusing max_tokens or temperature (reasoning models) sends it again
 * without them; a 429 asking to wait a little is sent again after that.
 */
#include "backends/backend_impl.h"
#include "backends/endpoint.h"
#include "backends/oai_stream.h"
#include "limits.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/json_wire.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xmalloc.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct openai_glue {
	CURLM			*multi;
	struct event		*timer;
	struct event_base	*base;
};

struct openai_job {
	struct reply_job	 job;		/* first: the common part */
	struct openai_glue	*glue;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
	struct oai_stream	 parser;
	struct buf		 whole;		/* a body read whole: non-2xx, or JSON */
	bool			 whole_cut;	/* it was too long: the rest was dropped */
	bool			 json_answer;	/* a 2xx answer that is JSON, not a stream */
	bool			 continuing;	/* the reply goes on from its text: none may come */
	unsigned		 resent;	/* times sent again without a parameter refused */
	long			 status;
	bool			 added;		/* the transfer is in the multi handle */
	bool			 done;		/* [DONE] seen: the reply is whole */
	struct event		*idle;		/* fails the reply after silence */
	int64_t			 chunk_at;	/* ms: the last chunk of the answer (or the request) */
	struct event		*wait;		/* a 429's Retry-After, then the request again */
	char			*key_env;	/* the variable holding the API key, or NULL */
	bool			 refused;	/* an address of the server was not allowed */
	char			 error[200];
};

/* ---------- curl on the event loop ---------- */

static void check_done(struct openai_glue *glue);

static void
socket_ready(evutil_socket_t fd, short kind, void *arg)
{
	struct openai_glue *glue = arg;
	int running, flags = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	curl_multi_socket_action(glue->multi, fd, flags, &running);
	check_done(glue);
}

static void
timer_fired(evutil_socket_t fd, short kind, void *arg)
{
	struct openai_glue *glue = arg;
	int running;
	(void)fd;
	(void)kind;
	curl_multi_socket_action(glue->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(glue);
}

/* curl says which events a socket needs; one persistent event per socket. */
static int
watch_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct openai_glue *glue = userp;
	struct event *ev = socketp;
	(void)easy;
	if (ev != NULL)
		event_free(ev);
	if (what == CURL_POLL_REMOVE) {
		curl_multi_assign(glue->multi, fd, NULL);
		return 0;
	}
	short kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	ev = event_new(glue->base, fd, kind, socket_ready, glue);
	event_add(ev, NULL);
	curl_multi_assign(glue->multi, fd, ev);
	return 0;
}

static int
set_timer(CURLM *multi, long ms, void *userp)
{
	struct openai_glue *glue = userp;
	(void)multi;
	if (ms < 0) {
		evtimer_del(glue->timer);
		return 0;
	}
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(glue->timer, &tv);
	return 0;
}

static struct openai_glue *
glue_get(struct backends *be)
{
	if (be->openai != NULL)
		return be->openai;
	struct openai_glue *glue = xcalloc(1, sizeof *glue);
	glue->base = be->base;
	glue->multi = curl_multi_init();
	glue->timer = evtimer_new(be->base, timer_fired, glue);
	curl_multi_setopt(glue->multi, CURLMOPT_SOCKETFUNCTION, watch_socket);
	curl_multi_setopt(glue->multi, CURLMOPT_SOCKETDATA, glue);
	curl_multi_setopt(glue->multi, CURLMOPT_TIMERFUNCTION, set_timer);
	curl_multi_setopt(glue->multi, CURLMOPT_TIMERDATA, glue);
	return be->openai = glue;
}

void
openai_glue_free(struct openai_glue *glue)
{
	if (glue == NULL)
		return;
	curl_multi_cleanup(glue->multi);
	event_free(glue->timer);
	free(glue);
}

/* ---------- the request ---------- */

/* What a model is asked after the text so far of a message it is to write on. */
#define CONTINUE_NUDGE "Continue your last message from exactly where it stopped," \
	" without repeating any of it."

/*
 * The recent messages that fit LIMIT_MODEL_CONTEXT_BYTES, newest first: the
 * index of the oldest, and in *cut how many bytes of its beginning are left
 * out (the one that does not fit whole keeps its end, where it is newest).
 */
static size_t
recent_messages(json_t *messages, size_t *cut)
{
	size_t budget = LIMIT_MODEL_CONTEXT_BYTES, first = json_array_size(messages);
	*cut = 0;
	while (first > 0) {
		const char *body = json_string_value(json_object_get(json_array_get(messages,
		    first - 1), "body"));
		size_t len = strlen(body);
		if (len > budget) {
			if (budget < LIMIT_MODEL_CONTEXT_BYTES / 16)
				break;		/* too little of it to be worth sending */
			*cut = len - budget;
			while (((unsigned char)body[*cut] & 0xc0) == 0x80)
				(*cut)++;	/* a character's first byte */
			return first - 1;
		}
		budget -= len;
		first--;
	}
	return first;
}

/*
 * Appends a message of role to what the model is sent; one following
 * another of the same role joins it, on a line of its own (chat templates
 * such as Gemma's and Mistral's refuse roles that do not alternate).
 */
static void
add_turn(json_t *out, const char *role, const char *text, size_t len)
{
	json_t *last = json_array_get(out, json_array_size(out) - 1);
	if (json_array_size(out) < 2 || strcmp(json_string_value(json_object_get(last, "role")),
	    role) != 0) {	/* the persona (first) stays alone */
		json_array_append_new(out, json_pack("{s:s, s:s%}", "role", role, "content", text,
		    len));
		return;
	}
	json_t *before = json_object_get(last, "content");
	struct buf both = BUF_INIT;
	buf_add(&both, json_string_value(before), json_string_length(before));
	buf_addc(&both, '\n');
	buf_add(&both, text, len);
	json_object_set_new(last, "content", json_stringn(both.data, both.len));
	buf_free(&both);
}

/*
 * The chat as the model sees it: its persona, then the recent messages
 * (continuing: ending with its own text so far, and the nudge to write on).
 */
static json_t *
model_messages(const struct reply_context *ctx)
{
	json_t *out = json_array();
	const char *persona = json_string_value(json_object_get(ctx->bot, "persona"));
	const char *name = json_string_value(json_object_get(ctx->bot, "name"));
	const char *bot_id = json_string_value(json_object_get(ctx->bot, "id"));
	char fallback[96];
	snprintf(fallback, sizeof fallback, "You are %s, taking part in a group chat.", name);
	/* a character card's persona names its character and the people as macros */
	char *system = text_card_macros(persona && *persona ? persona : fallback, name,
	    "the people in the chat");
	json_array_append_new(out, json_pack("{s:s, s:s}", "role", "system", "content", system));
	free(system);

	size_t cut;
	size_t first = recent_messages(ctx->messages, &cut);
	for (size_t i = first; i < json_array_size(ctx->messages); i++) {
		json_t *m = json_array_get(ctx->messages, i);
		const char *body = json_string_value(json_object_get(m, "body"));
		if (i == first)
			body += cut;
		const char *author = json_string_value(json_object_get(m, "author"));
		const char *mine = json_string_value(json_object_get(m, "bot_id"));
		bool this_one = (uint64_t)json_integer_value(json_object_get(m, "seq")) == ctx->seq;
		if ((this_one && !ctx->continuing) || !*body)
			continue;
		/* its own, but never first: templates want a user's turn before the model's */
		if (mine != NULL && bot_id != NULL && strcmp(mine, bot_id) == 0 &&
		    json_array_size(out) > 1) {
			add_turn(out, "assistant", body, strlen(body));
			continue;
		}
		struct buf line = BUF_INIT;
		buf_printf(&line, "%s: %s", author ? author : "someone", body);
		add_turn(out, "user", line.data, line.len);
		buf_free(&line);
	}
	if (ctx->continuing)
		json_array_append_new(out, json_pack("{s:s, s:s}", "role", "system",
		    "content", CONTINUE_NUDGE));
	return out;
}

static char *
request_body(const struct reply_context *ctx)
{
	json_t *bot = ctx->bot;
	json_t *req = json_pack("{s:b, s:O, s:O, s:o}", "stream", 1,
	    "temperature", json_object_get(bot, "temperature"),
	    "max_tokens", json_object_get(bot, "max_tokens"), "messages", model_messages(ctx));
	json_t *model = json_object_get(bot, "model");
	if (json_is_string(model))
		json_object_set(req, "model", model);
	char *text = json_dumps(req, JSON_WIRE);
	json_decref(req);
	return text;
}

static struct curl_slist *
request_headers(json_t *bot)
{
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: text/event-stream");
	const char *env = json_string_value(json_object_get(bot, "api_key_env"));
	const char *key = env ? getenv(env) : NULL;
	if (key != NULL && *key != '\0') {
		struct buf auth = BUF_INIT;
		buf_printf(&auth, "Authorization: Bearer %s", key);
		h = curl_slist_append(h, auth.data);
		buf_free(&auth);
	}
	return h;
}

/* ---------- the response ---------- */

static void
on_delta(void *arg, const char *text, size_t len)
{
	struct openai_job *o = arg;
	backend_job_text(&o->job, text, len);
}

/*
 * (Re)starts the idle clock: the reply fails if no chunk arrives before it
 * runs out; once a finish reason came, a short silence ends it whole (a
 * server that keeps the connection open after its last chunk, no [DONE]).
 */
static void
arm_idle(struct openai_job *o)
{
	time_t s = (time_t)o->job.be->opts.idle_timeout_s;
	if (o->parser.finish_reason[0] != '\0' && s > LIMIT_MODEL_FINISHED_QUIET_SECONDS)
		s = LIMIT_MODEL_FINISHED_QUIET_SECONDS;
	struct timeval tv = { s, 0 };
	evtimer_add(o->idle, &tv);
	o->chunk_at = monotonic_ms();
}

/*
 * Bytes but no chunk of the answer (SSE comments, keepalive objects: a
 * proxy holding the connection while the model is queued or thinking):
 * the clock restarts, but such a wait ends LIMIT_MODEL_KEEPALIVE_TIMES
 * timeouts after the last chunk, so a server that only keeps alive fails.
 */
static void
keep_alive(struct openai_job *o)
{
	int64_t idle_ms = (int64_t)o->job.be->opts.idle_timeout_s * 1000;
	int64_t left = o->chunk_at + idle_ms * LIMIT_MODEL_KEEPALIVE_TIMES - monotonic_ms();
	if (o->parser.finish_reason[0] != '\0' || left <= 0)
		return;		/* the clock runs out as it is */
	if (left > idle_ms)
		left = idle_ms;
	struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000 * 1000) };
	evtimer_add(o->idle, &tv);
}

/* The bot's API key, or NULL: what a server says may quote it back (some do). */
static const char *
job_key(const struct openai_job *o)
{
	return o->key_env ? getenv(o->key_env) : NULL;
}

static void http_error(struct openai_job *o);
static void check_answered(struct openai_job *o);
static void end_job(struct openai_job *o);

/* Keeps a piece of a body read whole, up to max bytes in all (then nothing more). */
static void
keep_whole(struct openai_job *o, const char *data, size_t len, size_t max)
{
	if (o->whole_cut || o->whole.len + len > max)
		o->whole_cut = true;
	else
		buf_add(&o->whole, data, len);
}

/* A 2xx answer's type, at its first bytes: a stream, or one JSON object. */
static void
answer_began(struct openai_job *o)
{
	char *type = NULL;
	curl_easy_getinfo(o->easy, CURLINFO_CONTENT_TYPE, &type);
	o->json_answer = type != NULL && strncasecmp(type, "application/json", 16) == 0;
}

/*
 * Silence for too long: a timeout, unless the reply was whole (a server
 * that keeps the connection open after its last chunk) or an error answer
 * that never ended (its status says more).
 */
static void
idle_expired(evutil_socket_t fd, short what, void *arg)
{
	struct openai_job *o = arg;
	(void)fd;
	(void)what;
	if (o->status != 0 && (o->status < 200 || o->status > 299))
		http_error(o);
	else if (o->status == 0 || o->json_answer || oai_stream_finish(&o->parser) == OAI_ERROR)
		snprintf(o->error, sizeof o->error, "the model server stopped answering (timeout)");
	check_answered(o);
	end_job(o);	/* the transfer goes with the job */
}

/* Bytes from the server: the stream, or an error body to report. */
static size_t
on_bytes(char *data, size_t size, size_t n, void *arg)
{
	struct openai_job *o = arg;
	size_t len = size * n;
	if (o->job.told || o->job.halting)
		return 0;	/* nobody listens: abort the transfer */
	if (o->status == 0) {
		curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &o->status);
		answer_began(o);
	}
	if (o->status < 200 || o->status > 299) {
		keep_whole(o, data, len, LIMIT_MODEL_ERROR_BYTES);
		return len;
	}
	if (o->json_answer) {
		arm_idle(o);
		keep_whole(o, data, len, LIMIT_MODEL_EVENT_BYTES);
		return len;
	}
	unsigned long chunks = o->parser.chunks;
	enum oai_status fed = oai_stream_feed(&o->parser, data, len);
	if (o->parser.chunks != chunks)
		arm_idle(o);	/* after the chunk: a finish reason in it shortens the wait */
	else
		keep_alive(o);
	switch (fed) {
	case OAI_ERROR:
		snprintf(o->error, sizeof o->error, "%s", o->parser.error);
		return 0;	/* abort the transfer */
	case OAI_DONE:
		o->done = true;	/* some servers keep the response open after [DONE] */
		return 0;
	case OAI_MORE:
		break;
	}
	return o->job.told || o->job.halting ? 0 : len;
}

/* The body read whole as JSON, or NULL (cut, or not JSON). */
static json_t *
whole_json(const struct openai_job *o)
{
	return o->whole_cut ? NULL : json_loadb(o->whole.data ? o->whole.data : "", o->whole.len,
	    0, NULL);
}

/* The message of a JSON error: {"error":{"message"}}, {"error":"…"} or {"message"} (vLLM). */
static const char *
error_message(json_t *body)
{
	json_t *err = json_object_get(body, "error");
	const char *msg = json_string_value(json_object_get(err, "message"));
	if (msg == NULL)
		msg = json_string_value(err);
	if (msg == NULL && err == NULL)
		msg = json_string_value(json_object_get(body, "message"));
	return msg;
}

/* A server's message as a short, tidy line, the bot's key hidden. */
static void
short_line(const struct openai_job *o, const char *msg, char line[LIMIT_MODEL_ERROR_SHOWN])
{
	char *whole = xstrdup(msg ? msg : "");
	text_hide(whole, job_key(o));	/* before it is cut: a long key would be cut in two */
	text_one_line(line, LIMIT_MODEL_ERROR_SHOWN, whole);
	free(whole);
}

/* A non-2xx answer: its status, and the message of a JSON error. */
static void
http_error(struct openai_job *o)
{
	json_t *body = whole_json(o);
	char line[LIMIT_MODEL_ERROR_SHOWN];
	short_line(o, error_message(body), line);
	snprintf(o->error, sizeof o->error, "the model server answered %ld%s%s", o->status,
	    line[0] ? ": " : "", line);
	json_decref(body);
}

/* A transfer that failed: only whether the server could be reached, or in time. */
static void
transfer_error(struct openai_job *o, CURLcode rc)
{
	if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(o->error, sizeof o->error, "the model server did not answer in time");
	else
		snprintf(o->error, sizeof o->error, "the model server could not be reached");
}

/* A 2xx answer that was one JSON object: the reply's whole text, or an error in it. */
static void
json_answer(struct openai_job *o)
{
	json_t *body = whole_json(o);
	json_t *message = json_object_get(json_array_get(json_object_get(body, "choices"), 0),
	    "message");
	const char *text = json_string_value(json_object_get(message, "content"));
	const char *msg = error_message(body);
	if (body == NULL || (text == NULL && msg == NULL))
		snprintf(o->error, sizeof o->error, "the model server answered something other"
		    " than a stream or a reply");
	else if (text == NULL) {
		char line[LIMIT_MODEL_ERROR_SHOWN];
		short_line(o, msg, line);
		snprintf(o->error, sizeof o->error, "model server error: %s", line);
	} else {
		o->parser.content_bytes = strlen(text);
		if (*text)
			backend_job_text(&o->job, text, strlen(text));
		o->parser.reasoned = json_string_length(json_object_get(message,
		    "reasoning_content")) > 0;
		const char *reason = json_string_value(json_object_get(json_array_get(
		    json_object_get(body, "choices"), 0), "finish_reason"));
		snprintf(o->parser.finish_reason, sizeof o->parser.finish_reason, "%s",
		    reason ? reason : "");
	}
	json_decref(body);
}

/* A whole answer with no text in it fails, with why when the server said (not when continuing). */
static void
check_answered(struct openai_job *o)
{
	if (o->error[0] != '\0' || o->parser.content_bytes > 0 || o->continuing)
		return;
	bool length = strcmp(o->parser.finish_reason, "length") == 0;
	if (o->parser.reasoned)
		snprintf(o->error, sizeof o->error, "the model reasoned but wrote no answer%s",
		    length ? " before max_tokens ran out: raise max_tokens" : "");
	else
		snprintf(o->error, sizeof o->error, "the model server answered nothing%s",
		    length ? " before max_tokens ran out" : "");
}

/*
 * A 400 refusing a parameter some models take no more (OpenAI's reasoning
 * models: "max_tokens", use "max_completion_tokens"; "temperature" other
 * than their own): the request body without it, or NULL when that is not
 * what was refused (or it was sent again for it already).
 */
static char *
body_without_refused(struct openai_job *o)
{
	json_t *answer = o->status == 400 ? whole_json(o) : NULL;
	json_t *err = json_object_get(answer, "error");
	const char *param = json_string_value(json_object_get(err, "param"));
	const char *msg = json_string_value(json_object_get(err, "message"));
	if (msg == NULL || strstr(msg, "upported") == NULL)
		param = NULL;	/* refused for its value ("too large"), not for being sent */
	json_t *req = param ? json_loads(o->body, 0, NULL) : NULL;
	json_t *max = json_object_get(req, "max_tokens");
	char *body = NULL;
	if (max != NULL && strcmp(param, "max_tokens") == 0) {
		json_object_set(req, "max_completion_tokens", max);
		json_object_del(req, "max_tokens");
		body = json_dumps(req, JSON_WIRE);
	} else if (json_object_get(req, "temperature") && strcmp(param, "temperature") == 0) {
		json_object_del(req, "temperature");
		body = json_dumps(req, JSON_WIRE);
	}
	json_decref(req);
	json_decref(answer);
	return body;
}

/* The request goes again with body (from the loop, outside curl's callbacks). */
static void
send_again(struct openai_job *o, char *body)
{
	if (o->added)
		curl_multi_remove_handle(o->glue->multi, o->easy);
	free(o->body);
	o->body = body;
	curl_easy_setopt(o->easy, CURLOPT_POSTFIELDS, o->body);
	o->resent++;
	o->status = 0;
	buf_reset(&o->whole);
	o->whole_cut = false;
	o->json_answer = false;
	o->refused = false;
	arm_idle(o);
	o->added = curl_multi_add_handle(o->glue->multi, o->easy) == CURLM_OK;
	if (!o->added)
		backend_end_soon(&o->job, "the request to the model server could not start");
}

static void
retry_due(evutil_socket_t fd, short what, void *arg)
{
	struct openai_job *o = arg;
	(void)fd;
	(void)what;
	send_again(o, xstrdup(o->body));
}

/*
 * A 429 whose Retry-After is short: the request goes again then (the reply
 * waits, being written); true when it will.
 */
static bool
wait_and_retry(struct openai_job *o)
{
	curl_off_t after = -1;
	if (o->status != 429 || o->resent >= 2 ||
	    curl_easy_getinfo(o->easy, CURLINFO_RETRY_AFTER, &after) != CURLE_OK ||
	    after <= 0 || after > LIMIT_MODEL_RETRY_AFTER_SECONDS)
		return false;	/* 0: no Retry-After (curl says 0 then too) */
	curl_multi_remove_handle(o->glue->multi, o->easy);
	o->added = false;
	evtimer_del(o->idle);
	struct timeval tv = { (time_t)after, 0 };
	evtimer_add(o->wait, &tv);
	return true;
}

static void
finish(struct openai_job *o, CURLcode rc)
{
	if (o->job.halting) {	/* ended by us (stopped, too long): nothing to say */
		backend_job_end(&o->job, NULL);
		return;
	}
	if (o->status == 0)	/* an answer without a body tells its status only here */
		curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &o->status);
	char *again = o->resent < 2 && o->error[0] == '\0' ? body_without_refused(o) : NULL;
	if (again != NULL) {
		send_again(o, again);
		return;
	}
	if (o->error[0] == '\0' && wait_and_retry(o))
		return;
	if (o->done)
		rc = CURLE_OK;		/* we cut the transfer at [DONE] */
	if (o->error[0] != '\0')
		;			/* the stream was refused as it came */
	else if (o->status != 0 && (o->status < 200 || o->status > 299))
		http_error(o);
	else if (rc != CURLE_OK && o->refused && o->status == 0)
		snprintf(o->error, sizeof o->error,
		    "the model server's address is not allowed (link-local)");
	else if (rc != CURLE_OK)
		transfer_error(o, rc);
	else if (o->json_answer)
		json_answer(o);
	else if (oai_stream_finish(&o->parser) == OAI_ERROR)
		snprintf(o->error, sizeof o->error, "%s", o->parser.error);
	check_answered(o);
	end_job(o);
}

/* The reply ends: whole (no error), or failed with o->error. */
static void
end_job(struct openai_job *o)
{
	if (o->error[0] != '\0')
		log_info("model reply failed: %s", o->error);
	backend_job_end(&o->job, o->error[0] ? o->error : NULL);
}

static void
check_done(struct openai_glue *glue)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(glue->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct openai_job *o;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&o);
		finish(o, msg->data.result);
	}
}

/* From the loop, never inside curl's callbacks (backend.c's deferred event). */
static void
halt(struct reply_job *job)
{
	struct openai_job *o = (struct openai_job *)job;
	evtimer_del(o->idle);
	evtimer_del(o->wait);
	if (o->added)
		curl_multi_remove_handle(o->glue->multi, o->easy);
	o->added = false;
}

static void
release(struct reply_job *job)
{
	struct openai_job *o = (struct openai_job *)job;
	halt(job);
	event_free(o->idle);
	event_free(o->wait);
	curl_easy_cleanup(o->easy);
	curl_slist_free_all(o->headers);
	free(o->body);
	oai_stream_free(&o->parser);
	buf_free(&o->whole);
	free(o->key_env);
	free(o);
}

/* curl's socket for a connection: refused for an address a bot may not reach. */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct openai_job *o = arg;
	(void)purpose;
	if (!endpoint_address_allowed(&addr->addr, o->job.be->opts.allow_link_local)) {
		o->refused = true;	/* told only if no other address answers */
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static void
configure(struct openai_job *o, const struct reply_context *ctx)
{
	struct buf url = BUF_INIT;
	const char *base = json_string_value(json_object_get(ctx->bot, "base_url"));
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	buf_add(&url, base, n);
	buf_adds(&url, "/chat/completions");

	CURL *e = o->easy;
	curl_easy_setopt(e, CURLOPT_URL, url.data);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, o->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_bytes);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, o);
	curl_easy_setopt(e, CURLOPT_PRIVATE, o);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)LIMIT_MODEL_CONNECT_SECONDS);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, o);
	/* no proxy from the environment: its connections would escape open_socket's check */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	buf_free(&url);
}

struct reply_job *
openai_start(struct backends *be, const struct reply_context *ctx, struct reply_sink sink)
{
	struct openai_job *o = xcalloc(1, sizeof *o);
	backend_job_init(be, &o->job, sink, halt, release);
	o->glue = glue_get(be);
	o->easy = curl_easy_init();
	o->headers = request_headers(ctx->bot);
	const char *env = json_string_value(json_object_get(ctx->bot, "api_key_env"));
	o->key_env = env ? xstrdup(env) : NULL;
	o->body = request_body(ctx);
	o->continuing = ctx->continuing;
	oai_stream_init(&o->parser, on_delta, o);
	o->parser.secret = job_key(o);
	configure(o, ctx);
	o->idle = evtimer_new(be->base, idle_expired, o);
	o->wait = evtimer_new(be->base, retry_due, o);
	arm_idle(o);
	o->added = curl_multi_add_handle(o->glue->multi, o->easy) == CURLM_OK;
	if (!o->added)
		backend_end_soon(&o->job, "the request to the model server could not start");
	return &o->job;
}
