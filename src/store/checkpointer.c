/*
 * checkpointer.c - copies SQLite's write-ahead log back into the database
 * file on a thread of its own, so the loop that commits never waits for a
 * checkpoint's reads, writes and fsyncs (before, every ~200 posts one commit
 * stalled for milliseconds). Commits on the store's connection call a WAL
 * hook (which replaces SQLite's automatic checkpoint); once the log holds
 * CHECKPOINT_PAGES pages it wakes the thread, and again each time the log
 * has grown by CHECKPOINT_STEP pages (not on every commit: each round costs
 * two fsyncs, and back-to-back rounds of a few pages cost seven times more of
 * them). The thread runs a PASSIVE checkpoint on its own connection: it never
 * blocks the writer, and the writer rewinds the log once everything in it has
 * been copied. Under a steady stream of commits the thread never quite
 * catches up (each round copies what was committed before it began), so when
 * the log reaches CHECKPOINT_CATCH_UP pages the committing thread copies what
 * is left itself (at most a step's worth), and the log starts over.
 * Durability is the commit's business (the log), not the checkpoint's.
 * Started and stopped by sqlite.c.
 */
#include "store/checkpointer.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECKPOINT_PAGES 2000		/* wake the thread: 8 MiB of log */
#define CHECKPOINT_STEP 256		/* and again each time the log grew this much */
#define CHECKPOINT_CATCH_UP (8 * CHECKPOINT_PAGES)

struct checkpointer {
	sqlite3		*db;		/* the thread's own connection */
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;
	bool		 wanted;	/* a commit asked for a checkpoint */
	bool		 stopping;
	int		 asked_at;	/* log pages when a commit last asked (its thread) */
};

/* SQLITE_BUSY: another checkpoint is under way; a later one does the rest. */
static void
checkpoint(sqlite3 *db)
{
	int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_error("database: checkpoint: %s", sqlite3_errmsg(db));
}

static int
on_commit(void *arg, sqlite3 *db, const char *schema, int log_pages)
{
	struct checkpointer *cp = arg;
	(void)schema;
	if (log_pages < cp->asked_at)
		cp->asked_at = 0;	/* the log started over */
	if (log_pages < CHECKPOINT_PAGES || log_pages < cp->asked_at + CHECKPOINT_STEP)
		return SQLITE_OK;
	if (log_pages >= CHECKPOINT_CATCH_UP) {
		checkpoint(db);
		return SQLITE_OK;
	}
	cp->asked_at = log_pages;
	pthread_mutex_lock(&cp->lock);
	if (!cp->wanted) {
		cp->wanted = true;
		pthread_cond_signal(&cp->wake);
	}
	pthread_mutex_unlock(&cp->lock);
	return SQLITE_OK;
}

static void *
run(void *arg)
{
	struct checkpointer *cp = arg;
	pthread_mutex_lock(&cp->lock);
	for (;;) {
		while (!cp->wanted && !cp->stopping)
			pthread_cond_wait(&cp->wake, &cp->lock);
		if (cp->stopping)
			break;
		cp->wanted = false;
		pthread_mutex_unlock(&cp->lock);
		checkpoint(cp->db);
		pthread_mutex_lock(&cp->lock);
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

struct checkpointer *
checkpointer_start(sqlite3 *writer, const char *path, bool sync_full, char **err)
{
	struct checkpointer *cp = xcalloc(1, sizeof *cp);
	const char *failed = NULL;
	if (sqlite3_open_v2(path, &cp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK ||
	    sqlite3_exec(cp->db, SQLITE_SYNC_PRAGMA(sync_full), NULL, NULL, NULL) != SQLITE_OK)
		failed = cp->db ? sqlite3_errmsg(cp->db) : "out of memory";
	pthread_mutex_init(&cp->lock, NULL);
	pthread_cond_init(&cp->wake, NULL);
	if (failed == NULL && pthread_create(&cp->thread, NULL, run, cp) != 0)
		failed = "cannot start its thread";
	if (failed != NULL) {
		if (asprintf(err, "checkpoint connection: %s", failed) < 0)
			*err = NULL;
		pthread_cond_destroy(&cp->wake);
		pthread_mutex_destroy(&cp->lock);
		sqlite3_close(cp->db);
		free(cp);
		return NULL;
	}
	sqlite3_wal_hook(writer, on_commit, cp);
	return cp;
}

void
checkpointer_stop(struct checkpointer *cp, sqlite3 *writer)
{
	if (cp == NULL)
		return;
	sqlite3_wal_hook(writer, NULL, NULL);
	pthread_mutex_lock(&cp->lock);
	cp->stopping = true;
	pthread_cond_signal(&cp->wake);
	pthread_mutex_unlock(&cp->lock);
	pthread_join(cp->thread, NULL);
	pthread_cond_destroy(&cp->wake);
	pthread_mutex_destroy(&cp->lock);
	sqlite3_close(cp->db);
	free(cp);
}
