/*
 * postgres_leases.c - turn leases on PostgreSQL (store.h): one row of
 * turn_leases per chat whose turn flow a node runs, with its fence number,
 * until when it holds, the flow's state, and what other nodes asked of it.
 * The fenced writes' check of the lease is postgres.c's (store_fence).
 */
#include "store/postgres.h"

#include <stdlib.h>
#include <string.h>

/*
 * Who held the lease just taken, when it lapsed (another node, or this one
 * while the database was away: its flow ended unwritten): other, *saved.
 */
static void
taken_from(PGresult *r, const struct lease *l, char other[LEASE_NODE_MAX], json_t **saved)
{
	const char *was = pg_col_text(r, 0, 1), *lapsed = pg_col_text(r, 0, 3);
	if (was == NULL || (strcmp(was, l->node) == 0 && (lapsed == NULL || lapsed[0] != 't')))
		return;
	snprintf(other, LEASE_NODE_MAX, "%s", was);
	*saved = json_loads(pg_col_text(r, 0, 2), 0, NULL);
}

/* The lease taken for l->node (true), unless a live one is another node's. */
static bool
lease_taken(struct lease *l, char holder[LEASE_NODE_MAX], json_t **saved, PGresult *r)
{
	bool taken = PQntuples(r) == 1;
	if (taken) {
		l->fence = (uint64_t)pg_col_int(r, 0, 0);
		taken_from(r, l, holder, saved);
	}
	PQclear(r);
	return taken;
}

/*
 * The node holding a live lease on the chat, with ask (text) added to what
 * it was asked; false when no other node holds one now.
 */
static bool
lease_asked_of(struct postgres_store *st, const struct lease *l, const char *ask,
    char holder[LEASE_NODE_MAX])
{
	struct pg_params p = { .n = 0 };
	pg_text(&p, l->chat_id);
	pg_text(&p, l->node);
	pg_text(&p, ask);
	PGresult *r = postgres_run(st, PG_LEASE_ASK, &p);
	bool held = r != NULL && PQntuples(r) == 1;
	if (held)
		snprintf(holder, LEASE_NODE_MAX, "%s", pg_col_text(r, 0, 0));
	PQclear(r);
	return held;
}

enum store_status
postgres_lease_take(struct postgres_store *st, struct lease *l, char holder[LEASE_NODE_MAX],
    json_t **saved, json_t *ask)
{
	struct pg_params p = { .n = 0 };
	pg_text(&p, l->chat_id);
	pg_text(&p, l->node);
	holder[0] = '\0';
	*saved = NULL;
	char *text = ask ? json_dumps(ask, JSON_COMPACT) : NULL;
	enum store_status rc = STORE_ERROR;
	/* a lease given up or lapsed between the two statements is taken on the next round */
	for (int round = 0; round < 3 && rc == STORE_ERROR; round++) {
		PGresult *r = postgres_run(st, PG_LEASE_TAKE, &p);
		if (r == NULL)
			break;
		if (lease_taken(l, holder, saved, r))
			rc = STORE_OK;
		else if (lease_asked_of(st, l, text, holder))
			rc = STORE_CONFLICT;
	}
	free(text);
	return rc == STORE_ERROR ? postgres_failure(st) : rc;
}

/* A read first: most looks find nothing, and then write nothing; else read and clear. */
enum store_status
postgres_lease_asked(struct postgres_store *st, const struct lease *l, json_t **asked)
{
	struct pg_params p;
	postgres_lease_params(&p, l);
	*asked = NULL;
	PGresult *r = postgres_run(st, PG_LEASE_PEEK, &p);
	if (r == NULL)
		return postgres_failure(st);
	bool held = PQntuples(r) == 1, some = held && strcmp(pg_col_text(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!some) {
		*asked = held ? json_array() : NULL;
		return held ? STORE_OK : STORE_FENCED;
	}
	if (postgres_begin(st) != 0)
		return STORE_ERROR;
	r = postgres_run(st, PG_LEASE_ASKED, &p);
	enum store_status rc = r == NULL ? STORE_ERROR : PQntuples(r) == 1 ? STORE_OK :
	    STORE_FENCED;
	if (rc == STORE_OK)
		*asked = json_loads(pg_col_text(r, 0, 0), 0, NULL);
	PQclear(r);
	if (rc == STORE_OK && (postgres_exec(st, PG_LEASE_CLEAR, &p) < 0 ||
	    postgres_commit(st) != 0))
		rc = STORE_ERROR;
	if (rc != STORE_OK) {
		json_decref(*asked);
		*asked = NULL;
		return postgres_fail(st, rc);
	}
	return STORE_OK;
}

enum store_status
postgres_lease_keep(struct postgres_store *st, const struct lease *l, json_t *state,
    bool *asked)
{
	struct pg_params p;
	postgres_lease_params(&p, l);
	char *text = json_dumps(state, JSON_COMPACT);
	pg_text(&p, text);
	PGresult *r = postgres_run(st, PG_LEASE_KEEP, &p);
	free(text);
	if (r == NULL)
		return STORE_ERROR;
	bool kept = PQntuples(r) == 1;
	*asked = kept && strcmp(pg_col_text(r, 0, 0), "t") == 0;
	PQclear(r);
	return kept ? STORE_OK : STORE_FENCED;
}

enum store_status
postgres_lease_end(struct postgres_store *st, const struct lease *l)
{
	struct pg_params p;
	postgres_lease_params(&p, l);
	long ended = postgres_exec(st, PG_LEASE_END, &p);
	if (ended != 0)
		return ended < 0 ? STORE_ERROR : STORE_OK;
	PGresult *r = postgres_run(st, PG_LEASE_PEEK, &p);	/* asked, or no longer ours? */
	bool asked = r != NULL && PQntuples(r) == 1 && strcmp(pg_col_text(r, 0, 0), "t") == 0;
	PQclear(r);
	return asked ? STORE_CONFLICT : STORE_FENCED;
}

static json_t *
row_lapsed(struct postgres_store *st, PGresult *r, int row)
{
	(void)st;
	json_t *state = json_loads(pg_col_text(r, row, 2), 0, NULL);
	return json_pack("{s:s, s:s, s:o}", "chat_id", pg_col_text(r, row, 0), "node",
	    pg_col_text(r, row, 1), "state", state ? state : json_object());
}

json_t *
postgres_leases_lapsed(struct postgres_store *st)
{
	return postgres_collect(st, PG_LEASE_LAPSED, NULL, row_lapsed);
}

static json_t *
row_turn(struct postgres_store *st, PGresult *r, int row)
{
	(void)st;
	return json_loads(pg_col_text(r, row, 0), 0, NULL);
}

enum store_status
postgres_lease_turn(struct postgres_store *st, const char *chat_id, json_t **turn)
{
	struct pg_params p = { .n = 0 };
	pg_text(&p, chat_id);
	return postgres_one(st, PG_LEASE_TURN, &p, row_turn, turn);
}
