# shellcheck shell=bash disable=SC2034,SC2153  # WHY: read by run.sh; the pids and prefixes: set by run.sh
# bench/cluster.sh: the benchmark's scenarios of several servers, sourced by bench/run.sh
# (which sets OUT, PARLEY, LOADGEN, the ports, and has log, record, fail_run, bg, stop_pid,
# children, setup_chats, start_nginx, pg_new_db, pg_pids; bench/redis.sh the Redis):
#
#   C2     two servers sharing one Redis, each chat's subscribers split over both, every
#          post sent to the first: Parley (two nodes on the bench's PostgreSQL) against
#          nginx + nchan in its Redis mode (two nginx instances); run_c2
#   C2r    the same at a fixed rate (C2R_RATE posts/s), for latency at equal load
#   storm  10,000 streams on one Parley node, which is killed (SIGKILL); they resume
#          with Last-Event-ID on the others: three nodes on Redis (parley-cluster)
#          against one node without Redis (parley-single); run_storm. Not in `make
#          bench`: `make bench-storm`.
#
# Every process started here is stopped by stop_cluster (run.sh's stop_servers, which
# its exit trap calls too).

NODE_PIDS=()	# Parley nodes 1..3, by number
NODE_PORTS=("" "$PARLEY_PORT" "$NODE2_PORT" "$NODE3_PORT")
NGINX2_PID=""	# C2's second nginx
NGX_PREFIX2=$PWD/$OUT/nginx2

# start_node N SERVE-FLAGS...: Parley node N (1..3) on port NODE_PORTS[N] and the
# database PG_DB, --auth none; its output in $OUT/nodeN.out and .err. 1 with WHY set if
# it did not start.
start_node() {
	local n=$1 _
	shift
	"$PARLEY" serve --listen "127.0.0.1:${NODE_PORTS[n]}" --db "$PG_DB" --log-level warn \
		--auth none "$@" > "$OUT/node$n.out" 2> "$OUT/node$n.err" &
	NODE_PIDS[n]=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$OUT/node$n.out" 2>/dev/null && return 0
		kill -0 "${NODE_PIDS[n]}" 2>/dev/null || break
		sleep 0.1
	done
	WHY="node $n did not start: $(tail -3 "$OUT/node$n.err")"
	return 1
}

# metric PORT NAME: the value of one line of a node's /metrics ("" if none)
metric() {
	curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk -v k="$2" '$1 == k { print $2 }'
}

# bus_up N...: waits (10 s at most) until nodes N... say parley_bus_connected 1
bus_up() {
	local n _
	for n in "$@"; do
		for _ in $(seq 100); do
			[ "$(metric "${NODE_PORTS[n]}" parley_bus_connected)" = 1 ] && continue 2
			sleep 0.1
		done
		WHY="node $n not connected to Redis after 10 s (parley_bus_connected)"
		return 1
	done
}

# check_nodes N...: the first chat answers 200 on every node (--auth none, the chat
# known to all)
check_nodes() {
	local n st id
	id=$(head -1 "$OUT/chat-ids")
	for n in "$@"; do
		st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
			"http://127.0.0.1:${NODE_PORTS[n]}/api/v1/chats/$id" || true)
		[ "$st" = 200 ] || { WHY="node $n: GET the chat: HTTP $st, expected 200"; return 1; }
	done
}

# bus_counts N...: ,"bus_published":P,"bus_received":R summed over nodes N...
bus_counts() {
	local n p=0 r=0 v
	for n in "$@"; do
		v=$(metric "${NODE_PORTS[n]}" parley_bus_published_total); p=$((p + ${v:-0}))
		v=$(metric "${NODE_PORTS[n]}" parley_bus_received_total); r=$((r + ${v:-0}))
	done
	printf ',"bus_published":%d,"bus_received":%d' "$p" "$r"
}

# cluster_errors TARGET SCENARIO RUN: how many error lines the servers logged in this
# run (the nodes' stderr is kept in parley-errors.log)
cluster_errors() {
	local target=$1 sc=$2 run=$3 nerr=0 f c
	if [ "$target" = nchan ]; then
		for f in "$NGX_PREFIX/error.log" "$NGX_PREFIX2/error.log"; do
			[ -s "$f" ] || continue
			c=$(grep -cE '\[(error|crit|alert|emerg)\]' "$f" || true)
			[ "$c" -eq 0 ] || log "nginx logged $c errors, e.g.: $(grep -m1 -E '\[(error|crit|alert|emerg)\]' "$f")"
			nerr=$((nerr + c))
		done
	else
		for f in "$OUT"/node[1-3].err; do
			[ -s "$f" ] || continue
			c=$(grep -c ' error ' "$f" || true)
			{ echo "== $target $sc run $run: ${f##*/}"; cat "$f"; } >> "$OUT/parley-errors.log"
			[ "$c" -eq 0 ] || log "${f##*/} has $c errors, e.g.: $(grep -m1 ' error ' "$f")"
			grep -q ' warn ' "$f" && log "${f##*/}: $(grep -c ' warn ' "$f") warnings, e.g.: $(grep -m1 ' warn ' "$f")"
			nerr=$((nerr + c))
		done
	fi
	echo "$nerr"
}

# measure_cluster TARGET SCENARIO RUN ALIVE-PIDS -- LOADGEN-ARGS...: one loadgen run,
# recorded as TARGET; it fails if the loadgen does, or one of ALIVE-PIDS (the servers that
# must outlive it) died. Parley's lines get the nodes' bus counters.
measure_cluster() {
	local target=$1 sc=$2 run=$3 alive=() rc=0 nerr extra="" why="" p lg_target=parley
	shift 3
	while [ "$1" != -- ]; do alive+=("$1"); shift; done
	shift
	[ "$target" != nchan ] || lg_target=nchan
	bg "$LOADGEN" --target "$lg_target" --scenario "$sc" "$@" > "$OUT/last.json" 2> "$OUT/last.err" || rc=$?
	nerr=$(cluster_errors "$target" "$sc" "$run")
	[ "$target" = nchan ] || extra=$(bus_counts 1 2 3)
	if [ $rc -eq 0 ] && [ -s "$OUT/last.json" ]; then
		sed -e "s/}\$/,\"server_log_errors\":$nerr$extra}/" \
			-e "s/\"target\":\"$lg_target\"/\"target\":\"$target\"/" "$OUT/last.json" | record "$run"
	else
		why="loadgen exit $rc: $(tail -3 "$OUT/last.err")"
	fi
	for p in "${alive[@]}"; do
		kill -0 "$p" 2>/dev/null || why="$why server process $p died"
	done
	[ -z "$why" ] || fail_run "$target" "$sc" "$run" "$why"
	return 0
}

# C2's load: 1,000 chats x 10 subscribers (5 on each server), 10,000 posts round robin
# by 8 closed-loop publishers, all to the first server: every post crosses Redis to the
# other server's 5 subscribers (bench/README.md says why this shape). C2_LOAD replaces
# these loadgen flags (e.g. "--chats 1 --subs-per-chat 1000 --posts 200 --publishers 1",
# S1's shape); the chats are made to match (--chats). C2r: the same chats and
# subscribers, C2R_POSTS posts at C2R_RATE posts/s over 8 connections.
read -ra C2_SHAPE <<< "${C2_LOAD:---chats 1000 --subs-per-chat 10 --posts 10000 --publishers 8}"
C2_CHATS=$(awk '{ for (i = 1; i < NF; i++) if ($i == "--chats") print $(i + 1) }' <<< "${C2_SHAPE[*]}")
C2R_SHAPE=(--chats 1000 --subs-per-chat 10 --posts "${C2R_POSTS:-5000}" --rate "${C2R_RATE:-500}" --publishers 8)

# run_c2 TARGET SCENARIO RUN: one C2 (or C2r) run on fresh servers and a fresh Redis
#   parley: nodes 1 and 2 (--redis, Redis's unix socket; C2_PARLEY_REDIS=tcp: its TCP
#           port, as nchan) on a new database of the bench's PostgreSQL
#   nchan:  two nginx (bench/nchan/nginx-redis.conf) on NCHAN_PORT and NCHAN_PORT2
# CPU: the servers (--server-pid), PostgreSQL (--db-pid), Redis (--redis-pid), apart.
run_c2() {
	local target=$1 sc=$2 run=$3 url pids=() p shape=("${C2_SHAPE[@]}") chats=${C2_CHATS:-1}
	[ "$sc" = C2 ] || shape=("${C2R_SHAPE[@]}") chats=1000
	rm -f "$OUT"/node[1-3].out "$OUT"/node[1-3].err
	redis_start
	url=$REDIS_URL
	[ "${C2_PARLEY_REDIS:-unix}" != tcp ] || url=redis://$REDIS_TCP
	if [ "$target" = parley ]; then
		if pg_new_db "bench_c2_run${run}_$(date +%s%N)" &&
			start_node 1 --redis "$url" --node n1 && start_node 2 --redis "$url" --node n2 &&
			bus_up 1 2 && setup_chats "$chats" && check_nodes 1 2; then
			pids=(--server-pid "${NODE_PIDS[1]}" --server-pid "${NODE_PIDS[2]}")
			for p in $(pg_pids); do pids+=(--db-pid "$p"); done
			measure_cluster parley "$sc" "$run" "${NODE_PIDS[1]}" "${NODE_PIDS[2]}" -- \
				"${pids[@]}" --redis-pid "$REDIS_PID" --port "$PARLEY_PORT" \
				--sub-port "$PARLEY_PORT" --sub-port "$NODE2_PORT" \
				--chat-ids-file "$OUT/chat-ids" "${shape[@]}"
		else
			fail_run parley "$sc" "$run" "$WHY"
		fi
	else
		start_nginx bench/nchan/nginx-redis.conf "$NGX_PREFIX" "$NCHAN_PORT"
		start_nginx bench/nchan/nginx-redis.conf "$NGX_PREFIX2" "$NCHAN_PORT2"
		for p in "$NGINX_PID" $(children "$NGINX_PID") "$NGINX2_PID" $(children "$NGINX2_PID"); do
			pids+=(--server-pid "$p")
		done
		measure_cluster nchan "$sc" "$run" "$NGINX_PID" "$NGINX2_PID" -- "${pids[@]}" \
			--redis-pid "$REDIS_PID" --port "$NCHAN_PORT" --sub-port "$NCHAN_PORT" \
			--sub-port "$NCHAN_PORT2" --chat-prefix "r${run}${sc}c" "${shape[@]}"
	fi
	stop_servers
	sleep "$SETTLE"
}

# run_storm TARGET RUN: one reconnect storm (loadgen --storm) on fresh nodes: STORM_CHATS
# chats x STORM_SUBS streams, all on node 1, STORM_BEFORE posts per chat seen there;
# node 1 killed; the streams resume within 0..STORM_DELAY s (Last-Event-ID) while one
# more post per chat goes to the nodes they resume on.
#   parley-cluster: nodes 1, 2 and 3 on one Redis; streams resume half on 2, half on 3
#   parley-single:  nodes 1 and 2 without Redis; streams resume all on node 2 (a lone
#                   node, already running, on the same PostgreSQL)
# CPU from the kill on: the nodes streams resume on, PostgreSQL, Redis.
run_storm() {
	local target=$1 run=$2 redis=() resume=() pids=() nodes=(1 2) n p ok=1
	rm -f "$OUT"/node[1-3].out "$OUT"/node[1-3].err
	if [ "$target" = parley-cluster ]; then
		redis_start
		nodes=(1 2 3)
	fi
	pg_new_db "bench_storm_run${run}_$(date +%s%N)" || ok=""
	for n in "${nodes[@]}"; do
		[ -z "$REDIS_PID" ] || redis=(--redis "$REDIS_URL" --node "n$n")
		[ -z "$ok" ] || start_node "$n" "${redis[@]}" || ok=""
		if [ "$n" -gt 1 ]; then
			resume+=(--resume-port "${NODE_PORTS[n]}")
			pids+=(--server-pid "${NODE_PIDS[n]}")
		fi
	done
	if [ -n "$ok" ] && { [ -z "$REDIS_PID" ] || bus_up "${nodes[@]}"; } &&
		setup_chats "$STORM_CHATS" && check_nodes "${nodes[@]}"; then
		for p in $(pg_pids); do pids+=(--db-pid "$p"); done
		[ -z "$REDIS_PID" ] || pids+=(--redis-pid "$REDIS_PID")
		# shellcheck disable=SC2046
		measure_cluster "$target" storm "$run" $(for n in "${nodes[@]:1}"; do echo "${NODE_PIDS[n]}"; done) -- \
			--storm --kill-pid "${NODE_PIDS[1]}" "${resume[@]}" "${pids[@]}" \
			--port "$PARLEY_PORT" --chat-ids-file "$OUT/chat-ids" --chats "$STORM_CHATS" \
			--subs-per-chat "$STORM_SUBS" --posts $((STORM_CHATS * STORM_BEFORE)) \
			--publishers 8 --storm-posts 1 --resume-delay "$STORM_DELAY" --drain-timeout 60
		wait "${NODE_PIDS[1]}" 2>/dev/null || true	# killed by the loadgen: reaped here
		NODE_PIDS[1]=""
	else
		fail_run "$target" storm "$run" "$WHY"
	fi
	stop_servers
	sleep "$SETTLE"
}

# stop_cluster: every node, the second nginx, Redis (run.sh's stop_servers)
stop_cluster() {
	local n
	for n in 1 2 3; do
		stop_pid "${NODE_PIDS[n]:-}"
		NODE_PIDS[n]=""
	done
	stop_nginx_pid "$NGINX2_PID"
	NGINX2_PID=""
	redis_stop
}
