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
