/*
 * checkpointer.h - the SQLite store's background checkpoint thread (see
 * checkpointer.c). Used by sqlite.c only.
 */
#ifndef PARLEY_STORE_CHECKPOINTER_H
#define PARLEY_STORE_CHECKPOINTER_H
#include <sqlite3.h>
#include <stdbool.h>

/* The synchronous setting of both connections (--sync full or normal). */
#define SQLITE_SYNC_PRAGMA(full) ((full) ? "PRAGMA synchronous = FULL" : \
	"PRAGMA synchronous = NORMAL")

struct checkpointer;

/*
 * Opens a second connection to the WAL-mode database at path and a thread that
 * checkpoints it whenever commits on writer have grown the log enough (writer's
 * WAL hook, which also turns off SQLite's checkpoints on commit). NULL and *err
 * (free it) on failure.
 */
struct checkpointer *checkpointer_start(sqlite3 *writer, const char *path,
		    bool sync_full, char **err);
/* Stops the thread (a checkpoint under way finishes first); NULL is a no-op. */
void		 checkpointer_stop(struct checkpointer *cp, sqlite3 *writer);

#endif
