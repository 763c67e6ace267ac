#!/usr/bin/env bash
# Parley vs nginx+nchan SSE fan-out benchmark. Run through `make bench` (which
# builds build/parley and build/bench/loadgen first), or directly once both exist.
#
#   bench/run.sh          every scenario, RUNS runs each, both servers alternating
#   bench/run.sh deps     only install the missing Debian packages (nginx, nchan, wrk)
#   bench/run.sh summary [FILE]   print the table for a results file again
#
# Environment: RUNS (default 3), SCENARIOS (default "S1 S1r S2 S3 S4 S5 page"),
# FLOORS, the variants of bench/floor.c run in S4 as yardsticks (default "floor
# floor-sqlite floor-sqlite-group"; empty for none),
# NCHAN_WORKERS, nginx's worker_processes (default auto: one per core),
# PARLEY_PORT (18080), NCHAN_PORT (18081), FLOOR_PORT (18082), SETTLE seconds between runs (1.5),
# HOLD seconds for S3 (10), S3_SUBS (19500), PAGE_SECONDS for wrk (10).
# Output: one JSON line per run in build/bench/results.jsonl, a table of medians
# and Parley/nchan ratios on stdout (also build/bench/summary.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS:-"S1 S1r S2 S3 S4 S5 page"}
FLOORS=${FLOORS-"floor floor-sqlite floor-sqlite-group"}
PARLEY_PORT=${PARLEY_PORT:-18080}
FLOOR_PORT=${FLOOR_PORT:-18082}
NCHAN_WORKERS=${NCHAN_WORKERS:-auto}
NCHAN_PORT=${NCHAN_PORT:-18081}
SETTLE=${SETTLE:-1.5}
HOLD=${HOLD:-10}
S3_SUBS=${S3_SUBS:-19500}
PAGE_SECONDS=${PAGE_SECONDS:-10}

OUT=build/bench
LOADGEN=$OUT/loadgen
PARLEY=build/parley
FLOOR=$OUT/floor
NGX_PREFIX=$PWD/$OUT/nginx
RESULTS=$OUT/results.jsonl
NCHAN_MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

install_deps() {
	local want=(nginx libnginx-mod-nchan wrk) missing=() p
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# no recommends: nothing else is started; Debian's nginx service is not used
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
		if (s == "page") { put(s, "rps", t, num($0, "requests_per_s")); put(s, "non2xx", t, num($0, "non_2xx")); next }
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
		if (d > 0 && num($0, "server_cpu_pub_s") != "") put(s, "cpu_us", t, num($0, "server_cpu_pub_s") * 1e6 / d)
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
			"page|rps|GET /chats/{id} req/s|higher;page|non2xx|non-2xx responses|0", rows, ";")
		printf "%-5s %-26s %12s %12s %10s  %s\n", "scen", "metric (median of runs)", "parley", "nchan", "p/n", "better"
		for (i = 1; i <= n; i++) {
			split(rows[i], r, "|")
			if (!((r[1] "|" r[2] "|parley") in vals) && !((r[1] "|" r[2] "|nchan") in vals)) continue
			p = median(vals[r[1] "|" r[2] "|parley"]); q = median(vals[r[1] "|" r[2] "|nchan"])
			ratio = (p != "" && q != "" && q != 0) ? sprintf("%.2f", p / q) : "-"
			printf "%-5s %-26s %12s %12s %10s  %s\n", r[1], r[3], fmt(p), fmt(q), ratio, r[4]
		}
		header = 0
		for (k in vals) {
			split(k, kk, "|")
			if (kk[1] == "S4" && kk[2] == "dps" && kk[3] ~ /^floor/) floors[kk[3]] = 1
		}
		nf = split("floor floor-sqlite floor-sqlite-group", order, " ")
		for (i = 1; i <= nf; i++) {
			f = order[i]
			if (!(f in floors)) continue
			if (!header++) printf "\nS4 yardsticks (bench/floor.c), medians:\n%-20s %12s %8s %12s %10s\n", "server", "deliveries/s", "vs nchan", "CPU us/deliv", "p99 ms"
			d = median(vals["S4|dps|" f]); q = median(vals["S4|dps|nchan"])
			printf "%-20s %12s %8s %12s %10s\n", f, fmt(d), (q != "" && q != 0) ? sprintf("%.2f", d / q) : "-", fmt(median(vals["S4|cpu_us|" f])), fmt(median(vals["S4|p99|" f]))
		}
		if (failed != "") printf "failed runs (not in the medians):%s\n", failed
	}' "$1"
}

case "${1:-}" in
deps) install_deps; exit 0 ;;
summary) summarize "${2:-build/bench/results.jsonl}"; exit 0 ;;
esac
install_deps
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
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

stop_servers() {
	stop_pid "$PARLEY_PID"
	stop_pid "$FLOOR_PID"
	PARLEY_PID=""
	FLOOR_PID=""
	if [ -n "$NGINX_PID" ]; then
		local workers
		workers=$(children "$NGINX_PID")
		stop_pid "$NGINX_PID"
		for w in $workers; do kill -KILL "$w" 2>/dev/null || true; done
	fi
	NGINX_PID=""
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -z "$CHILD_PID" ] || stop_pid "$CHILD_PID"
	stop_servers
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

start_parley() {	# extra serve flags
	rm -f "$OUT"/bench.db "$OUT"/bench.db-wal "$OUT"/bench.db-shm
	"$PARLEY" serve --listen "127.0.0.1:$PARLEY_PORT" --db "$OUT/bench.db" \
		--log-level warn "$@" > "$OUT/parley.out" 2> "$OUT/parley.err" &
	PARLEY_PID=$!
	local i
	for i in $(seq 100); do
		grep -q 'listening on' "$OUT/parley.out" 2>/dev/null && return 0
		kill -0 "$PARLEY_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: parley did not start (see $OUT/parley.err)" >&2
	exit 1
}

start_floor() {	# variant: floor, floor-sqlite (a commit per post), floor-sqlite-group
	local args=(--port "$FLOOR_PORT") i
	rm -f "$OUT"/floor.db "$OUT"/floor.db-wal "$OUT"/floor.db-shm
	case $1 in
	floor-sqlite) args+=(--db "$OUT/floor.db") ;;
	floor-sqlite-group) args+=(--db "$OUT/floor.db" --group) ;;
	esac
	"$FLOOR" "${args[@]}" > "$OUT/floor.out" 2> "$OUT/floor.err" &
	FLOOR_PID=$!
	for i in $(seq 100); do
		grep -q 'listening on' "$OUT/floor.out" 2>/dev/null && return 0
		kill -0 "$FLOOR_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: floor did not start: $(cat "$OUT/floor.err")" >&2
	exit 1
}

start_nginx() {
	rm -rf "$NGX_PREFIX"
	mkdir -p "$NGX_PREFIX"
	sed -e "s#__PORT__#$NCHAN_PORT#g" -e "s#__PREFIX__#$NGX_PREFIX#g" \
		-e "s#^worker_processes auto;#worker_processes $NCHAN_WORKERS;#" \
		bench/nchan/nginx.conf > "$NGX_PREFIX/nginx.conf"
	nginx -p "$NGX_PREFIX/" -c nginx.conf -e "$NGX_PREFIX/error.log" \
		> "$NGX_PREFIX/stdout" 2>&1 &
	NGINX_PID=$!
	local i
	for i in $(seq 100); do
		if port_open "$NCHAN_PORT" && [ -n "$(children "$NGINX_PID")" ]; then
			return 0
		fi
		kill -0 "$NGINX_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: nginx did not start:" >&2
	cat "$NGX_PREFIX/error.log" "$NGX_PREFIX/stdout" >&2 || true
	exit 1
}

server_pids() {	# --server-pid flags for the running server
	local p
	if [ -n "$PARLEY_PID$FLOOR_PID" ]; then
		echo "--server-pid $PARLEY_PID$FLOOR_PID"
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

# measure TARGET SCENARIO RUN LOADGEN-ARGS...: one loadgen run, recorded; a failed
# run (loadgen error, server gone) is recorded as an error line and the bench goes on
measure() {
	local target=$1 sc=$2 run=$3 rc=0 server_pid lg_target=$1
	shift 3
	server_pid=${PARLEY_PID:-${FLOOR_PID:-$NGINX_PID}}
	[[ $target != floor* ]] || lg_target=nchan	# the floor speaks nchan's URLs
	# shellcheck disable=SC2046
	bg "$LOADGEN" --target "$lg_target" $(server_pids) --scenario "$sc" "$@" \
		> "$OUT/last.json" 2> "$OUT/last.err" || rc=$?
	if [ $rc -eq 0 ] && [ -s "$OUT/last.json" ]; then
		local nerr=0
		if [ "$target" = parley ] && [ -s "$OUT/parley.err" ]; then
			# Parley's own error lines during the run, kept in parley-errors.log
			nerr=$(grep -c ' error ' "$OUT/parley.err" || true)
			{ echo "== $sc run $run"; cat "$OUT/parley.err"; } >> "$OUT/parley-errors.log"
			[ "$nerr" -eq 0 ] || log "parley logged $nerr errors, e.g.: $(grep -m1 ' error ' "$OUT/parley.err")"
		elif [ "$target" = nchan ] && [ -s "$NGX_PREFIX/error.log" ]; then
			nerr=$(grep -cE '\[(error|crit|alert|emerg)\]' "$NGX_PREFIX/error.log" || true)
			[ "$nerr" -eq 0 ] || log "nginx logged $nerr errors, e.g.: $(grep -m1 -E '\[(error|crit|alert|emerg)\]' "$NGX_PREFIX/error.log")"
		fi
		sed -e "s/}\$/,\"server_log_errors\":$nerr}/" \
			-e "s/\"target\":\"$lg_target\"/\"target\":\"$target\"/" "$OUT/last.json" | record "$run"
	fi
	local why=""
	[ $rc -eq 0 ] || why="loadgen exit $rc: $(tail -3 "$OUT/last.err" | tr '\n"\\' ' ')"
	if ! kill -0 "$server_pid" 2>/dev/null; then
		why="$why server $target (pid $server_pid) died"
		[ "$target" = parley ] && log "parley stderr: $(tail -5 "$OUT/parley.err")"
	fi
	if [ -n "$why" ]; then
		log "FAILED $target $sc run $run: $why"
		echo "{\"target\":\"$target\",\"scenario\":\"$sc\",\"error\":\"$why\"}" | record "$run"
	fi
	return 0
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
	S4) chats=1000
	    lg=(--chats 1000 --subs-per-chat 10 --posts 10000 --publishers 8) ;;
	S5) chats=200 serve=(--typing-ms 0) setup=(--bot-backend echo)
	    lg=(--chats 200 --subs-per-chat 10 --posts 200 --publishers 8 --body-words 100
	        --count-event token --bot-replies 1 --drain-timeout 60) ;;
	esac
	if [ "$target" = parley ]; then
		start_parley "${serve[@]}"
		"$LOADGEN" --setup --port "$PARLEY_PORT" --chats "$chats" --chat-ids-file "$ids" "${setup[@]}"
		measure parley "$sc" "$run" --port "$PARLEY_PORT" --chat-ids-file "$ids" "${lg[@]}"
	elif [ "$target" = nchan ]; then
		start_nginx
		measure nchan "$sc" "$run" --port "$NCHAN_PORT" --chat-prefix "r${run}${sc}c" "${lg[@]}"
	else
		start_floor "$target"
		measure "$target" "$sc" "$run" --port "$FLOOR_PORT" --chat-prefix "f${run}${sc}c" "${lg[@]}"
	fi
	stop_servers
	sleep "$SETTLE"
}

# page speed: GET /chats/{id} of a chat with 200 messages, wrk -t2 -c64
run_page() {
	local run=$1 ids=$OUT/chat-ids id out rps non2xx lat
	start_parley
	"$LOADGEN" --setup --port "$PARLEY_PORT" --chats 1 --chat-ids-file "$ids"
	"$LOADGEN" --target parley --port "$PARLEY_PORT" --chat-ids-file "$ids" \
		--chats 1 --subs-per-chat 0 --posts 200 --body-words 12 > /dev/null
	id=$(head -1 "$ids")
	bg wrk -t2 -c64 -d"${PAGE_SECONDS}s" "http://127.0.0.1:$PARLEY_PORT/chats/$id" > "$OUT/wrk.out" || true
	out=$(cat "$OUT/wrk.out")
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
	lat=$(awk '$1 == "Latency" { print $2 }' <<<"$out")
	echo "{\"target\":\"parley\",\"scenario\":\"page\",\"url\":\"/chats/{id}\",\"messages\":200,\"requests_per_s\":${rps:-0},\"non_2xx\":${non2xx:-0},\"latency_avg\":\"$lat\"}" \
		| record "$run"
	stop_servers
	sleep "$SETTLE"
}

t0=$(date +%s)
log "results: $RESULTS (RUNS=$RUNS, scenarios: $SCENARIOS, nchan worker_processes $NCHAN_WORKERS)"
for sc in $SCENARIOS; do
	for run in $(seq "$RUNS"); do
		case $sc in
		S5) run_one parley S5 "$run" ;;
		page) run_page "$run" ;;
		*) run_one parley "$sc" "$run"; run_one nchan "$sc" "$run" ;;
		esac
		if [ "$sc" = S4 ]; then
			for f in $FLOORS; do run_one "$f" S4 "$run"; done
		fi
	done
done
log "done in $(( $(date +%s) - t0 )) s"

summarize "$RESULTS" | tee "$OUT/summary.txt"
