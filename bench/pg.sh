# shellcheck shell=bash disable=SC2034  # PG_DB, WHY: read by run.sh
# bench/pg.sh: the throwaway PostgreSQL of target parley-pg, sourced by bench/run.sh
# (which sets OUT and log). One cluster per bench run, initdb'd in $OUT/pg/data
# (removed when stopped; initdb.log and server.log stay), unix socket only, durable
# (fsync, synchronous_commit and full_page_writes on), shared_buffers 256MB. As root
# it runs as nobody (initdb refuses root). A fresh database per run: pg_new_db.
# PG_BINDIR picks the binaries (default: the newest /usr/lib/postgresql/*/bin).

PG_DIR=$PWD/$OUT/pg
PG_SOCK=$PG_DIR	# the socket's directory; /tmp when the path is too long for a socket
PG_ON=""	# set once the cluster was started (pg_stop stops it)
PG_DB=""	# the running parley-pg target's database, as --db URL

pg_as() {	# CMD...: as the cluster's owner (nobody when root), from its directory
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$PG_DIR" && runuser -u nobody -- "$@")
	else
		(cd "$PG_DIR" && "$@")
	fi
}

pg_start() {
	local bin=${PG_BINDIR:-$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}
	[ -x "$bin/initdb" ] || { echo "bench: no PostgreSQL server in ${bin:-/usr/lib/postgresql/*/bin} (bench/run.sh deps)" >&2; exit 1; }
	PG_BIN=$bin
	pg_stop
	rm -rf "$PG_DIR" && mkdir -p "$PG_DIR/data"
	# DIR/.s.PGSQL.5432 must fit in a socket address (107 bytes)
	[ ${#PG_DIR} -le 90 ] || PG_SOCK=$(mktemp -d /tmp/parley-bench-pg.XXXXXX)
	[ "$(id -u)" -ne 0 ] || chown -R nobody: "$PG_DIR" "$PG_SOCK"
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U parley --auth=trust -E UTF8 --locale=C \
		> "$PG_DIR/initdb.log" 2>&1 || { echo "bench: initdb failed:" >&2; tail -20 "$PG_DIR/initdb.log" >&2; exit 1; }
	cat >> "$PG_DIR/data/postgresql.conf" <<-EOF
	# bench/pg.sh: durable, as a server people rely on would run
	listen_addresses = ''
	unix_socket_directories = '$PG_SOCK'
	shared_buffers = 256MB
	fsync = on
	synchronous_commit = on
	full_page_writes = on
	EOF
	PG_ON=1
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start > /dev/null ||
		{ echo "bench: PostgreSQL did not start:" >&2; tail -20 "$PG_DIR/server.log" >&2; exit 1; }
	log "postgres: $("$PG_BIN/postgres" --version), data in $PG_DIR/data, socket in $PG_SOCK"
}

pg_stop() {	# fast shutdown, else KILL; removes the data (logs stay)
	[ -n "$PG_ON" ] || return 0
	PG_ON=""
	if [ -f "$PG_DIR/data/postmaster.pid" ] &&
		! pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop > /dev/null 2>&1; then
		kill -KILL "$(head -1 "$PG_DIR/data/postmaster.pid")" 2>/dev/null || true
	fi
	rm -rf "$PG_DIR/data"
	[ "$PG_SOCK" = "$PG_DIR" ] || rm -rf "$PG_SOCK"
}

pg_new_db() {	# NAME: a new, empty database; PG_DB becomes its URL
	pg_as "$PG_BIN/psql" -h "$PG_SOCK" -U parley -d postgres -qAtX -v ON_ERROR_STOP=1 \
		-c "CREATE DATABASE $1" > "$OUT/psql.err" 2>&1 ||
		{ WHY="CREATE DATABASE $1: $(head -c 300 "$OUT/psql.err")"; return 1; }
	PG_DB="postgres://parley@/$1?host=$PG_SOCK"
}

pg_pids() {	# the cluster's processes: the postmaster, then its children
	local pm
	pm=$(head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || return 0
	echo "$pm $(children "$pm")"
}
