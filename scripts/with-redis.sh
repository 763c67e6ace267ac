#!/usr/bin/env bash
# Runs a command against a throwaway Redis: a redis-server in a new temporary directory,
# reached only by its unix socket (port 0: no TCP; the socket is the caller's alone,
# mode 700), with no persistence (no RDB snapshots, no append-only file).
# The command sees PARLEY_TEST_REDIS=unix://DIR/redis.sock, PARLEY_TEST_REDIS_DIR=DIR and
# (for tests that stop and start the server) PARLEY_TEST_REDIS_CONF, its config file:
#   redis-cli -s DIR/redis.sock shutdown nosave    stops it
#   redis-server "$PARLEY_TEST_REDIS_CONF"          starts it again (it goes to the background
#                                                  and is ready once the socket answers PING)
# Afterwards, on failure, Ctrl-C or SIGTERM too, the server is stopped and the directory
# removed. Exits with the command's status.
# Usage: scripts/with-redis.sh CMD [ARGS...]
#        scripts/with-redis.sh --check   (only: is redis-server installed?)
# REDIS_SERVER=PATH picks the server's binary (default: redis-server on PATH).
set -uo pipefail
# shellcheck source=scripts/lib/wrap.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/wrap.sh"

me=with-redis.sh
if [ $# -eq 0 ]; then
  echo "usage: scripts/$me CMD [ARGS...] | --check" >&2
  exit 2
fi

# redis-cli comes with redis-server (its dependency redis-tools); both are needed.
server=${REDIS_SERVER:-$(command -v redis-server 2>/dev/null || true)}
[ -z "$server" ] && [ -x /usr/bin/redis-server ] && server=/usr/bin/redis-server
cli=$(command -v redis-cli 2>/dev/null || true)
[ -z "$cli" ] && [ -x /usr/bin/redis-cli ] && cli=/usr/bin/redis-cli
if [ -z "$server" ] || [ ! -x "$server" ] || [ -z "$cli" ]; then
  echo "$me: redis-server is not installed: install the Debian package redis-server (scripts/install-deps.sh does)" >&2
  exit 1
fi
[ "$1" = --check ] && exit 0

# The socket's path (DIR/redis.sock) must fit in 107 bytes: a long TMPDIR gives way to /tmp.
tmp_root=${TMPDIR:-/tmp}
[ ${#tmp_root} -gt 60 ] && tmp_root=/tmp
dir=$(mktemp -d "$tmp_root/parley-redis.XXXXXX") || { echo "$me: cannot make a temporary directory in $tmp_root" >&2; exit 1; }
sock=$dir/redis.sock
conf=$dir/redis.conf
pidfile=$dir/redis.pid

# The pid in the pid file, if that process is still a redis-server (a test may have
# stopped it, or stopped and started it again: the file always names the current one).
server_pid() {
  local pid
  pid=$(head -n 1 "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q redis || return 1
  echo "$pid"
}

# Stops the server (whichever one runs now) and removes the directory; runs once.
# shellcheck disable=SC2317  # run by the EXIT trap (lib/wrap.sh)
cleanup() {
  trap - EXIT; trap "" INT TERM HUP
  local pid i
  if pid=$(server_pid); then
    "$cli" -s "$sock" shutdown nosave >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -rf "$dir"
}
wrap_signals

fail() {
  echo "$me: $1" >&2
  [ -s "$dir/redis.log" ] && { echo "--- $dir/redis.log:" >&2; tail -n 30 "$dir/redis.log" >&2; }
  exit 1
}

cat >"$conf" <<EOF
# with-redis.sh: a throwaway Redis for tests, on a unix socket only, nothing on disk
port 0
unixsocket $sock
unixsocketperm 700
save ""
appendonly no
dir $dir
daemonize yes
pidfile $pidfile
logfile $dir/redis.log
loglevel notice
EOF

# daemonize: the server detaches (its output to redis.log), so restarting it with
# `redis-server CONF` from a test returns at once as well.
(cd "$dir" && "$server" "$conf") >>"$dir/redis.log" 2>&1 || fail "redis-server did not start"
for i in $(seq 100); do
  [ "$("$cli" -s "$sock" ping 2>/dev/null)" = PONG ] && break
  [ "$i" -eq 100 ] && fail "redis-server did not answer on $sock within 10 s"
  sleep 0.1
done

export PARLEY_TEST_REDIS="unix://$sock"
export PARLEY_TEST_REDIS_DIR="$dir" PARLEY_TEST_REDIS_CONF="$conf"

wrap_run "$@"
