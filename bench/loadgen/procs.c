/*
 * procs.c - the parent's side of the subscriber processes, for main.c: forks
 * --procs of them (each runs sub.c's child_main with a pipe either way),
 * sends them commands, and gathers their ready and result messages
 * (loadgen.h), summing the results.
 */
#define _GNU_SOURCE
#include "loadgen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int	*to_child;
static int	*from_child;
static pid_t	*kids;

void
procs_start(void)
{
	to_child = xcalloc((size_t)O.procs + 1, sizeof(int));
	from_child = xcalloc((size_t)O.procs + 1, sizeof(int));
	kids = xcalloc((size_t)O.procs + 1, sizeof(pid_t));
	fflush(stdout);
	for (int k = 0; k < O.procs; k++) {
		int a[2], b[2];
		if (pipe2(a, O_CLOEXEC) != 0 || pipe2(b, O_CLOEXEC) != 0)
			die("pipe: %s", strerror(errno));
		pid_t pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			for (int j = 0; j < k; j++) {
				close(to_child[j]);
				close(from_child[j]);
			}
			close(a[1]);
			close(b[0]);
			child_main(k, a[0], b[1]);
		}
		close(a[0]);
		close(b[1]);
		to_child[k] = a[1];
		from_child[k] = b[0];
		kids[k] = pid;
	}
}

/* Waits until every subscriber is connected or given up. */
void
procs_wait_ready(int *connected, int *failed)
{
	*connected = 0;
	*failed = 0;
	for (int k = 0; k < O.procs; k++) {
		struct ready_msg m;
		if (!read_all(from_child[k], &m, sizeof m) || m.type != MSG_READY)
			die("subscriber process %d died", k);
		*connected += m.connected;
		*failed += m.failed;
	}
}

/* --storm: waits until every stream has the posts so far (or gave up). */
void
procs_wait_synced(int *synced)
{
	*synced = 0;
	for (int k = 0; k < O.procs; k++) {
		struct ready_msg m;
		if (!read_all(from_child[k], &m, sizeof m) || m.type != MSG_SYNCED)
			die("subscriber process %d died", k);
		*synced += m.connected;
	}
}

/* Sends a command ("G", "S", "D", "H" or "Q") to every subscriber process. */
void
procs_tell(const char *cmd)
{
	for (int k = 0; k < O.procs; k++)
		write_all(to_child[k], cmd, 1);
}

static void
result_add(struct result_msg *R, const struct result_msg *r)
{
	R->subscribers += r->subscribers;
	R->connected += r->connected;
	R->connected_end += r->connected_end;
	R->failed += r->failed;
	R->closed_early += r->closed_early;
	R->complete += r->complete;
	R->reconnects += r->reconnects;
	R->deliveries += r->deliveries;
	R->expected += r->expected;
	R->lost += r->lost;
	R->duplicates += r->duplicates;
	R->out_of_order += r->out_of_order;
	R->bad_events += r->bad_events;
	R->tokens += r->tokens;
	R->bot_done += r->bot_done;
	R->deliveries_x += r->deliveries_x;
	R->resumed += r->resumed;
	R->id_gaps += r->id_gaps;
	R->resume_snapshots += r->resume_snapshots;
	if (r->last_live_ns > R->last_live_ns)
		R->last_live_ns = r->last_live_ns;
	if (r->last_reopen_ns > R->last_reopen_ns)
		R->last_reopen_ns = r->last_reopen_ns;
	if (r->first_delivery_ns && (!R->first_delivery_ns || r->first_delivery_ns < R->first_delivery_ns))
		R->first_delivery_ns = r->first_delivery_ns;
	if (r->last_delivery_ns > R->last_delivery_ns)
		R->last_delivery_ns = r->last_delivery_ns;
	if (r->last_token_ns > R->last_token_ns)
		R->last_token_ns = r->last_token_ns;
	h_merge(&R->lat, &r->lat);
	h_merge(&R->tok, &r->tok);
	h_merge(&R->lat_x, &r->lat_x);
	h_merge(&R->reopen, &r->reopen);
	h_merge(&R->relive, &r->relive);
}

/* Reads every process's result into sum (zeroed by the caller). */
void
procs_collect(struct result_msg *sum)
{
	struct result_msg *r = xcalloc(1, sizeof *r);
	for (int k = 0; k < O.procs; k++) {
		if (!read_all(from_child[k], r, sizeof *r) || r->type != MSG_RESULT)
			die("subscriber process %d died", k);
		result_add(sum, r);
	}
	free(r);
}

/* Lets the processes close their connections and waits for them. */
void
procs_quit(void)
{
	procs_tell("Q");
	for (int k = 0; k < O.procs; k++)
		waitpid(kids[k], NULL, 0);
}
