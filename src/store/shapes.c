/*
 * shapes.c - the JSON shapes both stores return (see shapes.h).
 */
#include "store/shapes.h"

json_t *
shape_message(bool accounts, const char *chat_id, uint64_t seq, const struct message_in *m,
    const struct message_more *more)
{
	json_t *msg = json_pack("{s:s, s:I, s:s, s:s?, s:s?, s:s, s:s, s:s?, s:s, s:s?, s:I, s:I}",
	    "chat_id", chat_id, "seq", (json_int_t)seq, "kind", m->kind, "author", m->author,
	    "bot_id", m->bot_id, "body", m->body, "state", m->state, "error", more->error,
	    "created_at", more->created_at, "edited_at", more->edited_at,
	    "alternative", more->alternative, "alternatives", more->alternatives);
	if (accounts)
		json_object_set_new(msg, "user_id", m->user_id ? json_string(m->user_id) :
		    json_null());
	return msg;
}

json_t *
shape_user(const char *id, const char *name, const char *display_name, bool admin,
    const char *created_at)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:s}", "id", id, "name", name,
	    "display_name", display_name, "admin", admin, "created_at", created_at);
}

json_t *
shape_token(const char *id, const char *name, const char *created_at)
{
	return json_pack("{s:s, s:s, s:s}", "id", id, "name", name, "created_at", created_at);
}

json_t *
shape_bot(const struct bot_row *b)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:f, s:I, s:f, s:s}",
	    "id", b->id, "name", b->name, "persona", b->persona, "backend", b->backend,
	    "model", b->model, "base_url", b->base_url, "api_key_env", b->api_key_env,
	    "temperature", b->temperature, "max_tokens", b->max_tokens,
	    "talkativeness", b->talkativeness, "greeting", b->greeting);
}

json_t *
shape_list_item(const char *id, const char *title, const struct preview_row *last,
    json_int_t active, json_int_t read_seq)
{
	json_t *preview = last == NULL ? json_null() :
	    json_pack("{s:I, s:s, s:s?, s:s, s:s, s:s?}", "seq", last->seq, "kind", last->kind,
	    "author", last->author, "body", last->body, "created_at", last->created_at,
	    "user_id", last->user_id);
	return json_pack("{s:s, s:s, s:o, s:I, s:I}", "id", id, "title", title, "last", preview,
	    "active", active, "read_seq", read_seq);
}
