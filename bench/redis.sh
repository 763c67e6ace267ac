# shellcheck shell=bash disable=SC2034  # REDIS_URL, REDIS_TCP: read by run.sh
# bench/redis.sh: the throwaway Redis of the cluster scenarios (C2 and storm), sourced by
# bench/run.sh (which sets OUT, log and stop_pid). A fresh redis-server for every run
# (redis_start; stopped by redis_stop, which run.sh's stop_servers and exit trap call), in
# the foreground as run.sh's child, nothing on disk (no RDB snapshots, no append-only
# file), the rest Redis's defaults. It listens on a unix socket (REDIS_URL, for Parley's
# --redis) and on 127.0.0.1:$REDIS_PORT (REDIS_TCP, for nchan, whose 1.3.6 takes only
# redis://HOST:PORT: a unix:// URL is refused as invalid).
# REDIS_SERVER picks the binary (default: redis-server on PATH).

REDIS_DIR=$PWD/$OUT/redis
REDIS_PORT=${REDIS_PORT:-18083}
REDIS_SOCK_DIR=$REDIS_DIR	# /tmp when DIR/redis.sock is too long for a socket
REDIS_PID=""			# the running server's
REDIS_URL=""			# unix:///…/redis.sock while it runs
REDIS_TCP="127.0.0.1:$REDIS_PORT"

redis_start() {
	local server=${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)} _
	[ -x "$server" ] || { echo "bench: no redis-server (bench/run.sh deps)" >&2; exit 1; }
	redis_stop
	rm -rf "$REDIS_DIR" && mkdir -p "$REDIS_DIR"
	[ ${#REDIS_DIR} -le 90 ] || REDIS_SOCK_DIR=$(mktemp -d /tmp/parley-bench-redis.XXXXXX)
	cat > "$REDIS_DIR/redis.conf" <<-EOF
	# bench/redis.sh: a throwaway Redis, nothing on disk
	bind 127.0.0.1
	port $REDIS_PORT
	unixsocket $REDIS_SOCK_DIR/redis.sock
	unixsocketperm 700
	save ""
	appendonly no
	dir $REDIS_DIR
	daemonize no
	logfile $REDIS_DIR/redis.log
	EOF
	"$server" "$REDIS_DIR/redis.conf" > /dev/null 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 100); do
		if [ "$(redis-cli -s "$REDIS_SOCK_DIR/redis.sock" ping 2>/dev/null)" = PONG ]; then
			REDIS_URL="unix://$REDIS_SOCK_DIR/redis.sock"
			return 0
		fi
		kill -0 "$REDIS_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: redis-server did not start:" >&2
	tail -20 "$REDIS_DIR/redis.log" >&2 || true
	exit 1
}

redis_stop() {	# the running server, if any (its log stays)
	[ -n "$REDIS_PID" ] || return 0
	stop_pid "$REDIS_PID"
	REDIS_PID="" REDIS_URL=""
	rm -f "$REDIS_DIR/redis.sock"
	[ "$REDIS_SOCK_DIR" = "$REDIS_DIR" ] || rm -rf "$REDIS_SOCK_DIR"
	REDIS_SOCK_DIR=$REDIS_DIR
}
