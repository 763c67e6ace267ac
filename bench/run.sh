#!/usr/bin/env bash
# Parley vs nginx+nchan SSE fan-out benchmark, and what Parley's accounts cost.
# Run through `make bench` (which builds build/parley and build/bench/loadgen
# first), or directly once both exist.
#
#   bench/run.sh          every scenario, RUNS runs each, both servers alternating
#   bench/run.sh deps     only install the missing Debian packages (nginx, nchan, wrk, curl,
#                         postgresql, redis-server)
#   bench/run.sh summary [FILE]   print the tables for a results file again
#   SCENARIOS=storm RESULTS=build/bench/storm.jsonl bench/run.sh   the reconnect storm
#                         (make bench-storm; bench/cluster.sh)
#
# Environment: RUNS (default 3), SCENARIOS (default "S1 S1r S2 S3 S4 S4acc S5 C2 C2r page
# post hash"; hash: build/bench/password_cost, one Argon2id hash; C2 and C2r (at a fixed
# rate): two servers on one Redis, bench/cluster.sh; storm, not in the default: a node
# killed under 10,000 streams), PARLEY, the server binary to measure (default
# build/parley; a copy is run),
# FLOORS, the variants of bench/floor.c run in S4 as yardsticks (default "floor
# floor-sqlite floor-sqlite-group"; empty for none),
# S4_PG, 1 (default) to run S4 on PostgreSQL too (target parley-pg, a throwaway
# cluster: bench/pg.sh), 0 not to; PG_BINDIR (the newest /usr/lib/postgresql/*/bin),
# S4_PUBLISHERS, S4's closed-loop publishers (8; more only to see what bounds it),
# NCHAN_WORKERS, nginx's worker_processes (default auto: one per core),
# PARLEY_PORT (18080), NCHAN_PORT (18081), FLOOR_PORT (18082), REDIS_PORT (18083),
# NODE2_PORT (18084), NODE3_PORT (18085), NCHAN_PORT2 (18086), SETTLE seconds between
# runs (1.5), HOLD seconds for S3 (10), S3_SUBS (19500), PAGE_SECONDS for wrk (10),
# POST_SECONDS for wrk (10), C2_PARLEY_REDIS (unix: Parley's nodes reach Redis by its
# unix socket; tcp: by 127.0.0.1:REDIS_PORT, as nchan), C2_LOAD (C2's loadgen flags),
# C2R_RATE (500 posts/s) and C2R_POSTS (5000) for C2r, STORM_CHATS (1000), STORM_SUBS
# (10 per chat), STORM_BEFORE (2 posts per chat before the kill), STORM_DELAY (1 s, the
# longest wait before a stream resumes), RESULTS (build/bench/results.jsonl), SUMMARY
# (build/bench/summary.txt).
# Targets: parley (--auth none), parley-pg (the same on PostgreSQL, in S4), nchan,
# the floors, and parley-accounts (--auth accounts: every request signed in;
# scenarios S4acc, page and post run parley and parley-accounts alternately); in C2
# parley is two nodes on PostgreSQL and Redis, nchan two nginx on Redis; in storm,
# parley-cluster (three nodes on Redis) and parley-single (a lone node) alternate.
# Output: one JSON line per run in build/bench/results.jsonl, a table of medians
# and Parley/nchan ratios and one of accounts/none ratios on stdout (also
# build/bench/summary.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS:-"S1 S1r S2 S3 S4 S4acc S5 C2 C2r page post hash"}
FLOORS=${FLOORS-"floor floor-sqlite floor-sqlite-group"}
S4_PG=${S4_PG:-1}
PARLEY_PORT=${PARLEY_PORT:-18080}
FLOOR_PORT=${FLOOR_PORT:-18082}
NCHAN_WORKERS=${NCHAN_WORKERS:-auto}
NCHAN_PORT=${NCHAN_PORT:-18081}
NCHAN_PORT2=${NCHAN_PORT2:-18086}
NODE2_PORT=${NODE2_PORT:-18084}
NODE3_PORT=${NODE3_PORT:-18085}
STORM_CHATS=${STORM_CHATS:-1000}
STORM_SUBS=${STORM_SUBS:-10}
STORM_BEFORE=${STORM_BEFORE:-2}
STORM_DELAY=${STORM_DELAY:-1}
SETTLE=${SETTLE:-1.5}
HOLD=${HOLD:-10}
S3_SUBS=${S3_SUBS:-19500}
PAGE_SECONDS=${PAGE_SECONDS:-10}
POST_SECONDS=${POST_SECONDS:-10}

OUT=build/bench
LOADGEN=$OUT/loadgen
PARLEY=${PARLEY:-build/parley}
FLOOR=$OUT/floor
NGX_PREFIX=$PWD/$OUT/nginx
RESULTS=${RESULTS:-$OUT/results.jsonl}
SUMMARY=${SUMMARY:-$OUT/summary.txt}
NCHAN_MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so
# parley-accounts: the first administrator, created at start (PARLEY_ADMIN)
BENCH_ADMIN=bench
BENCH_PASSWORD=bench-password-1

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=bench/pg.sh
. bench/pg.sh
# shellcheck source=bench/redis.sh
. bench/redis.sh
# shellcheck source=bench/cluster.sh
. bench/cluster.sh

install_deps() {
	local want=(nginx libnginx-mod-nchan wrk curl postgresql redis-server) missing=() p
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# no recommends: nothing else is started; Debian's nginx and postgresql services
	# are not used (parley-pg runs its own throwaway cluster, bench/pg.sh)
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# summarize FILE: medians per scenario, target and metric, and Parley/nchan ratios
summarize() {
	awk '
	function num(line, key,   m) {
		if (!match(line, "\"" key "\":-?[0-9.]+([eE][-+]?[0-9]+)?")) return ""
		m = substr(line, RSTART, RLENGTH); sub(/^"[^"]*":/, "", m); return m + 0
	}
	function str(line, key,   m) {
		if (!match(line, "\"" key "\":\"[^\"]*\"")) return ""
		m = substr(line, RSTART, RLENGTH); sub(/^"[^"]*":"/, "", m); sub(/"$/, "", m); return m
	}
	function put(s, m, t, v) { if (v != "") vals[s "|" m "|" t] = vals[s "|" m "|" t] " " v }
	function median(list,   a, n, i, j, x) {
		n = split(list, a, " ")
		if (n == 0) return ""
		for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function fmt(v) {
		if (v == "") return "-"
		if (v >= 1000 || v == int(v)) return sprintf("%.0f", v)
		if (v >= 10) return sprintf("%.1f", v)
		return sprintf("%.3f", v)
	}
	{
		t = str($0, "target"); s = str($0, "scenario")
		if (str($0, "error") != "") { failed = failed "\n  " t " " s " run " num($0, "run") ": " str($0, "error"); next }
		if (s == "hash") { put(s, "hash_ms", t, num($0, "hash_ms")); put(s, "verify_ms", t, num($0, "verify_ms")); next }
		if (s == "page" || s == "post") {	# wrk runs
			put(s, "rps", t, num($0, "requests_per_s")); put(s, "non2xx", t, num($0, "non_2xx"))
			put(s, "lat_avg", t, num($0, "lat_avg_ms")); put(s, "lat_p99", t, num($0, "lat_p99_ms"))
			if (num($0, "requests") > 0 && num($0, "server_cpu_s") != "") put(s, "cpu_req", t, num($0, "server_cpu_s") * 1e6 / num($0, "requests"))
			put(s, "errors", t, num($0, "non_2xx") + num($0, "not_201") + num($0, "socket_errors") + num($0, "server_log_errors"))
			next
		}
		if (s == "storm") {	# bench/cluster.sh: resumes after a node was killed
			nres = num($0, "resumed")
			put(s, "live_s", t, num($0, "all_live_s")); put(s, "open_s", t, num($0, "all_open_s"))
			put(s, "posts_s", t, num($0, "posts_done_s"))
			put(s, "relive50", t, num($0, "relive_p50_ms")); put(s, "relive99", t, num($0, "relive_p99_ms"))
			put(s, "reopen50", t, num($0, "reopen_p50_ms")); put(s, "reopen99", t, num($0, "reopen_p99_ms"))
			if (nres > 0) {
				put(s, "cpu_res", t, num($0, "server_cpu_s") * 1e6 / nres)
				put(s, "db_res", t, num($0, "db_cpu_s") * 1e6 / nres)
				if (num($0, "redis_cpu_s") != "") put(s, "redis_res", t, num($0, "redis_cpu_s") * 1e6 / nres)
			}
			put(s, "resumed", t, nres); put(s, "live", t, num($0, "live"))
			put(s, "errors", t, num($0, "lost") + num($0, "duplicates") + num($0, "out_of_order") + \
				num($0, "id_gaps") + num($0, "resume_snapshots") + num($0, "post_errors") + num($0, "failed") + \
				num($0, "connected") - num($0, "live") + num($0, "server_log_errors"))
			next
		}
		d = num($0, "deliveries"); c = num($0, "connected")
		put(s, "connected", t, c)
		put(s, "errors", t, num($0, "lost") + num($0, "out_of_order") + num($0, "duplicates") + num($0, "post_errors") + num($0, "closed_early"))
		if (s == "S3") {
			if (c > 0) put(s, "rss_per_sub", t, (num($0, "server_rss_kb") - num($0, "server_rss_base_kb")) / c)
			if (c > 0) put(s, "pss_per_sub", t, (num($0, "server_pss_kb") - num($0, "server_pss_base_kb")) / c)
			put(s, "connect_s", t, num($0, "connect_s"))
			put(s, "reconnects", t, num($0, "reconnects")); put(s, "logerr", t, num($0, "server_log_errors"))
			next
		}
		put(s, "dps", t, num($0, "deliveries_per_s"))
		if (num($0, "publish_s") > 0) put(s, "pps", t, num($0, "posts") / num($0, "publish_s"))
		put(s, "p50", t, num($0, "lat_p50_ms")); put(s, "p90", t, num($0, "lat_p90_ms")); put(s, "p99", t, num($0, "lat_p99_ms"))
		# server CPU: the server processes, and for parley-pg those of PostgreSQL
		# (db_cpu_*) too; in C2 also those of Redis (redis_cpu_*)
		if (d > 0 && num($0, "server_cpu_pub_s") != "") {
			put(s, "cpu_us", t, (num($0, "server_cpu_pub_s") + num($0, "db_cpu_pub_s") + num($0, "redis_cpu_pub_s")) * 1e6 / d)
			put(s, "own_us", t, num($0, "server_cpu_pub_s") * 1e6 / d)
			if (num($0, "db_cpu_pub_s") != "") put(s, "db_us", t, num($0, "db_cpu_pub_s") * 1e6 / d)
			if (num($0, "redis_cpu_pub_s") != "") put(s, "redis_us", t, num($0, "redis_cpu_pub_s") * 1e6 / d)
		}
		if (num($0, "cross_deliveries") != "") {	# C2: the subscribers of the other server
			put(s, "xp50", t, num($0, "cross_lat_p50_ms")); put(s, "xp99", t, num($0, "cross_lat_p99_ms"))
			put(s, "xp90", t, num($0, "cross_lat_p90_ms"))
			put(s, "lost", t, num($0, "lost")); put(s, "dups", t, num($0, "duplicates"))
		}
		# the server CPU of opening the streams (before the first post), per stream
		if (c > 0 && num($0, "server_cpu_pub_s") != "") put(s, "open_us", t, (num($0, "server_cpu_s") - num($0, "server_cpu_pub_s") + num($0, "db_cpu_s") - num($0, "db_cpu_pub_s")) * 1e6 / c)
		if (num($0, "post_commits") > 0) put(s, "ppc", t, num($0, "posts_committed") / num($0, "post_commits"))
		put(s, "rss_mb", t, num($0, "server_rss_kb") / 1024)
		if (s == "S5") {
			put(s, "tps", t, num($0, "tokens_per_s")); put(s, "tok_per_sub", t, num($0, "tokens_per_sub"))
			put(s, "tok_p50", t, num($0, "tok_p50_ms")); put(s, "tok_p99", t, num($0, "tok_p99_ms"))
		}
	}
	END {
		n = split("S1|dps|deliveries/s|higher;S1|p50|latency p50 ms|lower;S1|p99|latency p99 ms|lower;S1|cpu_us|server CPU us/delivery|lower;S1|errors|lost+ooo+dup+errors|0;" \
			"S1r|p50|latency p50 ms|lower;S1r|p90|latency p90 ms|lower;S1r|p99|latency p99 ms|lower;S1r|cpu_us|server CPU us/delivery|lower;S1r|errors|lost+ooo+dup+errors|0;" \
			"S2|dps|deliveries/s|higher;S2|p50|latency p50 ms|lower;S2|p99|latency p99 ms|lower;S2|cpu_us|server CPU us/delivery|lower;S2|rss_mb|server RSS MiB|lower;S2|errors|lost+ooo+dup+errors|0;" \
			"S3|connected|idle subscribers held|higher;S3|rss_per_sub|RSS KiB/subscriber|lower;S3|pss_per_sub|PSS KiB/subscriber|lower;S3|connect_s|seconds to connect all|lower;S3|reconnects|client reconnects|0;S3|logerr|server error log lines|0;" \
			"S4|dps|deliveries/s|higher;S4|pps|posts acknowledged/s|higher;S4|p50|latency p50 ms|lower;S4|p99|latency p99 ms|lower;S4|cpu_us|server CPU us/delivery|lower;S4|errors|lost+ooo+dup+errors|0;" \
			"S5|tps|tokens delivered/s|higher;S5|tok_per_sub|tokens per subscriber|-;S5|tok_p50|token latency p50 ms|lower;S5|tok_p99|token latency p99 ms|lower;S5|p50|post latency p50 ms|lower;S5|errors|lost+ooo+dup+errors|0;" \
			"C2|dps|deliveries/s|higher;C2|pps|posts acknowledged/s|higher;C2|xp50|cross-node latency p50 ms|lower;C2|xp99|cross-node latency p99 ms|lower;" \
			"C2|p99|latency p99 ms, all subs|lower;C2|cpu_us|CPU us/deliv., all procs|lower;C2|lost|missing deliveries|0;C2|dups|duplicated deliveries|0;C2|errors|lost+ooo+dup+errors|0;" \
			"C2r|xp50|cross-node latency p50 ms|lower;C2r|xp90|cross-node latency p90 ms|lower;C2r|xp99|cross-node latency p99 ms|lower;C2r|cpu_us|CPU us/deliv., all procs|lower;C2r|lost|missing deliveries|0;C2r|dups|duplicated deliveries|0;C2r|errors|lost+ooo+dup+errors|0;" \
			"page|rps|GET /chats/{id} req/s|higher;page|non2xx|non-2xx responses|0", rows, ";")
		# S4 on PostgreSQL (parley-pg): a "(pg)" row under each parley row, in the
		# parley column, with its ratio to nchan
		header = 0
		for (i = 1; i <= n; i++) {
			split(rows[i], r, "|")
			if (!((r[1] "|" r[2] "|parley") in vals) && !((r[1] "|" r[2] "|nchan") in vals)) continue
			if (!header++) printf "%-5s %-27s %12s %12s %10s  %s\n", "scen", "metric (median of runs)", "parley", "nchan", "p/n", "better"
			q = median(vals[r[1] "|" r[2] "|nchan"])
			nt = 1 + ((r[1] "|" r[2] "|parley-pg") in vals)
			for (j = 1; j <= nt; j++) {
				p = median(vals[r[1] "|" r[2] "|" (j == 1 ? "parley" : "parley-pg")])
				ratio = (p != "" && q != "" && q != 0) ? sprintf("%.2f", p / q) : "-"
				printf "%-5s %-27s %12s %12s %10s  %s\n", r[1], r[3] (j == 1 ? "" : " (pg)"), fmt(p), fmt(q), ratio, r[4]
			}
		}
		# S4 per server, side by side: Parley on SQLite and on PostgreSQL, nchan, the
		# yardsticks; CPU from the first post on, per delivery, split for parley-pg
		header = 0
		nf = split("parley parley-pg nchan floor floor-sqlite floor-sqlite-group", order, " ")
		for (i = 1; i <= nf; i++) {
			f = order[i]
			if (!(("S4|dps|" f) in vals)) continue
			if (!header++) printf "\nS4 side by side, medians. CPU us/dl: server CPU per delivery from the first post on (parley-pg:\n" \
				"Parley + PostgreSQL), split into Parley us + db us; floor*: the yardsticks of bench/floor.c\n" \
				"%-19s %8s %12s %8s %8s %10s %9s %8s %12s\n", "server", "posts/s", "deliveries/s", "vs nchan", "p99 ms", "CPU us/dl", "Parley us", "db us", "posts/commit"
			d = median(vals["S4|dps|" f]); q = median(vals["S4|dps|nchan"])
			printf "%-19s %8s %12s %8s %8s %10s %9s %8s %12s\n", f, fmt(median(vals["S4|pps|" f])), fmt(d),
				(q != "" && q != 0) ? sprintf("%.2f", d / q) : "-", fmt(median(vals["S4|p99|" f])),
				fmt(median(vals["S4|cpu_us|" f])), f ~ /^parley/ ? fmt(median(vals["S4|own_us|" f])) : "-",
				fmt(median(vals["S4|db_us|" f])), fmt(median(vals["S4|ppc|" f]))
		}
		# C2 per server: the CPU of the servers, of PostgreSQL and of Redis, per delivery
		header = 0
		nf = split("parley nchan", order, " ")
		for (i = 1; i <= nf; i++) {
			f = order[i]
			if (!(("C2|dps|" f) in vals)) continue
			if (!header++) printf "\nC2 side by side, medians: two servers on one Redis, posts to the first; CPU us per\n" \
				"delivery from the first post on, all processes, split into the servers, PostgreSQL and Redis\n" \
				"%-8s %8s %12s %8s %9s %9s %10s %10s %8s %9s\n", "server", "posts/s", "deliveries/s", "vs nchan",
				"x p50 ms", "x p99 ms", "CPU us/dl", "server us", "db us", "redis us"
			d = median(vals["C2|dps|" f]); q = median(vals["C2|dps|nchan"])
			printf "%-8s %8s %12s %8s %9s %9s %10s %10s %8s %9s\n", f, fmt(median(vals["C2|pps|" f])), fmt(d),
				(q != "" && q != 0) ? sprintf("%.2f", d / q) : "-", fmt(median(vals["C2|xp50|" f])),
				fmt(median(vals["C2|xp99|" f])), fmt(median(vals["C2|cpu_us|" f])), fmt(median(vals["C2|own_us|" f])),
				fmt(median(vals["C2|db_us|" f])), fmt(median(vals["C2|redis_us|" f]))
		}
		# storm: resuming on two nodes of a cluster against one lone node
		n = split("storm|open_s|s from the kill to all reopened|lower;storm|posts_s|s from the kill to posts acked|lower;" \
			"storm|live_s|s from the kill to all live|lower;storm|relive50|closed -> live p50 ms|lower;" \
			"storm|relive99|closed -> live p99 ms|lower;storm|reopen50|resume -> 200 p50 ms|lower;storm|reopen99|resume -> 200 p99 ms|lower;" \
			"storm|cpu_res|server CPU us/resume|lower;storm|db_res|PostgreSQL CPU us/resume|lower;storm|redis_res|Redis CPU us/resume|lower;" \
			"storm|resumed|streams resumed|-;storm|live|streams live again|-;storm|errors|lost+dup+ooo+gaps+snap.+errors|0", rows, ";")
		header = 0
		for (i = 1; i <= n; i++) {
			split(rows[i], r, "|")
			if (!((r[1] "|" r[2] "|parley-cluster") in vals) && !((r[1] "|" r[2] "|parley-single") in vals)) continue
			if (!header++) printf "\nstorm: streams resuming after kill -9 of their node (medians)\n%-5s %-31s %9s %9s %8s  %s\n", "scen", "metric", "cluster", "single", "c/s", "better"
			p = median(vals[r[1] "|" r[2] "|parley-cluster"]); q = median(vals[r[1] "|" r[2] "|parley-single"])
			ratio = (p != "" && q != "" && q != 0) ? sprintf("%.2f", p / q) : "-"
			printf "%-5s %-31s %9s %9s %8s  %s\n", r[1], r[3], fmt(p), fmt(q), ratio, r[4]
		}
		# accounts: the same scenarios with --auth none (parley) and --auth accounts
		n = split("page|rps|GET /chats/{id} req/s|higher;page|cpu_req|server CPU us/request|lower;page|errors|non-2xx+socket+log errors|0;" \
			"post|rps|POST message req/s|higher;post|lat_avg|latency avg ms|lower;post|lat_p99|latency p99 ms|lower;post|cpu_req|server CPU us/request|lower;post|errors|non-201+socket+log errors|0;" \
			"S4acc|dps|deliveries/s|higher;S4acc|pps|posts acknowledged/s|higher;S4acc|p99|latency p99 ms|lower;S4acc|cpu_us|server CPU us/delivery|lower;" \
			"S4acc|open_us|server CPU us/stream opened|lower;S4acc|errors|lost+ooo+dup+errors|0;" \
			"hash|hash_ms|Argon2id hash ms (one)|-;hash|verify_ms|Argon2id check ms (one)|-", rows, ";")
		header = 0
		for (i = 1; i <= n; i++) {
			split(rows[i], r, "|")
			if (!((r[1] "|" r[2] "|parley-accounts") in vals)) continue
			if (!header++) printf "\naccounts: cost of knowing who asks (medians)\n%-5s %-27s %12s %12s %10s  %s\n", "scen", "metric", "--auth none", "accounts", "acc/none", "better"
			p = median(vals[r[1] "|" r[2] "|parley"]); q = median(vals[r[1] "|" r[2] "|parley-accounts"])
			ratio = (p != "" && q != "" && p != 0) ? sprintf("%.2f", q / p) : "-"
			printf "%-5s %-27s %12s %12s %10s  %s\n", r[1], r[3], fmt(p), fmt(q), ratio, r[4]
		}
		if (failed != "") printf "failed runs (not in the medians):%s\n", failed
	}' "$1"
}

case "${1:-}" in
deps) install_deps; exit 0 ;;
summary) summarize "${2:-build/bench/results.jsonl}"; exit 0 ;;
esac
install_deps
[[ " $SCENARIOS " == *" S4 "* ]] || FLOORS="" S4_PG=0	# the yardsticks and parley-pg run in S4 only
for f in "$LOADGEN" "$PARLEY" "$NCHAN_MODULE" ${FLOORS:+"$FLOOR"}; do
	[ -e "$f" ] || { echo "bench: $f is missing (run: make bench)" >&2; exit 1; }
done

# 20,000 open files per process: the subscribers (loadgen spreads them over
# processes) and the servers (Parley holds S3's 19,500 streams in one process).
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 20000 ] || log "warning: open-file limit is $(ulimit -n), S3 will be capped"

mkdir -p "$OUT"
# a private copy, so that rebuilding build/parley during a run does not mix versions
cp "$PARLEY" "$OUT/parley"
PARLEY_SRC=$PARLEY
PARLEY=$OUT/parley
log "parley: $PARLEY_SRC built $(date -r "$PARLEY_SRC" '+%F %T'), tree at $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted src changes')"
: > "$RESULTS"
: > "$OUT/parley-errors.log"

PARLEY_PID=""
NGINX_PID=""
FLOOR_PID=""
CHILD_PID=""	# the client (loadgen, wrk) running now

stop_pid() {	# pid: TERM, then KILL after 5 s
	local pid=$1 _
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

stop_nginx_pid() {	# master pid: it, then any worker left
	local workers w
	[ -n "$1" ] || return 0
	workers=$(children "$1")
	stop_pid "$1"
	for w in $workers; do kill -KILL "$w" 2>/dev/null || true; done
}

stop_servers() {
	stop_pid "$PARLEY_PID"
	stop_pid "$FLOOR_PID"
	PARLEY_PID=""
	FLOOR_PID=""
	PG_DB=""
	stop_nginx_pid "$NGINX_PID"
	NGINX_PID=""
	stop_cluster	# C2's and storm's nodes, second nginx and Redis
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -z "$CHILD_PID" ] || stop_pid "$CHILD_PID"
	stop_servers
	pg_stop
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

children() {	# direct children of a pid
	local pid=$1
	if [ -r "/proc/$pid/task/$pid/children" ]; then
		cat "/proc/$pid/task/$pid/children"
	else
		awk -v p="$pid" '{ sub(/.*\) /, ""); split($0, f, " "); if (f[2] == p) print FILENAME }' \
			/proc/[0-9]*/stat 2>/dev/null | sed 's#/proc/\([0-9]*\)/stat#\1#'
	fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_parley SERVE-FLAGS...: without an --auth flag, --auth none; with --auth
# accounts, the first administrator BENCH_ADMIN is created at start (PARLEY_ADMIN);
# on the database PG_DB when set (parley-pg), else a new SQLite file
start_parley() {
	rm -f "$OUT"/bench.db "$OUT"/bench.db-wal "$OUT"/bench.db-shm
	local auth=(--auth none) env=()
	[[ " $* " == *" --auth "* ]] && auth=()
	[[ " $* " == *" --auth accounts "* ]] &&
		env=("PARLEY_ADMIN=$BENCH_ADMIN" "PARLEY_ADMIN_PASSWORD=$BENCH_PASSWORD")
	env "${env[@]}" "$PARLEY" serve --listen "127.0.0.1:$PARLEY_PORT" --db "${PG_DB:-$OUT/bench.db}" \
		--log-level warn "${auth[@]}" "$@" > "$OUT/parley.out" 2> "$OUT/parley.err" &
	PARLEY_PID=$!
	local _
	for _ in $(seq 100); do
		grep -q 'listening on' "$OUT/parley.out" 2>/dev/null && return 0
		kill -0 "$PARLEY_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: parley did not start (see $OUT/parley.err)" >&2
	exit 1
}

# curl_status FILE CURL-ARGS...: the HTTP status of one request to Parley (000 when
# it failed), its body in FILE, its response head in $OUT/curl.head
curl_status() {
	local file=$1
	shift
	curl -s -o "$file" -D "$OUT/curl.head" -w '%{http_code}' --max-time 10 "$@" || true
}

# sign_in: for parley-accounts, BENCH_ADMIN's session (SESSION, the parley_session
# cookie) and an API token made with it (TOKEN); returns 1 with WHY set if not
sign_in() {
	local url=http://127.0.0.1:$PARLEY_PORT st
	SESSION="" TOKEN=""
	st=$(curl_status "$OUT/curl.body" -H 'Content-Type: application/json' \
		--data "{\"name\":\"$BENCH_ADMIN\",\"password\":\"$BENCH_PASSWORD\"}" "$url/api/v1/session")
	SESSION=$(tr -d '\r' < "$OUT/curl.head" | sed -n 's/^set-cookie: *parley_session=\([^;]*\).*/\1/Ip' | head -1)
	if [ "$st" != 200 ] || [ -z "$SESSION" ]; then
		WHY="POST /api/v1/session: HTTP $st, no parley_session cookie: $(head -c 200 "$OUT/curl.body")"
		return 1
	fi
	# a cookie-authenticated POST must say it comes from the same origin
	st=$(curl_status "$OUT/curl.body" -H 'Content-Type: application/json' \
		-H "Cookie: parley_session=$SESSION" -H 'Sec-Fetch-Site: same-origin' \
		--data '{"name":"bench"}' "$url/api/v1/tokens")
	TOKEN=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$OUT/curl.body")
	if [ "$st" != 201 ] || [ -z "$TOKEN" ]; then
		WHY="POST /api/v1/tokens: HTTP $st: $(head -c 200 "$OUT/curl.body")"
		return 1
	fi
}

# check_mode TARGET CHAT-ID: is the server in the mode its target name says?
# parley: the chat and its page answer 200 to anyone. parley-accounts: without a
# credential 401 (API) and 303 to /login (page); with the token, and with the
# cookie, 200. Sets PAGE_BYTES (the page's size as the benchmark's client sees
# it); returns 1 with WHY set if anything differs.
check_mode() {
	local target=$1 id=$2 url=http://127.0.0.1:$PARLEY_PORT got want
	local bearer=(-H "Authorization: Bearer $TOKEN") cookie=(-H "Cookie: parley_session=$SESSION")
	if [ "$target" != parley-accounts ]; then
		want="200 200"
		got="$(curl_status /dev/null "$url/api/v1/chats/$id") $(curl_status "$OUT/page.html" "$url/chats/$id")"
	else
		want="401 303 200 200 200"
		got="$(curl_status /dev/null "$url/api/v1/chats/$id") $(curl_status /dev/null "$url/chats/$id")"
		got="$got $(curl_status /dev/null "${bearer[@]}" "$url/api/v1/chats/$id")"
		got="$got $(curl_status /dev/null "${cookie[@]}" "$url/api/v1/chats/$id")"
		got="$got $(curl_status "$OUT/page.html" "${cookie[@]}" "$url/chats/$id")"
	fi
	PAGE_BYTES=$(wc -c < "$OUT/page.html" 2>/dev/null || echo 0)
	[ "$got" = "$want" ] && return 0
	WHY="not the mode of $target: answers $got, expected $want (GET chat, page$([ "$target" != parley-accounts ] || echo '; with token, cookie, page with cookie'))"
	return 1
}

# start_target TARGET RUN SERVE-FLAGS...: parley (--auth none), parley-pg (the same
# on a new database RUN of the bench's PostgreSQL) or parley-accounts (--auth
# accounts, signed in: SESSION, TOKEN); AUTH becomes the loadgen flags that identify
# its requests (none, or the token). 1 with WHY set if signing in (or making the
# database) failed.
start_target() {
	local target=$1 run=$2
	shift 2
	AUTH=() SESSION="" TOKEN=""
	if [ "$target" = parley-pg ]; then
		pg_new_db "bench_run${run}_$(date +%s%N)" || return 1
		start_parley "$@"
	elif [ "$target" = parley-accounts ]; then
		start_parley --auth accounts "$@"
		sign_in || return 1
		AUTH=(--header "Authorization: Bearer $TOKEN")
	else
		start_parley "$@"
	fi
}

start_floor() {	# variant: floor, floor-sqlite (a commit per post), floor-sqlite-group
	local args=(--port "$FLOOR_PORT")
	rm -f "$OUT"/floor.db "$OUT"/floor.db-wal "$OUT"/floor.db-shm
	case $1 in
	floor-sqlite) args+=(--db "$OUT/floor.db") ;;
	floor-sqlite-group) args+=(--db "$OUT/floor.db" --group) ;;
	esac
	"$FLOOR" "${args[@]}" > "$OUT/floor.out" 2> "$OUT/floor.err" &
	FLOOR_PID=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$OUT/floor.out" 2>/dev/null && return 0
		kill -0 "$FLOOR_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: floor did not start: $(cat "$OUT/floor.err")" >&2
	exit 1
}

# start_nginx [CONF PREFIX PORT]: nginx + nchan from CONF (bench/nchan/nginx.conf) in
# PREFIX ($NGX_PREFIX: its pid in NGINX_PID; else, C2's second, NGINX2_PID) on PORT
# (NCHAN_PORT); C2's conf also gets the run's Redis (__REDIS__)
start_nginx() {
	local conf=${1:-bench/nchan/nginx.conf} prefix=${2:-$NGX_PREFIX} port=${3:-$NCHAN_PORT} pid _
	rm -rf "$prefix"
	mkdir -p "$prefix"
	sed -e "s#__PORT__#$port#g" -e "s#__PREFIX__#$prefix#g" -e "s#__REDIS__#$REDIS_TCP#g" \
		-e "s#^worker_processes auto;#worker_processes $NCHAN_WORKERS;#" \
		"$conf" > "$prefix/nginx.conf"
	nginx -p "$prefix/" -c nginx.conf -e "$prefix/error.log" > "$prefix/stdout" 2>&1 &
	pid=$!
	if [ "$prefix" = "$NGX_PREFIX" ]; then NGINX_PID=$pid; else NGINX2_PID=$pid; fi
	for _ in $(seq 100); do
		if port_open "$port" && [ -n "$(children "$pid")" ]; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: nginx did not start:" >&2
	cat "$prefix/error.log" "$prefix/stdout" >&2 || true
	exit 1
}

server_pids() {	# --server-pid flags for the running server (parley-pg: --db-pid too)
	local p
	if [ -n "$PARLEY_PID$FLOOR_PID" ]; then
		echo -n "--server-pid $PARLEY_PID$FLOOR_PID"
		[ -z "$PG_DB" ] || for p in $(pg_pids); do echo -n " --db-pid $p"; done
		echo
	else
		echo -n "--server-pid $NGINX_PID"
		for p in $(children "$NGINX_PID"); do echo -n " --server-pid $p"; done
		echo
	fi
}

record() {	# run-number: a JSON line on stdin -> results.jsonl
	local line
	line=$(cat)
	[ -n "$line" ] || { log "no result"; return 0; }
	line="{\"run\":$1,${line#\{}"
	echo "$line" >> "$RESULTS"
	log "$line"
}

# bg CMD...: runs a client in the background and waits for it, so that a signal
# reaches the trap at once (the trap ends it); returns its status
bg() {
	"$@" &
	CHILD_PID=$!
	local rc=0
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=""
	return $rc
}

# fail_run TARGET SCENARIO RUN WHY: the run failed: an error line (listed under
# the tables, left out of the medians)
fail_run() {
	local why
	why=$(printf '%s' "${4# }" | tr '\n\\"' '   ')
	log "FAILED $1 $2 run $3: $why"
	echo "{\"target\":\"$1\",\"scenario\":\"$2\",\"error\":\"$why\"}" | record "$3"
}

# log_errors TARGET SCENARIO RUN: prints how many error lines the server logged
# in this run (Parley's stderr is kept in parley-errors.log)
log_errors() {
	local target=$1 sc=$2 run=$3 nerr=0
	if [[ $target == parley* ]] && [ -s "$OUT/parley.err" ]; then
		nerr=$(grep -c ' error ' "$OUT/parley.err" || true)
		{ echo "== $target $sc run $run"; cat "$OUT/parley.err"; } >> "$OUT/parley-errors.log"
		[ "$nerr" -eq 0 ] || log "parley logged $nerr errors, e.g.: $(grep -m1 ' error ' "$OUT/parley.err")"
	elif [ "$target" = nchan ] && [ -s "$NGX_PREFIX/error.log" ]; then
		nerr=$(grep -cE '\[(error|crit|alert|emerg)\]' "$NGX_PREFIX/error.log" || true)
		[ "$nerr" -eq 0 ] || log "nginx logged $nerr errors, e.g.: $(grep -m1 -E '\[(error|crit|alert|emerg)\]' "$NGX_PREFIX/error.log")"
	fi
	echo "$nerr"
}

# measure TARGET SCENARIO RUN LOADGEN-ARGS...: one loadgen run, recorded; a failed
# run (loadgen error, server gone) is recorded as an error line and the bench goes on
measure() {
	local target=$1 sc=$2 run=$3 rc=0 server_pid lg_target=$1
	shift 3
	server_pid=${PARLEY_PID:-${FLOOR_PID:-$NGINX_PID}}
	[[ $target != floor* ]] || lg_target=nchan	# the floor speaks nchan's URLs
	[[ $target != parley* ]] || lg_target=parley	# parley-accounts too
	# shellcheck disable=SC2046
	bg "$LOADGEN" --target "$lg_target" $(server_pids) --scenario "$sc" "$@" \
		> "$OUT/last.json" 2> "$OUT/last.err" || rc=$?
	if [ $rc -eq 0 ] && [ -s "$OUT/last.json" ]; then
		local nerr commits=""
		nerr=$(log_errors "$target" "$sc" "$run")
		# Parley's group commits: the posts and the transactions they took
		[[ $target != parley* ]] || commits=$(curl -s --max-time 5 "${AUTH[@]}" \
			"http://127.0.0.1:$PARLEY_PORT/metrics" | awk '$1 == "parley_posts_committed_total" { p = $2 }
			$1 == "parley_post_commits_total" { c = $2 } END { if (c != "") printf ",\"posts_committed\":%d,\"post_commits\":%d", p, c }')
		sed -e "s/}\$/,\"server_log_errors\":$nerr$commits}/" \
			-e "s/\"target\":\"$lg_target\"/\"target\":\"$target\"/" "$OUT/last.json" | record "$run"
	fi
	local why=""
	[ $rc -eq 0 ] || why="loadgen exit $rc: $(tail -3 "$OUT/last.err")"
	if ! kill -0 "$server_pid" 2>/dev/null; then
		why="$why server $target (pid $server_pid) died"
		[[ $target != parley* ]] || log "parley stderr: $(tail -5 "$OUT/parley.err")"
	fi
	[ -z "$why" ] || fail_run "$target" "$sc" "$run" "$why"
	return 0
}

# setup_chats N LOADGEN-SETUP-ARGS...: N chats on the running Parley (ids in
# $OUT/chat-ids), created with its credential (AUTH); 1 with WHY set if not
setup_chats() {
	local n=$1
	shift
	"$LOADGEN" --setup --port "$PARLEY_PORT" --chats "$n" --chat-ids-file "$OUT/chat-ids" \
		"$@" "${AUTH[@]}" 2> "$OUT/last.err" && return 0
	WHY="loadgen --setup: $(tail -3 "$OUT/last.err")"
	return 1
}

# run_one TARGET SCENARIO RUN: a fresh server, its chats, one loadgen run
run_one() {
	local target=$1 sc=$2 run=$3
	local ids=$OUT/chat-ids chats=1 serve=() lg=() setup=()
	case $sc in
	S1) lg=(--chats 1 --subs-per-chat 1000 --posts 200 --publishers 1) ;;
	S1r) lg=(--chats 1 --subs-per-chat 1000 --posts 200 --rate 50 --publishers 4) ;;
	S2) lg=(--chats 1 --subs-per-chat 10000 --posts 200 --publishers 4) ;;
	S3) lg=(--idle --chats 1 --subs-per-chat "$S3_SUBS" --hold "$HOLD" --connect-timeout 30) ;;
	S4|S4acc) chats=1000
	    lg=(--chats 1000 --subs-per-chat 10 --posts 10000 --publishers "${S4_PUBLISHERS:-8}") ;;
	S5) chats=200 serve=(--typing-ms 0) setup=(--bot-backend echo)
	    lg=(--chats 200 --subs-per-chat 10 --posts 200 --publishers 8 --body-words 100
	        --count-event token --bot-replies 1 --drain-timeout 60) ;;
	esac
	case $target in
	parley|parley-pg|parley-accounts)
		# parley-accounts: every request (setup, subscriptions, posts) with the token
		if start_target "$target" "$run" "${serve[@]}" && setup_chats "$chats" "${setup[@]}" &&
			check_mode "$target" "$(head -1 "$ids")"; then
			measure "$target" "$sc" "$run" --port "$PARLEY_PORT" --chat-ids-file "$ids" \
				"${lg[@]}" "${AUTH[@]}"
		else
			fail_run "$target" "$sc" "$run" "$WHY"
		fi ;;
	nchan)
		start_nginx
		measure nchan "$sc" "$run" --port "$NCHAN_PORT" --chat-prefix "r${run}${sc}c" "${lg[@]}" ;;
	*)
		start_floor "$target"
		measure "$target" "$sc" "$run" --port "$FLOOR_PORT" --chat-prefix "f${run}${sc}c" "${lg[@]}" ;;
	esac
	stop_servers
	sleep "$SETTLE"
}

# fill_chat: 200 posts of 12 words to the first chat of $OUT/chat-ids (page)
fill_chat() {
	local out
	out=$("$LOADGEN" --target parley --port "$PARLEY_PORT" --chat-ids-file "$OUT/chat-ids" \
		--chats 1 --subs-per-chat 0 --posts 200 --body-words 12 "${AUTH[@]}" 2> "$OUT/last.err") || true
	[[ $out == *'"posts":200,"post_errors":0,'* ]] && return 0
	WHY="filling the chat: not 200 posts acknowledged: $(tail -3 "$OUT/last.err")"
	return 1
}

cpu_ticks() {	# pid: its user + system CPU so far, in clock ticks (all threads)
	awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# wrk_json < wrk's output (with --latency, and post.lua's lines): JSON fields
wrk_json() {
	awk '
	function ms(v) {	# wrk time units -> ms
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		if (v ~ /h$/) return v * 3600000
		return v * 1000
	}
	$1 == "Latency" && NF >= 4 { avg = ms($2); max = ms($4); avg_s = $2 }
	$1 ~ /^[0-9]+%$/ && NF == 2 { p[$1 + 0] = ms($2) }
	$2 == "requests" && $3 == "in" { requests = $1; dur = ms($4) / 1000 }
	$1 == "Socket" && $2 == "errors:" { sockerr = $4 + $6 + $8 + $10 }
	/^ *Non-2xx or 3xx responses:/ { non2xx = $NF }
	$1 == "Requests/sec:" { rps = $2 }
	$1 == "not_201:" { not201 = $2 }
	$1 == "first_not_201:" { first = $2 }
	END {
		printf "\"requests\":%d,\"duration_s\":%.3f,\"requests_per_s\":%.1f,\"non_2xx\":%d,\"socket_errors\":%d", \
			requests, dur, rps, non2xx, sockerr
		printf ",\"latency_avg\":\"%s\",\"lat_avg_ms\":%.3f,\"lat_p50_ms\":%.3f,\"lat_p90_ms\":%.3f,\"lat_p99_ms\":%.3f,\"lat_max_ms\":%.3f", \
			avg_s, avg, p[50], p[90], p[99], max
		if (not201 != "") printf ",\"not_201\":%d,\"first_not_201\":%d", not201, first
	}'
}

# wrk_measure TARGET SCENARIO RUN EXTRA-JSON WRK-ARGS...: one wrk run, with the
# server's CPU sampled around it; recorded. It counts as failed (the line keeps
# its numbers but gets an "error") when wrk fails, the server dies, or, with
# post.lua, any answer is not 201.
wrk_measure() {
	local target=$1 sc=$2 run=$3 extra=$4 rc=0 cpu0 cpu1 cpu line nerr why="" not201
	shift 4
	cpu0=$(cpu_ticks "$PARLEY_PID")
	bg wrk --latency "$@" > "$OUT/wrk.out" 2>&1 || rc=$?
	cpu1=$(cpu_ticks "$PARLEY_PID")
	cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / t }')
	nerr=$(log_errors "$target" "$sc" "$run")
	line="{\"target\":\"$target\",\"scenario\":\"$sc\",$extra,$(wrk_json < "$OUT/wrk.out"),\"server_cpu_s\":$cpu,\"server_log_errors\":$nerr}"
	[ $rc -eq 0 ] || why="wrk exit $rc: $(tail -3 "$OUT/wrk.out")"
	kill -0 "$PARLEY_PID" 2>/dev/null || why="$why server $target (pid $PARLEY_PID) died"
	not201=$(sed -n 's/.*"not_201":\([0-9]*\).*/\1/p' <<<"$line")
	if [ "$sc" = post ] && [ "${not201:-x}" != 0 ]; then
		why="$why ${not201:-unknown number of} answers were not 201 (the first: HTTP $(sed -n 's/.*"first_not_201":\([0-9]*\).*/\1/p' <<<"$line"))"
	fi
	if [ -n "$why" ]; then
		why=$(printf '%s' "${why# }" | tr '\n\\"' '   ')
		log "FAILED $target $sc run $run: $why"
		line="${line%\}},\"error\":\"$why\"}"
	fi
	echo "$line" | record "$run"
}

# run_wrk TARGET page|post RUN: a fresh Parley (parley: --auth none;
# parley-accounts: --auth accounts, signed in), one chat without bots, and wrk
#   page: GET /chats/{id} of a chat with 200 messages, -t2 -c64 for PAGE_SECONDS;
#         parley-accounts: with the session cookie, as a browser
#   post: POST /api/v1/chats/{id}/messages (bench/post.lua: a 12-word body),
#         -t2 -c16 for POST_SECONDS; parley-accounts: with the token, as a program
run_wrk() {
	local target=$1 sc=$2 run=$3 id hdr=() args=() extra url=http://127.0.0.1:$PARLEY_PORT
	if start_target "$target" "$run" && setup_chats 1 && { [ "$sc" = post ] || fill_chat; } &&
		check_mode "$target" "$(head -1 "$OUT/chat-ids")"; then
		id=$(head -1 "$OUT/chat-ids")
		if [ "$sc" = page ]; then
			[ "$target" = parley ] || hdr=(-H "Cookie: parley_session=$SESSION")
			args=(-t2 -c64 -d"${PAGE_SECONDS}s" "${hdr[@]}" "$url/chats/$id")
			extra="\"url\":\"/chats/{id}\",\"messages\":200,\"page_bytes\":$PAGE_BYTES"
		else
			[ "$target" = parley ] || hdr=(-H "Authorization: Bearer $TOKEN")
			args=(-t2 -c16 -d"${POST_SECONDS}s" -s bench/post.lua "${hdr[@]}" "$url/api/v1/chats/$id/messages")
			extra="\"url\":\"/api/v1/chats/{id}/messages\",\"body_words\":12"
		fi
		wrk_measure "$target" "$sc" "$run" "$extra" "${args[@]}"
	else
		fail_run "$target" "$sc" "$run" "$WHY"
	fi
	stop_servers
	sleep "$SETTLE"
}

for sc in $SCENARIOS; do
	case $sc in
	S1|S1r|S2|S3|S4|S4acc|S5|C2|C2r|storm|page|post|hash) ;;
	*) echo "bench: unknown scenario $sc (S1 S1r S2 S3 S4 S4acc S5 C2 C2r storm page post hash)" >&2; exit 2 ;;
	esac
done
t0=$(date +%s)
# stopped by cleanup, whatever happens
if [ "$S4_PG" != 0 ] || [[ " $SCENARIOS " =~ \ (C2|C2r|storm)\  ]]; then
	pg_start
fi
log "results: $RESULTS (RUNS=$RUNS, scenarios: $SCENARIOS, nchan worker_processes $NCHAN_WORKERS)"
for sc in $SCENARIOS; do
	for run in $(seq "$RUNS"); do
		case $sc in
		S5) run_one parley S5 "$run" ;;
		# the cost of accounts: --auth none, then --auth accounts, in each round
		S4acc) run_one parley S4acc "$run"; run_one parley-accounts S4acc "$run" ;;
		page|post) run_wrk parley "$sc" "$run"; run_wrk parley-accounts "$sc" "$run" ;;
		hash) "$OUT/password_cost" | record "$run" ;;
		C2|C2r) run_c2 parley "$sc" "$run"; run_c2 nchan "$sc" "$run" ;;
		storm) run_storm parley-cluster "$run"; run_storm parley-single "$run" ;;
		*) run_one parley "$sc" "$run"
		   [ "$sc" != S4 ] || [ "$S4_PG" = 0 ] || run_one parley-pg S4 "$run"
		   run_one nchan "$sc" "$run" ;;
		esac
		if [ "$sc" = S4 ]; then
			for f in $FLOORS; do run_one "$f" S4 "$run"; done
		fi
	done
done
log "done in $(( $(date +%s) - t0 )) s"

summarize "$RESULTS" | tee "$SUMMARY"
