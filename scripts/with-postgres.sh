#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL: a cluster made with initdb in a new
# temporary directory, reached only by its unix socket (no TCP), user parley with trust
# auth, made for speed (fsync and full-page writes off; commits still synchronous).
# The command sees PARLEY_TEST_PG=postgres://parley@/postgres?host=SOCKET_DIR, the
# server's binaries first on PATH, and (for tests that stop and start the cluster with
# pg_ctl) PARLEY_TEST_PG_DATA, its data directory, and PARLEY_TEST_PG_USER, the user the
# server runs as (empty: this one). Afterwards, on failure, Ctrl-C or SIGTERM too, the
# cluster is stopped and the directory removed. Exits with the command's status.
# Called by `make http-test` for its PostgreSQL pass.
# Usage: scripts/with-postgres.sh CMD [ARGS...]
#        scripts/with-postgres.sh --check   (only: is PostgreSQL's server installed?)
# PG_BINDIR=DIR picks the server's binaries (default: the newest /usr/lib/postgresql/*/bin).
# As root the server runs as PG_USER (default nobody): initdb refuses to run as root.
set -uo pipefail
# shellcheck source=scripts/lib/wrap.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/wrap.sh"

me=with-postgres.sh
if [ $# -eq 0 ]; then
  echo "usage: scripts/$me CMD [ARGS...] | --check" >&2
  exit 2
fi

# The server's binaries: PG_BINDIR, else the newest Debian cluster version, else PATH.
bindir=${PG_BINDIR-}
if [ -z "$bindir" ]; then
  newest=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
  if [ -x "$newest" ]; then
    bindir=${newest%/initdb}
  elif command -v initdb >/dev/null 2>&1; then
    bindir=$(dirname "$(command -v initdb)")
  fi
fi
for b in initdb pg_ctl postgres psql; do
  if [ -z "$bindir" ] || [ ! -x "$bindir/$b" ]; then
    echo "$me: PostgreSQL's server is not installed (no ${bindir:-/usr/lib/postgresql/*/bin}/$b): install the Debian package postgresql (scripts/install-deps.sh does)" >&2
    exit 1
  fi
done
[ "$1" = --check ] && exit 0

# As root, the server's commands run as an unprivileged user owning the directory.
pg_user=
if [ "$(id -u)" -eq 0 ]; then
  pg_user=${PG_USER:-nobody}
fi
as_pg() {
  if [ -z "$pg_user" ]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u "$pg_user" -- "$@"
  else
    su "$pg_user" -s /bin/sh -c '"$0" "$@"' -- "$@"
  fi
}

# The socket's path (DIR/.s.PGSQL.5432) must fit in 107 bytes: a long TMPDIR gives way to /tmp.
tmp_root=${TMPDIR:-/tmp}
[ ${#tmp_root} -gt 60 ] && tmp_root=/tmp
dir=$(mktemp -d "$tmp_root/parley-pg.XXXXXX") || { echo "$me: cannot make a temporary directory in $tmp_root" >&2; exit 1; }
data=$dir/data

# Stops the cluster (if it got as far as starting) and removes the directory; runs once.
# shellcheck disable=SC2317  # run by the EXIT trap (lib/wrap.sh)
cleanup() {
  trap - EXIT; trap "" INT TERM HUP
  if [ -f "$data/postmaster.pid" ]; then
    if ! as_pg "$bindir/pg_ctl" -D "$data" -m immediate -w -t 20 stop >/dev/null 2>&1; then
      pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null)
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -rf "$dir"
}
wrap_signals

fail() {
  echo "$me: $1" >&2
  for log in "$dir/initdb.log" "$dir/server.log"; do
    [ -s "$log" ] && { echo "--- $log:" >&2; tail -n 30 "$log" >&2; }
  done
  exit 1
}

if [ -n "$pg_user" ]; then
  chown "$pg_user": "$dir" || fail "cannot give $dir to $pg_user"
  as_pg test -w "$dir" || fail "$pg_user cannot write to $dir (is $tmp_root open to it? set TMPDIR)"
fi

# Each command runs from the directory: the unprivileged user may not read the caller's.
(cd "$dir" && as_pg "$bindir/initdb" -D "$data" -U parley --auth=trust --no-sync \
  -E UTF8 --locale=C) >"$dir/initdb.log" 2>&1 || fail "initdb failed"
cat >>"$data/postgresql.conf" <<EOF

# with-postgres.sh: a throwaway cluster for tests
listen_addresses = ''
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
full_page_writes = off
synchronous_commit = on
EOF
touch "$dir/server.log" && { [ -z "$pg_user" ] || chown "$pg_user": "$dir/server.log"; }
(cd "$dir" && as_pg "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start) \
  >/dev/null 2>&1 || fail "the PostgreSQL server did not start"

export PARLEY_TEST_PG="postgres://parley@/postgres?host=$dir"
export PARLEY_TEST_PG_DATA="$data" PARLEY_TEST_PG_USER="$pg_user"
export PATH="$bindir:$PATH"

wrap_run "$@"
