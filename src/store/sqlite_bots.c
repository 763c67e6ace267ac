/*
 * sqlite_bots.c - bots on SQLite (store.h). Names are unique without regard
 * to case (COLLATE NOCASE); a duplicate is STORE_CONFLICT.
 */
#include "store/shapes.h"
#include "store/sqlite.h"
#include "util/ids.h"

static const char *
column_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static json_t *
row_bot(struct sqlite_store *st, sqlite3_stmt *s)
{
	(void)st;
	return shape_bot(&(struct bot_row){ .id = column_text(s, 0), .name = column_text(s, 1),
	    .persona = column_text(s, 2), .backend = column_text(s, 3),
	    .model = column_text(s, 4), .base_url = column_text(s, 5),
	    .api_key_env = column_text(s, 6), .temperature = sqlite3_column_double(s, 7),
	    .max_tokens = sqlite3_column_int64(s, 8),
	    .talkativeness = sqlite3_column_double(s, 9), .greeting = column_text(s, 10) });
}

static json_t *
row_chat_id(struct sqlite_store *st, sqlite3_stmt *s)
{
	(void)st;
	return sqlite_column_json(s, 0);
}

json_t *
sqlite_bot_list(struct sqlite_store *st)
{
	return sqlite_collect(st, sqlite_stmt(st, SQL_BOT_LIST), row_bot);
}

enum store_status
sqlite_bot_get(struct sqlite_store *st, const char *id_or_name, json_t **bot)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_BOT_GET);
	if (s != NULL)
		sqlite_bind_text(s, 1, id_or_name);
	return sqlite_one(st, s, row_bot, bot);
}

/* Binds a Bot's ten fields as ?at.. */
static void
bind_bot(sqlite3_stmt *s, int at, json_t *f)
{
	static const char *const text_fields[] = { "name", "persona", "backend", "model",
	    "base_url", "api_key_env" };
	for (int i = 0; i < 6; i++)
		sqlite_bind_text(s, at + i, json_string_value(json_object_get(f, text_fields[i])));
	sqlite3_bind_double(s, at + 6, json_number_value(json_object_get(f, "temperature")));
	sqlite3_bind_int64(s, at + 7, json_integer_value(json_object_get(f, "max_tokens")));
	sqlite3_bind_double(s, at + 8, json_number_value(json_object_get(f, "talkativeness")));
	const char *greeting = json_string_value(json_object_get(f, "greeting"));
	sqlite_bind_text(s, at + 9, greeting ? greeting : "");
}

/*
 * Runs an insert, or an update of the bot as it was read (old);
 * STORE_CONFLICT when the name is taken.
 */
static enum store_status
write_bot(struct sqlite_store *st, enum stmt_id which, const char *id, json_t *old,
    json_t *fields, json_t **bot)
{
	sqlite3_stmt *s = sqlite_stmt(st, which);
	if (s == NULL)
		return STORE_ERROR;
	sqlite_bind_text(s, 1, id);
	bind_bot(s, 2, fields);
	if (old != NULL)
		bind_bot(s, 12, old);
	int rc = sqlite3_step(s);
	int ext = sqlite3_extended_errcode(st->db);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		if (ext == SQLITE_CONSTRAINT_UNIQUE)
			return STORE_CONFLICT;
		sqlite_log_error(st, "bot write");
		return STORE_ERROR;
	}
	if (sqlite3_changes(st->db) == 0)
		return STORE_CHANGED;
	return sqlite_bot_get(st, id, bot);
}

enum store_status
sqlite_bot_create(struct sqlite_store *st, json_t *fields, json_t **bot)
{
	char id[ID_LEN + 1];
	id_generate(id);
	return write_bot(st, SQL_BOT_INSERT, id, NULL, fields, bot);
}

enum store_status
sqlite_bot_update(struct sqlite_store *st, const char *id, json_t *old, json_t *fields,
    json_t **bot)
{
	json_object_clear(st->chats);	/* chats name their bots */
	return write_bot(st, SQL_BOT_UPDATE, id, old, fields, bot);
}

json_t *
sqlite_bot_chats(struct sqlite_store *st, const char *id)
{
	sqlite3_stmt *s = sqlite_stmt(st, SQL_BOT_CHATS);
	if (s != NULL)
		sqlite_bind_text(s, 1, id);
	return sqlite_collect(st, s, row_chat_id);
}

enum store_status
sqlite_bot_delete(struct sqlite_store *st, const char *id)
{
	json_object_clear(st->chats);	/* chats name their bots */
	return sqlite_delete(st, SQL_BOT_DELETE, id);
}
