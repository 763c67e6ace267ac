/*
 * test_store_postgres.c - what only the PostgreSQL store has to show (the
 * HTTP suite runs every behaviour on it too): ids taken inside each
 * transaction, gap-free after a rollback and shared by several servers on one
 * database; a schema newer than the binary refused; a lost connection made
 * again; in a fiber, a round trip waits without holding up its caller, and a
 * call made outside a fiber meanwhile lets the fiber's finish first; the
 * group commit's round trip does not hold the services up, and the posts
 * they queue meanwhile make the next group; a chat deleted while another
 * node writes a reply in it waits for that write (no deadlock); TCP's bounds
 * on a server gone from the network are set unless the URL sets them. Needs the
 * throwaway cluster of scripts/with-postgres.sh (PARLEY_TEST_PG); skipped
 * without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat/events.h"
#include "limits.h"
#include "store/postgres_link.h"
#include "store/store.h"
#include "util/fiber.h"

struct fixture {
	char		 name[64];
	char		 url[512];
	struct store	*st;
};

/* Runs sql on the cluster's admin database; 0 or -1. */
static int
admin(const char *sql)
{
	PGconn *c = PQconnectdb(getenv("PARLEY_TEST_PG"));
	PGresult *r = PQexec(c, sql);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ?
	    0 : -1;
	if (rc != 0)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* The admin URL with another database: postgres://USER@/DB?host=DIR. */
static void
database_url(const char *admin_url, const char *name, char *out, size_t len)
{
	const char *slash = strchr(strstr(admin_url, "://") + 3, '/');
	const char *query = strchr(slash, '?');
	snprintf(out, len, "%.*s/%s%s", (int)(slash - admin_url), admin_url, name,
	    query ? query : "");
}

static int
setup(void **state)
{
	static int made;
	const char *pg = getenv("PARLEY_TEST_PG");
	if (pg == NULL)
		return 0;
	struct fixture *f = calloc(1, sizeof *f);
	char sql[128], *err = NULL;
	snprintf(f->name, sizeof f->name, "unit_%d_%d", (int)getpid(), ++made);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->name);
	assert_int_equal(admin(sql), 0);
	database_url(pg, f->name, f->url, sizeof f->url);
	f->st = store_open(f->url, false, &err);
	assert_non_null(f->st);
	free(err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		return 0;
	char sql[128];
	store_close(f->st);
	snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", f->name);
	admin(sql);
	free(f);
	return 0;
}

static struct store *
store_of(void **state)
{
	if (*state == NULL)
		skip();	/* no PARLEY_TEST_PG: run through scripts/with-postgres.sh */
	return ((struct fixture *)*state)->st;
}

static json_t *
new_chat(struct store *st)
{
	json_t *chat = NULL;
	assert_int_equal(store_chat_create(st, "A", "manual", NULL, NULL, &chat), STORE_OK);
	return chat;
}

static const char *
chat_id(json_t *chat)
{
	return json_string_value(json_object_get(chat, "id"));
}

/* Appends one person's message; its seq (and event id in *event_id). */
static uint64_t
post(struct store *st, const char *chat, const char *body, uint64_t *event_id)
{
	struct message_in in = { .chat_id = chat, .kind = "person", .author = "ann",
	    .body = body, .state = "complete" };
	struct message_added out;
	assert_int_equal(store_messages_add(st, &in, 1, &out), STORE_OK);
	assert_int_equal(out.status, STORE_OK);
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(out.message, "seq"));
	json_decref(out.message);
	*event_id = out.event_id;
	return seq;
}

/* A transaction that failed half-way gives back the ids it took. */
static void
test_rollback_leaves_no_gap(void **state)
{
	struct store *st = store_of(state);
	json_t *chat = new_chat(st);
	uint64_t event_id;
	assert_int_equal(post(st, chat_id(chat), "one", &event_id), 1);
	assert_int_equal(event_id, 1);

	/* the second message breaks a NOT NULL column: the first is rolled back with it */
	struct message_in in[2] = {
		{ .chat_id = chat_id(chat), .kind = "person", .author = "ann", .body = "two",
		  .state = "complete" },
		{ .chat_id = chat_id(chat), .kind = NULL, .author = "ann", .body = "bad",
		  .state = "complete" },
	};
	struct message_added out[2];
	assert_int_equal(store_messages_add(st, in, 2, out), STORE_ERROR);
	assert_int_equal(out[0].status, STORE_ERROR);
	assert_null(out[0].message);

	assert_int_equal(post(st, chat_id(chat), "two", &event_id), 2);
	assert_int_equal(event_id, 2);
	json_t *events = NULL;
	assert_int_equal(store_events_after(st, chat_id(chat), 0, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 2);
	json_decref(events);
	json_decref(chat);
}

/* Two servers on one database take a chat's ids in turn: each once, in order. */
static void
test_two_servers_share_counters(void **state)
{
	struct store *st = store_of(state);
	char *err = NULL;
	struct store *other = store_open(((struct fixture *)*state)->url, false, &err);
	assert_non_null(other);
	json_t *chat = new_chat(st);
	for (uint64_t i = 1; i <= 20; i++) {
		uint64_t event_id;
		assert_int_equal(post(i % 2 ? st : other, chat_id(chat), "hi", &event_id), i);
		assert_int_equal(event_id, i);
	}
	json_t *events = NULL;
	assert_int_equal(store_events_after(other, chat_id(chat), 10, &events), STORE_OK);
	assert_int_equal(json_array_size(events), 10);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(events, 0), "id")), 11);
	json_decref(events);
	json_decref(chat);
	store_close(other);
}

/* Runs sql on the fixture's database; 0 or -1. */
static int
on_db(void **state, const char *sql)
{
	PGconn *c = PQconnectdb(((struct fixture *)*state)->url);
	PGresult *r = PQexec(c, sql);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	PQclear(r);
	PQfinish(c);
	return rc;
}

static struct lease
lease_of(const char *chat, const char *node)
{
	struct lease l = { .fence = 0 };
	snprintf(l.chat_id, sizeof l.chat_id, "%s", chat);
	snprintf(l.node, sizeof l.node, "%s", node);
	return l;
}

/*
 * A chat's turn lease: one node at a time; kept, it keeps its number; once
 * it lapses another node takes it with the next, and from then the first
 * node's fenced writes change nothing (STORE_FENCED), nor can it keep it.
 * What another node asks is kept with the lease until its holder takes it
 * (once); the lease is not given up while something asked waits; a node
 * taking a lapsed lease over gets what its dead holder was not told.
 */
static void
test_turn_lease_fences(void **state)
{
	struct store *a = store_of(state);
	char *err = NULL, holder[LEASE_NODE_MAX];
	struct store *b = store_open(((struct fixture *)*state)->url, false, &err);
	assert_non_null(b);
	json_t *chat = new_chat(a), *saved = json_pack("{s:[]}", "queue"), *was = NULL;
	json_t *ask = json_pack("{s:s}", "do", "stop"), *asked = NULL;
	bool waits = false;
	struct lease la = lease_of(chat_id(chat), "a/1"), lb = lease_of(chat_id(chat), "b/2");
	assert_int_equal(store_lease_take(a, &la, holder, &was, NULL), STORE_OK);
	assert_int_equal(la.fence, 1);
	assert_int_equal(store_lease_take(b, &lb, holder, &was, ask), STORE_CONFLICT);
	assert_string_equal(holder, "a/1");
	assert_int_equal(store_lease_end(a, &la), STORE_CONFLICT);	/* asked: it stays */
	assert_int_equal(store_lease_keep(a, &la, saved, &waits), STORE_OK);
	assert_true(waits);
	assert_int_equal(store_lease_asked(a, &la, &asked), STORE_OK);
	assert_int_equal(json_array_size(asked), 1);
	assert_true(json_equal(json_array_get(asked, 0), ask));
	json_decref(asked);
	assert_int_equal(store_lease_asked(a, &la, &asked), STORE_OK);
	assert_int_equal(json_array_size(asked), 0);	/* taken once */
	json_decref(asked);
	assert_int_equal(store_lease_asked(b, &lb, &asked), STORE_FENCED);	/* not b's */
	assert_int_equal(store_lease_take(b, &lb, holder, &was, ask), STORE_CONFLICT);
	assert_int_equal(store_lease_take(a, &la, holder, &was, NULL), STORE_OK);
	assert_int_equal(la.fence, 1);
	assert_int_equal(store_lease_keep(a, &la, saved, &waits), STORE_OK);
	assert_true(waits);	/* b's second ask, not taken yet */
	uint64_t id;
	store_fence(a, &la);
	assert_int_equal(store_event_append(a, chat_id(chat), "turn", saved, &id), STORE_OK);
	store_fence(a, NULL);
	json_t *lapsed = store_leases_lapsed(b);
	assert_int_equal(json_array_size(lapsed), 0);
	json_decref(lapsed);

	assert_int_equal(on_db(state, "UPDATE turn_leases SET until = now() - interval '1 second'"), 0);
	lapsed = store_leases_lapsed(b);
	assert_int_equal(json_array_size(lapsed), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(lapsed, 0), "node")),
	    "a/1");
	json_decref(lapsed);
	assert_int_equal(store_lease_take(b, &lb, holder, &was, NULL), STORE_OK);
	assert_int_equal(lb.fence, 2);
	assert_string_equal(holder, "a/1");	/* taken from the node that let it lapse */
	assert_true(json_equal(was, saved));	/* with what it kept */
	json_decref(was);
	assert_int_equal(store_lease_asked(a, &la, &asked), STORE_FENCED);
	assert_int_equal(store_lease_asked(b, &lb, &asked), STORE_OK);
	assert_int_equal(json_array_size(asked), 1);	/* what a was not told */
	json_decref(asked);
	store_fence(a, &la);
	assert_int_equal(store_event_append(a, chat_id(chat), "turn", saved, &id), STORE_FENCED);
	assert_int_equal(store_message_save_text(a, chat_id(chat), 1, "x"), STORE_FENCED);
	store_fence(a, NULL);
	assert_int_equal(store_event_append(a, chat_id(chat), "turn", saved, &id), STORE_OK);
	assert_int_equal(id, 2);	/* the fenced write took no id */
	assert_int_equal(store_lease_keep(a, &la, saved, NULL), STORE_FENCED);
	assert_int_equal(store_lease_end(b, &lb), STORE_OK);
	assert_int_equal(store_lease_take(a, &la, holder, &was, NULL), STORE_OK);
	assert_int_equal(la.fence, 3);
	json_decref(saved);
	json_decref(ask);
	json_decref(chat);
	store_close(b);
}

/* Runs sql on the open connection c (a transaction in progress); its status. */
static ExecStatusType
on_conn(PGconn *c, const char *sql, const char *chat)
{
	const char *params[1] = { chat };
	PGresult *r = PQexecParams(c, sql, chat ? 1 : 0, NULL, chat ? params : NULL, NULL, NULL, 0);
	ExecStatusType status = PQresultStatus(r);
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return status;
}

struct deletion {
	struct store		*st;
	const char		*chat;
	enum store_status	 rc;
	bool			 done;
};

static void
delete_in_fiber(void *arg)
{
	struct deletion *d = arg;
	d->rc = store_chat_delete(d->st, d->chat);
	d->done = true;
}

/*
 * A chat deleted while a reply is being written in it on another node (a
 * fenced write: its lease, then a message, then the chat row): the
 * deletion waits for that write, which goes through, then deletes; neither
 * waits for the other until PostgreSQL fails one (a deadlock).
 */
static void
test_chat_delete_waits_for_fenced_write(void **state)
{
	struct store *st = store_of(state);
	char holder[LEASE_NODE_MAX];
	json_t *chat = new_chat(st), *was = NULL;
	uint64_t event_id;
	post(st, chat_id(chat), "hello", &event_id);
	struct lease l = lease_of(chat_id(chat), "b/1");
	assert_int_equal(store_lease_take(st, &l, holder, &was, NULL), STORE_OK);

	PGconn *other = PQconnectdb(((struct fixture *)*state)->url);
	assert_int_equal(PQstatus(other), CONNECTION_OK);
	assert_int_equal(on_conn(other, "BEGIN", NULL), PGRES_COMMAND_OK);
	assert_int_equal(on_conn(other, "SELECT 1 FROM turn_leases WHERE chat_id = $1 FOR SHARE",
	    chat_id(chat)), PGRES_TUPLES_OK);
	assert_int_equal(on_conn(other, "UPDATE messages SET body = 'hello again'"
	    " WHERE chat_id = $1 AND seq = 1", chat_id(chat)), PGRES_COMMAND_OK);

	struct event_base *base = event_base_new();
	fiber_enable(base);
	struct deletion d = { .st = st, .chat = chat_id(chat) };
	fiber_run(delete_in_fiber, &d);
	for (int i = 0; i < 50; i++) {		/* its statements reach the server, which holds them */
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	assert_false(d.done);
	assert_int_equal(on_conn(other, "UPDATE chats SET last_event_id = last_event_id + 1"
	    " WHERE id = $1", chat_id(chat)), PGRES_COMMAND_OK);
	assert_int_equal(on_conn(other, "COMMIT", NULL), PGRES_COMMAND_OK);
	while (!d.done)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(d.rc, STORE_OK);
	json_t *gone = NULL;
	assert_int_equal(store_chat_get(st, chat_id(chat), &gone), STORE_NOT_FOUND);
	PQfinish(other);
	fiber_disable();
	event_base_free(base);
	json_decref(chat);
}

struct fiber_post {
	struct store	*st;
	const char	*chat;
	uint64_t	 seq;
	bool		 done;
};

static void
post_in_fiber(void *arg)
{
	struct fiber_post *fp = arg;
	uint64_t event_id;
	fp->seq = post(fp->st, fp->chat, "from a fiber", &event_id);
	fp->done = true;
}

/* A fiber's post waits for its round trips; a post on the spot comes after it. */
static void
test_fiber_waits_in_turn(void **state)
{
	struct store *st = store_of(state);
	json_t *chat = new_chat(st);
	struct event_base *base = event_base_new();
	fiber_enable(base);
	struct fiber_post fp = { .st = st, .chat = chat_id(chat) };
	fiber_run(post_in_fiber, &fp);
	assert_false(fp.done);		/* it waits for the database; its caller goes on */
	assert_int_equal(fiber_count(), 1);
	uint64_t event_id;
	assert_int_equal(post(st, chat_id(chat), "on the spot", &event_id), 2);
	assert_true(fp.done);
	assert_int_equal(fp.seq, 1);
	assert_int_equal(fiber_count(), 0);
	fiber_disable();
	event_base_free(base);
	json_decref(chat);
}

/* What the group commit published, in order ("ID BODY"). */
struct published {
	char	 lines[8][64];
	int	 n;
};

static void
record_publish(void *impl, const char *chat_id, uint64_t id, const char *name, json_t *data)
{
	struct published *p = impl;
	(void)chat_id;
	(void)name;
	snprintf(p->lines[p->n++], sizeof p->lines[0], "%llu %s", (unsigned long long)id,
	    json_string_value(json_object_get(data, "body")));
}

static bool
no_lists(void *impl)
{
	(void)impl;
	return false;
}

static const struct bus_ops recording_bus = { .publish = record_publish,
    .lists_heard = no_lists };

struct poster {
	bool		 answered;
	json_int_t	 seq;
	int		 published_then;	/* what had been published when answered */
	struct published *pub;
};

static void
answered(void *arg, json_t *message, enum store_status status)
{
	struct poster *p = arg;
	assert_int_equal(status, STORE_OK);
	p->answered = true;
	p->seq = json_integer_value(json_object_get(message, "seq"));
	p->published_then = p->pub->n;
}

static struct message_in
person(const char *chat, const char *body)
{
	return (struct message_in){ .chat_id = chat, .kind = "person", .author = "ann",
	    .body = body, .state = "complete" };
}

/* A service (serial fiber) that posts while the first group is being stored. */
struct service {
	struct events	*events;
	const char	*chat;
	struct poster	*poster;
	bool		 ran;
};

static void
service_posts(void *arg)
{
	struct service *s = arg;
	struct message_in in = person(s->chat, "second");
	events_post(s->events, &in, answered, s->poster);
	s->ran = true;
}

/*
 * While a group's round trip is out, the services go on: a serial fiber
 * runs at once, and its post makes the next group, published (and
 * answered) after the first.
 */
static void
test_group_commit_lets_services_go_on(void **state)
{
	struct store *st = store_of(state);
	json_t *chat = new_chat(st);
	struct event_base *base = event_base_new();
	fiber_enable(base);
	struct published pub = { .n = 0 };
	struct events *ev = events_new(base, st, (struct bus){ &recording_bus, &pub });
	struct poster first = { .pub = &pub }, second = { .pub = &pub };
	struct message_in in = person(chat_id(chat), "first");
	events_post(ev, &in, answered, &first);
	event_base_loop(base, EVLOOP_NONBLOCK);	/* the loop iteration ends: its group goes out */
	assert_false(first.answered);
	assert_int_equal(fiber_count(), 1);	/* the committer waits for PostgreSQL */
	struct service s = { ev, chat_id(chat), &second, false };
	fiber_run_serial(service_posts, &s);
	assert_true(s.ran);			/* not held up behind the commit */
	while (!second.answered)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(pub.n, 2);
	assert_string_equal(pub.lines[0], "1 first");
	assert_string_equal(pub.lines[1], "2 second");
	assert_true(first.answered);
	assert_int_equal(first.seq, 1);
	assert_int_equal(first.published_then, 1);	/* its own group only */
	assert_int_equal(second.seq, 2);
	assert_int_equal(second.published_then, 2);
	events_free(ev);
	assert_int_equal(fiber_count(), 0);
	fiber_disable();
	event_base_free(base);
	json_decref(chat);
}

/* A database a newer Parley migrated is refused, with a message saying so. */
static void
test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	store_of(state);
	char *err = NULL;
	PGconn *c = PQconnectdb(f->url);
	PQclear(PQexec(c, "INSERT INTO parley_schema VALUES (99)"));
	PQfinish(c);
	struct store *st = store_open(f->url, false, &err);
	assert_null(st);
	assert_non_null(err);
	assert_non_null(strstr(err, "newer than this Parley"));
	free(err);
}

/*
 * A connection the server ended is made again, off the caller's thread:
 * calls fail (unreachable) until it is; what failed meanwhile was not stored.
 */
/* The value of option key of conn's connection settings, or "". */
static const char *
setting(PGconn *conn, const char *key, char *out, size_t len)
{
	PQconninfoOption *opts = PQconninfo(conn);
	snprintf(out, len, "%s", "");
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0 && o->val != NULL)
			snprintf(out, len, "%s", o->val);
	PQconninfoFree(opts);
	return out;
}

/*
 * A server gone from the network is noticed: TCP's bounds, unless the URL
 * gives its own; one that hangs: the statement bound plus a grace, or none.
 */
static void
test_connection_bounds(void **state)
{
	struct fixture *f = *state;
	char url[600], v[32];
	unsigned answer_ms;
	PGconn *conn = pg_link_connect(f->url, &answer_ms);
	assert_int_equal(PQstatus(conn), CONNECTION_OK);
	assert_int_equal(answer_ms, LIMIT_DB_STATEMENT_MS + LIMIT_DB_ANSWER_GRACE_MS);
	assert_string_equal(setting(conn, "tcp_user_timeout", v, sizeof v), "15000");
	assert_string_equal(setting(conn, "keepalives_idle", v, sizeof v), "10");
	assert_string_equal(setting(conn, "keepalives_interval", v, sizeof v), "5");
	assert_string_equal(setting(conn, "keepalives_count", v, sizeof v), "3");
	assert_string_equal(setting(conn, "connect_timeout", v, sizeof v), "5");
	assert_string_equal(PQparameterStatus(conn, "client_encoding"), "UTF8");
	PGresult *r = PQexec(conn, "SHOW idle_in_transaction_session_timeout");
	assert_string_equal(PQgetvalue(r, 0, 0), "5s");	/* a frozen node's locks are let go */
	PQclear(r);
	PQfinish(conn);
	snprintf(url, sizeof url, "%s%ctcp_user_timeout=2000&keepalives_idle=60"
	    "&options=-c%%20statement_timeout%%3D1500", f->url, strchr(f->url, '?') ? '&' : '?');
	conn = pg_link_connect(url, &answer_ms);
	assert_int_equal(PQstatus(conn), CONNECTION_OK);
	assert_string_equal(setting(conn, "tcp_user_timeout", v, sizeof v), "2000");
	assert_string_equal(setting(conn, "keepalives_idle", v, sizeof v), "60");
	assert_int_equal(answer_ms, 1500 + LIMIT_DB_ANSWER_GRACE_MS);
	PQfinish(conn);
	snprintf(url, sizeof url, "%s%coptions=-c%%20statement_timeout%%3D0&client_encoding=LATIN1",
	    f->url, strchr(f->url, '?') ? '&' : '?');
	conn = pg_link_connect(url, &answer_ms);
	assert_int_equal(PQstatus(conn), CONNECTION_OK);
	assert_int_equal(answer_ms, 0);
	assert_string_equal(PQparameterStatus(conn, "client_encoding"), "UTF8");	/* whatever the URL says */
	PQfinish(conn);
}

/* A database that is not UTF-8 is refused at start, saying what it needs. */
static void
test_encoding_refused(void **state)
{
	struct fixture *f = *state;
	(void)store_of(state);
	char sql[256], name[80], url[600], *err = NULL;
	snprintf(name, sizeof name, "%s_ascii", f->name);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s ENCODING 'SQL_ASCII' TEMPLATE template0"
	    " LC_COLLATE 'C' LC_CTYPE 'C'", name);
	assert_int_equal(admin(sql), 0);
	database_url(getenv("PARLEY_TEST_PG"), name, url, sizeof url);
	assert_null(store_open(url, false, &err));
	assert_non_null(err);
	assert_non_null(strstr(err, "encoding is SQL_ASCII; Parley needs UTF8"));
	free(err);
	snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", name);
	assert_int_equal(admin(sql), 0);
}

static void
test_reconnects(void **state)
{
	struct fixture *f = *state;
	struct store *st = store_of(state);
	json_t *chat = new_chat(st);
	uint64_t event_id;
	post(st, chat_id(chat), "before", &event_id);
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	    " WHERE datname = '%s' AND pid <> pg_backend_pid()", f->name);
	assert_int_equal(admin(sql), 0);

	struct message_in in = { .chat_id = chat_id(chat), .kind = "person", .author = "ann",
	    .body = "after", .state = "complete" };
	struct message_added out;
	int failures = 0;
	while (store_messages_add(st, &in, 1, &out) != STORE_OK) {
		assert_true(store_unreachable(st));
		assert_true(++failures < 100);	/* connected again within 5 s */
		usleep(50 * 1000);
	}
	assert_true(failures > 0);	/* the lost connection was met */
	assert_false(store_unreachable(st));
	assert_int_equal(json_integer_value(json_object_get(out.message, "seq")), 2);
	json_decref(out.message);
	json_decref(chat);
}

/* ---- two servers' groups of posts to the same chats ---- */

struct group_post {
	struct store		*st;
	struct message_in	 in[2];
	struct message_added	 out[2];
	enum store_status	 rc;
	bool			 done;
};

static void
post_group(void *arg)
{
	struct group_post *g = arg;
	g->rc = store_messages_add(g->st, g->in, 2, g->out);
	g->done = true;
}

/* Runs the loop until `count` sessions of the fixture's database wait for a lock (5 s at most). */
static void
until_lock_waiters(struct event_base *base, const char *db, int count)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
	    " AND wait_event_type = 'Lock'", db);
	for (int i = 0; i < 500; i++) {
		PGconn *c = PQconnectdb(getenv("PARLEY_TEST_PG"));
		PGresult *r = PQexec(c, sql);
		int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
		PQclear(r);
		PQfinish(c);
		if (n == count)
			return;
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	fail_msg("%d sessions never waited for a lock", count);
}

/*
 * Two servers each commit a group of posts to chats X and Y, in opposite
 * orders, while a third session holds X: every post is stored, none waits
 * for the other server's group in a cycle (PostgreSQL would fail one group
 * as a deadlock after a second).
 */
static void
test_groups_take_chats_in_one_order(void **state)
{
	struct fixture *f = *state;
	struct store *st = store_of(state);
	char *err = NULL;
	struct store *other = store_open(f->url, false, &err);
	assert_non_null(other);
	json_t *x = new_chat(st), *y = new_chat(st);
	PGconn *holder = PQconnectdb(f->url);
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT 1 FROM chats WHERE id = '%s' FOR UPDATE", chat_id(x));
	PQclear(PQexec(holder, "BEGIN"));
	PQclear(PQexec(holder, sql));
	struct event_base *base = event_base_new();
	fiber_enable(base);
	struct group_post one = { .st = st, .in = { person(chat_id(x), "1x"), person(chat_id(y), "1y") } };
	struct group_post two = { .st = other, .in = { person(chat_id(y), "2y"), person(chat_id(x), "2x") } };
	fiber_run(post_group, &one);
	until_lock_waiters(base, f->name, 1);
	fiber_run(post_group, &two);
	until_lock_waiters(base, f->name, 2);
	PQclear(PQexec(holder, "COMMIT"));
	for (int i = 0; i < 500 && !(one.done && two.done); i++)
		event_base_loop(base, EVLOOP_ONCE);
	for (int k = 0; k < 2; k++) {
		struct group_post *g = k ? &two : &one;
		assert_true(g->done);
		assert_int_equal(g->rc, STORE_OK);
		for (int i = 0; i < 2; i++) {
			assert_int_equal(g->out[i].status, STORE_OK);
			json_decref(g->out[i].message);
		}
	}
	fiber_disable();
	event_base_free(base);
	PQfinish(holder);
	json_decref(x);
	json_decref(y);
	store_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rollback_leaves_no_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_servers_share_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fiber_waits_in_turn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_lets_services_go_on, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_turn_lease_fences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_delete_waits_for_fenced_write, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_groups_take_chats_in_one_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_encoding_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
