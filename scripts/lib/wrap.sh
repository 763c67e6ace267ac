# shellcheck shell=bash
# scripts/lib/wrap.sh - sourced by with-postgres.sh and with-redis.sh, which each start a
# throwaway service, run a command against it, and stop it afterwards. The script defines
# cleanup() (stop the service, remove its directory; it runs once) and then calls
# wrap_signals; at its end, wrap_run CMD [ARGS...] runs the command and exits with its
# status. A signal goes on to the command; a second one, a second or more later, kills it
# (one Ctrl-C can arrive twice, from the terminal and from a wrapper around this one: a
# signal within a second of the first is taken for the same). cleanup runs on every exit.

child=
signalled=
first_signal_us=

wrap_on_signal() {
  local now=${EPOCHREALTIME/./}
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    if [ -z "$signalled" ]; then
      kill -"$1" "$child" 2>/dev/null
      first_signal_us=$now
    elif [ $((now - first_signal_us)) -ge 1000000 ]; then
      kill -KILL "$child" 2>/dev/null
    fi
  fi
  [ -n "$signalled" ] || signalled=$2
  [ -n "$child" ] || exit $((128 + signalled))
}

wrap_signals() {
  trap cleanup EXIT
  trap 'wrap_on_signal INT 2' INT
  trap 'wrap_on_signal TERM 15' TERM
  trap 'wrap_on_signal HUP 1' HUP
}

wrap_run() {
  # In the background so a signal reaches the trap at once (wait returns for it); SIGINT
  # and SIGQUIT back to their defaults, which a background command would otherwise ignore.
  (trap - INT QUIT; exec "$@") &
  child=$!
  local status
  # A trapped signal cuts a wait short: wait again until the command has ended.
  while :; do
    wait "$child"
    status=$?
    [ -n "$signalled" ] && kill -0 "$child" 2>/dev/null && continue
    break
  done
  [ -n "$signalled" ] && status=$((128 + signalled))
  exit "$status"
}
