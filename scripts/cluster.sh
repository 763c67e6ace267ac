#!/usr/bin/env bash
# Runs several Parley nodes on one machine, to try them: a throwaway PostgreSQL
# (scripts/with-postgres.sh), a throwaway Redis (scripts/with-redis.sh), three nodes of
# build/parley on free ports (--demo, names node-1..3) and haproxy in front of them on
# 127.0.0.1:$PORT. Prints the address to open (and, on the empty database, the one-time
# setup link, through haproxy), then waits. Ctrl-C or SIGTERM stops the nodes (SIGTERM,
# so streams end cleanly), then haproxy, then Redis and PostgreSQL; nothing is left
# running. The nodes' and haproxy's logs, and haproxy's config, are in a temporary
# directory (printed), removed at the end unless something failed.
# Called by `make cluster`.
# Usage: scripts/cluster.sh      PORT=8080 (haproxy's port), PARLEY_BIN=build/parley,
#                                NODES=3; PARLEY_* variables reach every node (e.g.
#                                PARLEY_ADMIN and PARLEY_ADMIN_PASSWORD instead of a link).
set -uo pipefail

me=cluster.sh
here=$(cd "$(dirname "$0")" && pwd)
bin=${PARLEY_BIN:-$(dirname "$here")/build/parley}
port=${PORT:-8080}
nodes=${NODES:-3}

if [ "${1-}" != --inside ]; then
  # ---- outside: check what is needed, then run the rest inside both wrappers ----
  [ $# -eq 0 ] || { echo "usage: [PORT=8080] [NODES=3] scripts/$me" >&2; exit 2; }
  case $port in ''|*[!0-9]*) echo "$me: PORT must be a port number, not '$port'" >&2; exit 2 ;; esac
  [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || { echo "$me: PORT must be 1-65535, not $port" >&2; exit 2; }
  case $nodes in ''|*[!0-9]*|0) echo "$me: NODES must be 1 or more, not '$nodes'" >&2; exit 2 ;; esac
  [ -x "$bin" ] || { echo "$me: no $bin: run make first (make cluster does)" >&2; exit 1; }
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] ||
    { echo "$me: haproxy is not installed: install the Debian package haproxy (scripts/install-deps.sh does)" >&2; exit 1; }
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$me: 127.0.0.1:$port is taken: PORT=… picks another" >&2
    exit 1
  fi
  "$here/with-postgres.sh" --check || exit 1
  "$here/with-redis.sh" --check || exit 1

  # The chain runs in a session of its own, so Ctrl-C reaches it once, from here, as
  # SIGTERM: each wrapper passes it on, and the inside stops its processes in order.
  chain=
  signalled=
  forward() {
    [ -n "$signalled" ] && return
    signalled=1
    [ -n "$chain" ] && kill -TERM "$chain" 2>/dev/null
  }
  trap forward INT TERM HUP
  setsid "$here/with-postgres.sh" "$here/with-redis.sh" "$here/$me" --inside </dev/null &
  chain=$!
  [ -n "$signalled" ] && kill -TERM "$chain" 2>/dev/null
  while :; do
    wait "$chain"
    status=$?
    kill -0 "$chain" 2>/dev/null && continue
    break
  done
  # Stopped as asked (the wrappers exit 128+15 then): a success, as for parley itself.
  [ -n "$signalled" ] && [ "$status" -eq 143 ] && status=0
  exit "$status"
fi

# ---- inside: PARLEY_TEST_PG and PARLEY_TEST_REDIS are set ----
haproxy_bin=$(command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy)
public="http://127.0.0.1:$port"
tmp_root=${TMPDIR:-/tmp}
dir=$(mktemp -d "$tmp_root/parley-cluster.XXXXXX") || { echo "$me: cannot make a temporary directory in $tmp_root" >&2; exit 1; }
declare -a node_pid node_port node_gone
haproxy_pid=
keep=
stopping=

say() { echo "parley cluster: $*"; }
log_tail() {
  [ -s "$1" ] && { echo "--- $1:" >&2; tail -n "${2:-20}" "$1" >&2; }
}

# Waits up to $2 tenths of a second for process $1 to end; 0 if it did.
wait_gone() {
  local i
  for ((i = 0; i < $2; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  ! kill -0 "$1" 2>/dev/null
}

# Stops everything this script started, nodes first (SIGTERM: streams end cleanly, replies
# are stored as stopped), then haproxy; the wrappers then stop Redis and PostgreSQL.
stop_all() {
  trap '' INT TERM HUP
  stopping=1
  local i pid status others
  # Anything started but not yet recorded (a signal between `&` and `$!`) is in jobs.
  others=$(jobs -p)
  for i in "${!node_pid[@]}"; do kill -TERM "${node_pid[$i]}" 2>/dev/null; done
  for pid in $others; do
    [ "$pid" = "$haproxy_pid" ] || kill -TERM "$pid" 2>/dev/null
  done
  for i in "${!node_pid[@]}"; do
    pid=${node_pid[$i]}
    if ! wait_gone "$pid" 150; then
      echo "$me: node-$i did not stop within 15 s of SIGTERM: killed" >&2
      kill -KILL "$pid" 2>/dev/null
      keep=1
    fi
    wait "$pid" 2>/dev/null
    status=$?
    if [ -z "${node_gone[$i]-}" ] && [ "$status" -ne 0 ]; then
      echo "$me: node-$i exited with status $status" >&2
      log_tail "$dir/node-$i.log"
      keep=1
    fi
  done
  if [ -n "$haproxy_pid" ]; then
    kill -TERM "$haproxy_pid" 2>/dev/null
    wait_gone "$haproxy_pid" 50 || kill -KILL "$haproxy_pid" 2>/dev/null
    wait "$haproxy_pid" 2>/dev/null
  fi
  for pid in $others; do kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "$keep" ]; then
    say "stopped; logs kept in $dir"
  else
    rm -rf "$dir"
    say "stopped"
  fi
}
trap 'stop_all; exit 0' INT TERM HUP

fail() {
  echo "$me: $1" >&2
  [ -n "${2-}" ] && log_tail "$2" 30
  keep=1
  stop_all >&2
  exit 1
}

# Starts node $1 in the background; its output (stdout and stderr) to node-$1.log.
start_node() {
  "$bin" serve --listen 127.0.0.1:0 --db "$PARLEY_TEST_PG" --redis "$PARLEY_TEST_REDIS" \
    --node "node-$1" --demo --public-url "$public" >"$dir/node-$1.log" 2>&1 </dev/null &
  node_pid[$1]=$!
}
# Waits for node $1's line "parley listening on http://HOST:PORT" and keeps the port.
await_node() {
  local i=$1 t line
  for ((t = 0; t < 300; t++)); do
    line=$(grep -m 1 '^parley listening on http://' "$dir/node-$i.log" 2>/dev/null)
    if [ -n "$line" ]; then
      node_port[$i]=${line##*:}
      return 0
    fi
    if ! kill -0 "${node_pid[$i]}" 2>/dev/null; then
      wait "${node_pid[$i]}"
      t=$?
      node_gone[$i]=1
      fail "node-$i exited at start (status $t)" "$dir/node-$i.log"
    fi
    sleep 0.1
  done
  fail "node-$i did not print its listening line within 30 s" "$dir/node-$i.log"
}

# The status code of GET $2 on 127.0.0.1:$1 (empty when nothing answers).
http_status() (
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$2" "$1" >&3
  IFS=' ' read -r -t 5 _ code _ <&3 && echo "$code"
) 2>/dev/null

# The first node alone: it makes the schema and the demo data on the empty database.
start_node 1
await_node 1
for ((i = 2; i <= nodes; i++)); do start_node "$i"; done
for ((i = 2; i <= nodes; i++)); do await_node "$i"; done

# haproxy: each event sent at once (http-no-delay; else small writes wait up to ~200 ms
# to be merged), timeouts far above the streams' 15 s keepalive, a health check of
# /healthz on every node, the least busy node for each new connection (streams are
# long), /metrics kept to the nodes' own addresses (printed). The setup link node-1
# printed works on every node (the nodes tell each other through Redis). A connection a
# node refuses (it stopped, and its health check has not noticed yet) is tried again on
# another.
servers=
for ((i = 1; i <= nodes; i++)); do
  servers+="    server node-$i 127.0.0.1:${node_port[$i]}"$'\n'
done
cat >"$dir/haproxy.cfg" <<EOF
# scripts/cluster.sh: haproxy in front of $nodes Parley nodes
global
    log stderr format iso local0 info
    maxconn 4096

defaults
    mode http
    log global
    option httplog
    option dontlognull
    option forwardfor
    option http-no-delay
    retries 3
    option redispatch 1
    timeout connect 5s
    timeout http-request 10s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout client-fin 10s
    timeout server-fin 10s

frontend parley
    bind 127.0.0.1:$port
    http-request deny deny_status 404 if { path /metrics }
    default_backend parley

backend parley
    balance leastconn
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    default-server check inter 2s fall 2 rise 2
$servers
EOF
"$haproxy_bin" -c -q -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 ||
  fail "haproxy refused its config $dir/haproxy.cfg" "$dir/haproxy.log"
"$haproxy_bin" -db -f "$dir/haproxy.cfg" >>"$dir/haproxy.log" 2>&1 </dev/null &
haproxy_pid=$!
for ((t = 0; ; t++)); do
  [ "$(http_status "$port" /healthz)" = 200 ] && break
  kill -0 "$haproxy_pid" 2>/dev/null ||
    fail "haproxy did not start (is 127.0.0.1:$port taken? PORT=… picks another)" "$dir/haproxy.log"
  [ "$t" -ge 100 ] && fail "no answer from /healthz through haproxy on 127.0.0.1:$port within 10 s" "$dir/haproxy.log"
  sleep 0.1
done

say "open $public"
setup=$(grep -m 1 '^parley setup: http://' "$dir/node-1.log")
if [ -n "$setup" ]; then
  setup=${setup#parley setup: http://}
  echo "parley setup: $public/${setup#*/}"
fi
ports=
for ((i = 1; i <= nodes; i++)); do ports+=" node-$i=127.0.0.1:${node_port[$i]}"; done
say "nodes:$ports; logs: $dir/node-N.log, $dir/haproxy.log; Ctrl-C stops everything"

# Waits; a node that dies is reported (haproxy's health check takes it out), haproxy
# dying ends the cluster.
while [ -z "$stopping" ]; do
  sleep 1 &
  wait $! 2>/dev/null
  for ((i = 1; i <= nodes; i++)); do
    [ -z "${node_gone[$i]-}" ] || continue
    kill -0 "${node_pid[$i]}" 2>/dev/null && continue
    wait "${node_pid[$i]}"
    status=$?
    node_gone[$i]=1
    keep=1
    echo "$me: node-$i exited with status $status; its log: $dir/node-$i.log" >&2
    log_tail "$dir/node-$i.log" 10
  done
  kill -0 "$haproxy_pid" 2>/dev/null || fail "haproxy exited" "$dir/haproxy.log"
done
