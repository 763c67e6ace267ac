/*
 * metrics.h - process-wide counters and gauges, exported by GET /metrics in the
 * Prometheus text format. Every function is safe from any thread (atomics) and
 * cheap enough for the fan-out loop.
 */
#ifndef PARLEY_METRICS_H
#define PARLEY_METRICS_H
#include <stdint.h>

struct buf;

enum metric {
	METRIC_SSE_SUBSCRIBERS,		/* gauge: open event streams */
	METRIC_EVENTS_PUBLISHED,	/* events handed to the hub */
	METRIC_SSE_FRAMES_SENT,		/* frames queued to a subscriber */
	METRIC_SSE_DROPPED_SLOW,	/* subscribers cut off for not reading */
	METRIC_POSTS_COMMITTED,		/* people's messages made durable in groups */
	METRIC_POST_COMMITS,		/* the commits that made them durable */
	METRIC_DB_RECONNECTS,		/* PostgreSQL connections made again after a loss */
	METRIC_DB_LOOP_WAITS,		/* PostgreSQL round trips the event loop waited for */
	METRIC_GAP_REPAIRS,		/* chats whose missing event ids were read from the store */
	METRIC_RESYNCS,			/* chats whose streams had to reconnect to catch up */
	METRIC_DUPLICATES_DROPPED,	/* durable events heard again and not delivered */
	METRIC_BUS_CONNECTED,		/* gauge: 1 while this node hears the other nodes */
	METRIC_BUS_RECONNECTS,		/* connections to Redis made again after a loss */
	METRIC_BUS_PUBLISHED,		/* events sent to the other nodes */
	METRIC_BUS_RECEIVED,		/* events heard from the other nodes */
	METRIC_BUS_LAG_MS,		/* gauge: milliseconds the last one took to arrive */
	METRIC_LEASE_TAKEOVERS,		/* chats whose turns this node took over from a lost node */
	METRIC_COUNT
};

void	 metrics_add(enum metric m, int64_t delta);
void	 metrics_count_http(int status);
/* A bot reply ended: state is "complete", "failed" or "stopped". */
void	 metrics_count_reply(const char *state);
/* The node's name, shown as parley_node_info{node="…"} (at start, before any render). */
void	 metrics_set_node(const char *node);
/* Appends the whole exposition to out. */
void	 metrics_render(struct buf *out);

#endif
