/*
 * storm.c - --storm, a reconnect storm (main.c calls storm_run, then
 * storm_print): every stream is opened on one server (--port) and gets
 * --posts posts there; that server is then killed (SIGKILL) under them, and
 * each stream, seeing its connection close, reopens after a random delay on
 * its --resume-port with Last-Event-ID, as EventSource would (sub.c), while
 * --storm-posts more posts per chat go to the --resume-port servers.
 * Measured: the time from the kill until every stream has every post (those
 * after the kill included), each event id once and in order; and the CPU of
 * the servers the streams resume on (--server-pid), from the kill on, per
 * resumed stream.
 */
#define _GNU_SOURCE
#include "loadgen.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

void
storm_run(struct run *run)
{
	int connected, failed, synced;
	run->s0 = server_sample();
	run->t_start = now_ns();
	procs_start();
	procs_wait_ready(&connected, &failed);	/* every stream open on --port */
	run->t_ready = now_ns();
	logv("%d of %d streams open (%d failed) in %.2f s", connected, run->total, failed,
	    (double)(run->t_ready - run->t_start) / 1e9);

	procs_tell("G");
	run->pre = publish(0, O.posts, &O.port, 1);
	procs_tell("S");
	procs_wait_synced(&synced);		/* each has seen the posts so far */
	logv("%d streams have the %d posts before the kill", synced, run->pre.acked);

	run->s1 = server_sample();
	run->t_kill = now_ns();
	if (kill(O.kill_pid, SIGKILL) != 0)
		die("kill %d: %s", (int)O.kill_pid, strerror(errno));
	run->pub = publish(O.posts, plan_posts(), O.resume_ports, O.nresume_ports);
	run->t_pub_end = now_ns();
	logv("%d posts after the kill acknowledged, %d errors, in %.2f s", run->pub.acked,
	    run->pub.errors, (double)(run->t_pub_end - run->t_kill) / 1e9);
	procs_tell("D");
	procs_collect(&run->R);			/* every stream live again, or the drain timeout */
	run->s2 = server_sample();
	run->t_end = now_ns();
	procs_quit();
}

/* A histogram's p50, p90, p99 and max as name_p50_ms ... */
static void
print_hist(FILE *f, const char *name, const struct hist *h)
{
	char k[64];
	static const double pct[] = { 0.50, 0.90, 0.99 };
	static const char *const pname[] = { "p50", "p90", "p99" };
	for (int i = 0; i < 3; i++) {
		snprintf(k, sizeof k, "%s_%s_ms", name, pname[i]);
		json_num(f, k, h_pct_ms(h, pct[i]), 3);
	}
	snprintf(k, sizeof k, "%s_max_ms", name);
	json_num(f, k, (double)h->max_ns / 1e6, 3);
}

/* The storm's JSON line (its fields: bench/README.md). */
void
storm_print(FILE *f, const struct run *run)
{
	const struct result_msg *R = &run->R;
	double cpu = run->s2.cpu_s - run->s1.cpu_s;
	fprintf(f, "{\"target\":\"parley\",\"scenario\":\"%s\"", O.scenario);
	fprintf(f, ",\"subscribers\":%d,\"connected\":%d,\"failed\":%d", run->total, R->connected,
	    R->failed);
	fprintf(f, ",\"posts_before\":%d,\"posts\":%d,\"post_errors\":%d", run->pre.acked,
	    run->pub.acked, run->pre.errors + run->pub.errors);
	fprintf(f, ",\"resumed\":%d,\"live\":%d,\"reconnects\":%d,\"connected_end\":%d", R->resumed,
	    R->complete, R->reconnects, R->connected_end);
	fprintf(f, ",\"deliveries\":%" PRIu64 ",\"expected_deliveries\":%" PRIu64, R->deliveries,
	    R->expected);
	fprintf(f, ",\"lost\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"out_of_order\":%" PRIu64
	    ",\"id_gaps\":%" PRIu64 ",\"resume_snapshots\":%" PRIu64 ",\"bad_events\":%" PRIu64,
	    R->lost, R->duplicates, R->out_of_order, R->id_gaps, R->resume_snapshots, R->bad_events);
	json_num(f, "all_open_s", R->last_reopen_ns > run->t_kill ?
	    (double)(R->last_reopen_ns - run->t_kill) / 1e9 : 0, 3);
	json_num(f, "all_live_s", R->last_live_ns > run->t_kill ?
	    (double)(R->last_live_ns - run->t_kill) / 1e9 : 0, 3);
	json_num(f, "posts_done_s", (double)(run->t_pub_end - run->t_kill) / 1e9, 3);
	print_hist(f, "relive", &R->relive);
	print_hist(f, "reopen", &R->reopen);
	json_num(f, "server_cpu_s", cpu, 2);
	json_num(f, "cpu_us_per_resume", R->resumed ? cpu * 1e6 / R->resumed : 0, 1);
	if (O.ndb_pids > 0)
		json_num(f, "db_cpu_s", run->s2.db_cpu_s - run->s1.db_cpu_s, 2);
	if (O.nredis_pids > 0)
		json_num(f, "redis_cpu_s", run->s2.redis_cpu_s - run->s1.redis_cpu_s, 2);
	json_num(f, "connect_s", (double)(run->t_ready - run->t_start) / 1e9, 3);
	json_num(f, "publish_s", run->pub.t_first ?
	    (double)(run->t_pub_end - run->pub.t_first) / 1e9 : 0, 3);
	fprintf(f, ",\"server_alive\":%d}\n", run->s2.alive);
	fflush(f);
}
