/*
 * postgres_bots.c - bots on PostgreSQL (store.h). Names are unique without
 * regard to case (a unique index on lower(name)); a duplicate is
 * STORE_CONFLICT.
 */
#include "store/postgres.h"
#include "store/shapes.h"
#include "util/ids.h"

static json_t *
row_bot(struct postgres_store *st, PGresult *r, int row)
{
	(void)st;
	return shape_bot(&(struct bot_row){ .id = pg_col_text(r, row, 0),
	    .name = pg_col_text(r, row, 1), .persona = pg_col_text(r, row, 2),
	    .backend = pg_col_text(r, row, 3), .model = pg_col_text(r, row, 4),
	    .base_url = pg_col_text(r, row, 5), .api_key_env = pg_col_text(r, row, 6),
	    .temperature = pg_col_real(r, row, 7), .max_tokens = pg_col_int(r, row, 8),
	    .talkativeness = pg_col_real(r, row, 9), .greeting = pg_col_text(r, row, 10) });
}

static json_t *
row_chat_id(struct postgres_store *st, PGresult *r, int row)
{
	(void)st;
	return pg_col_json(r, row, 0);
}

json_t *
postgres_bot_list(struct postgres_store *st)
{
	return postgres_collect(st, PG_BOT_LIST, NULL, row_bot);
}

enum store_status
postgres_bot_get(struct postgres_store *st, const char *id_or_name, json_t **bot)
{
	struct pg_params p = {0};
	pg_text(&p, id_or_name);
	return postgres_one(st, PG_BOT_GET, &p, row_bot, bot);
}

/* A Bot's ten fields as $2..$11. */
static void
bot_params(struct pg_params *p, json_t *f)
{
	static const char *const text_fields[] = { "name", "persona", "backend", "model",
	    "base_url", "api_key_env" };
	for (int i = 0; i < 6; i++)
		pg_text(p, json_string_value(json_object_get(f, text_fields[i])));
	pg_real(p, json_number_value(json_object_get(f, "temperature")));
	pg_int(p, json_integer_value(json_object_get(f, "max_tokens")));
	pg_real(p, json_number_value(json_object_get(f, "talkativeness")));
	const char *greeting = json_string_value(json_object_get(f, "greeting"));
	pg_text(p, greeting ? greeting : "");
}

/*
 * Runs an insert, or an update of the bot as it was read (old);
 * STORE_CONFLICT when the name is taken.
 */
static enum store_status
write_bot(struct postgres_store *st, enum pg_stmt which, const char *id, json_t *old,
    json_t *fields, json_t **bot)
{
	struct pg_params p = {0};
	char *read = old != NULL ? json_dumps(old, JSON_COMPACT) : NULL;
	pg_text(&p, id);
	bot_params(&p, fields);
	if (read != NULL)
		pg_text(&p, read);
	long changed = postgres_exec(st, which, &p);
	free(read);
	if (changed < 0)
		return postgres_failure(st);
	if (changed == 0)
		return STORE_CHANGED;
	return postgres_bot_get(st, id, bot);
}

enum store_status
postgres_bot_create(struct postgres_store *st, json_t *fields, json_t **bot)
{
	char id[ID_LEN + 1];
	id_generate(id);
	return write_bot(st, PG_BOT_INSERT, id, NULL, fields, bot);
}

enum store_status
postgres_bot_update(struct postgres_store *st, const char *id, json_t *old, json_t *fields,
    json_t **bot)
{
	return write_bot(st, PG_BOT_UPDATE, id, old, fields, bot);
}

json_t *
postgres_bot_chats(struct postgres_store *st, const char *id)
{
	struct pg_params p = {0};
	pg_text(&p, id);
	return postgres_collect(st, PG_BOT_CHATS, &p, row_chat_id);
}

/* Its chats lose it with its row (chat_bots cascades). */
enum store_status
postgres_bot_delete(struct postgres_store *st, const char *id)
{
	struct pg_params p = {0};
	pg_text(&p, id);
	long changed = postgres_exec(st, PG_BOT_DELETE, &p);
	if (changed < 0)
		return STORE_ERROR;
	return changed > 0 ? STORE_OK : STORE_NOT_FOUND;
}
