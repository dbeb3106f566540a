# daemon_lib.sh - helpers for the daemon tests (sourced after lib.sh).
#   notify_listen FILE    a unix datagram socket at $TMP/notify.sock that
#                         appends each message (one line, newlines as ';')
#                         to FILE; exports NOTIFY_SOCKET
#   start_daemon MANIFEST LOG [ARGS]  integ daemon in the background
#                         ($DPID), waits until it answers on its socket
#                         ($SOCK must be the manifest's control_socket)
#   wait_for FILE REGEX SECONDS  0 when FILE matches within SECONDS
#   count FILE REGEX      lines of FILE matching REGEX
notify_listen() {
  NOTIFY_SOCKET=$TMP/notify.sock
  export NOTIFY_SOCKET
  python3 - "$NOTIFY_SOCKET" "$1" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
sys.stdout.flush()
with open(sys.argv[2], "a") as f:
    while True:
        m = s.recv(4096).decode()
        f.write(m.replace("\n", ";") + "\n")
        f.flush()
PY
  _cleanup_pids="$_cleanup_pids $!"
  for _i in $(seq 50); do [ -S "$NOTIFY_SOCKET" ] && return 0; sleep 0.1; done
  return 1
}

wait_for() {
  _end=$(($(date +%s) + $3))
  while [ "$(date +%s)" -le "$_end" ]; do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

count() { grep -Ec -- "$2" "$1" 2>/dev/null || true; }

start_daemon() {
  _m=$1 _log=$2
  shift 2
  "$INTEG" -c "$_m" daemon "$@" 2>>"$_log" &
  DPID=$!
  _cleanup_pids="$_cleanup_pids $DPID"
  wait_for "$_log" "started \\(pid $DPID\\)" 10
}
