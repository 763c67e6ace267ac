/*
 * metrics.c - counters behind GET /metrics; see metrics.h.
 */
#include "metrics.h"
#include "util/buf.h"

#include <stdatomic.h>
#include <string.h>

#define STATUS_MIN 100
#define STATUS_MAX 599

static _Atomic int64_t values[METRIC_COUNT];
static _Atomic uint64_t http_by_status[STATUS_MAX - STATUS_MIN + 1];
static const char *const reply_states[] = { "complete", "failed", "stopped" };
static _Atomic uint64_t replies_by_state[3];
static char node_name[64] = "parley";	/* set once at start */

static const struct {
	const char *name, *type, *help;
} info[METRIC_COUNT] = {
	[METRIC_SSE_SUBSCRIBERS] = { "parley_sse_subscribers", "gauge",
	    "Open event streams." },
	[METRIC_EVENTS_PUBLISHED] = { "parley_events_published_total", "counter",
	    "Events published to chats." },
	[METRIC_SSE_FRAMES_SENT] = { "parley_sse_frames_sent_total", "counter",
	    "SSE frames queued to subscribers." },
	[METRIC_SSE_DROPPED_SLOW] = { "parley_sse_dropped_slow_total", "counter",
	    "Subscribers cut off because they did not read." },
	[METRIC_POSTS_COMMITTED] = { "parley_posts_committed_total", "counter",
	    "People's messages made durable (posts arriving together share a commit)." },
	[METRIC_POST_COMMITS] = { "parley_post_commits_total", "counter",
	    "Commits of people's messages." },
	[METRIC_DB_RECONNECTS] = { "parley_db_reconnects_total", "counter",
	    "Connections to PostgreSQL made again after one was lost." },
	[METRIC_DB_LOOP_WAITS] = { "parley_db_loop_waits_total", "counter",
	    "Round trips to PostgreSQL the event loop waited for (outside a fiber: start-up, shutdown)." },
	[METRIC_GAP_REPAIRS] = { "parley_gap_repairs_total", "counter",
	    "Times a chat's events arrived with ids missing and the missing ones were read from the database." },
	[METRIC_RESYNCS] = { "parley_resyncs_total", "counter",
	    "Times a chat's streams were closed to reconnect because missing events could not be read." },
	[METRIC_DUPLICATES_DROPPED] = { "parley_duplicates_dropped_total", "counter",
	    "Events heard again (already delivered) and dropped." },
	[METRIC_BUS_CONNECTED] = { "parley_bus_connected", "gauge",
	    "1 while this node publishes to and hears from Redis (with --redis)." },
	[METRIC_BUS_RECONNECTS] = { "parley_bus_reconnects_total", "counter",
	    "Connections to Redis made again after one was lost." },
	[METRIC_BUS_PUBLISHED] = { "parley_bus_published_total", "counter",
	    "Events sent to the other nodes through Redis." },
	[METRIC_BUS_RECEIVED] = { "parley_bus_received_total", "counter",
	    "Events heard from the other nodes through Redis." },
	[METRIC_LEASE_TAKEOVERS] = { "parley_lease_takeovers_total", "counter",
	    "Chats whose turn flow this node took over from a node that stopped keeping its lease." },
	[METRIC_BUS_LAG_MS] = { "parley_bus_lag_ms", "gauge",
	    "Milliseconds the last event heard from another node took from its publish (clocks of the nodes)." },
};

void
metrics_add(enum metric m, int64_t delta)
{
	atomic_fetch_add_explicit(&values[m], delta, memory_order_relaxed);
}

void
metrics_count_http(int status)
{
	if (status >= STATUS_MIN && status <= STATUS_MAX)
		atomic_fetch_add_explicit(&http_by_status[status - STATUS_MIN], 1,
		    memory_order_relaxed);
}

void
metrics_count_reply(const char *state)
{
	for (size_t i = 0; i < 3; i++)
		if (strcmp(state, reply_states[i]) == 0)
			atomic_fetch_add_explicit(&replies_by_state[i], 1, memory_order_relaxed);
}

void
metrics_render(struct buf *out)
{
	for (int m = 0; m < METRIC_COUNT; m++) {
		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n",
		    info[m].name, info[m].help, info[m].name, info[m].type,
		    info[m].name, (long long)atomic_load(&values[m]));
	}
	buf_adds(out, "# HELP parley_http_requests_total HTTP responses by status code.\n"
	    "# TYPE parley_http_requests_total counter\n");
	for (int s = STATUS_MIN; s <= STATUS_MAX; s++) {
		uint64_t n = atomic_load(&http_by_status[s - STATUS_MIN]);
		if (n > 0)
			buf_printf(out, "parley_http_requests_total{code=\"%d\"} %llu\n",
			    s, (unsigned long long)n);
	}
	buf_adds(out, "# HELP parley_bot_replies_total Bot replies by how they ended.\n"
	    "# TYPE parley_bot_replies_total counter\n");
	for (size_t i = 0; i < 3; i++)
		buf_printf(out, "parley_bot_replies_total{state=\"%s\"} %llu\n", reply_states[i],
		    (unsigned long long)atomic_load(&replies_by_state[i]));
	buf_printf(out, "# HELP parley_node_info This node's name (--node).\n"
	    "# TYPE parley_node_info gauge\nparley_node_info{node=\"%s\"} 1\n", node_name);
}

void
metrics_set_node(const char *node)
{
	size_t i;
	for (i = 0; node[i] != '\0' && i < sizeof node_name - 1; i++)
		node_name[i] = strchr("\"\\\n", node[i]) ? '_' : node[i];	/* a label value */
	node_name[i] = '\0';
}
