# lib.sh - TAP helpers for integ's shell tests. Source it:  . "$top_srcdir/tests/lib.sh"
#
#   plan N                 announce N tests
#   ok DESC / not_ok DESC  one result
#   is GOT EXPECTED DESC   compare two strings, print both on failure
#   like GOT PATTERN DESC  grep -E PATTERN in GOT
#   skip_all WHY           skip the whole script (exit 77 under automake)
#   tmpdir                 a fresh directory removed at exit ($TMP)
#   anchor REL             whether reference data $ANCHORS/REL is there
#   anchors_all REL        the same for a whole script (see below)
# Variables from the Makefile: $INTEG, $ANCHORS, $PLUGIN_DIR,
# $TEST_PLUGIN_DIR, $abs_top_srcdir, $abs_top_builddir.

_tap_n=0
_tap_failed=0

plan() { echo "1..$1"; }

ok() {
  _tap_n=$((_tap_n + 1))
  echo "ok $_tap_n - $*"
}

not_ok() {
  _tap_n=$((_tap_n + 1))
  _tap_failed=$((_tap_failed + 1))
  echo "not ok $_tap_n - $*"
}

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

is() {
  if [ "$1" = "$2" ]; then
    ok "$3"
  else
    not_ok "$3"
    diag "expected: $2" "     got: $1"
  fi
}

like() {
  if printf '%s\n' "$1" | grep -Eq -- "$2"; then
    ok "$3"
  else
    not_ok "$3"
    diag "expected to match: $2" "got: $1"
  fi
}

skip_all() {
  echo "1..0 # SKIP $*"
  exit 0
}

# Reference data (the anchors directory, tzdata): missing data fails the
# tests that need it, unless configure --without-anchors said it is
# absent on purpose (make check then sets ANCHORS empty): they are skipped.
#   anchor REL       0 when $ANCHORS/REL is there ($ANCHOR is its path);
#                    else 1, after one TAP result saying why (a skip or a
#                    failure) in place of the test that needed it
#   anchors_all REL  returns when $ANCHORS/REL is there ($ANCHOR); else
#                    skips or fails the whole script
#   reference_missing WHY  for other reference data (a time zone)
_anchors_why() {
  if [ -z "${ANCHORS+set}" ]; then
    echo "ANCHORS is not set: run the test with make check, or set ANCHORS=DIR (ANCHORS= when the reference data is absent on purpose)"
  else
    echo "reference data $1 not found: configure --with-anchors=DIR, or --without-anchors to skip the tests that need it"
  fi
}
anchor() {
  ANCHOR=${ANCHORS:-}/$1
  if [ -n "${ANCHORS:-}" ] && [ -e "$ANCHOR" ]; then return 0; fi
  if [ -n "${ANCHORS+set}" ] && [ -z "$ANCHORS" ]; then
    ok "# SKIP anchors absent (--without-anchors)"
  else
    not_ok "$(_anchors_why "$ANCHOR")"
  fi
  return 1
}
anchors_all() {
  ANCHOR=${ANCHORS:-}/$1
  if [ -n "${ANCHORS:-}" ] && [ -e "$ANCHOR" ]; then return 0; fi
  if [ -n "${ANCHORS+set}" ] && [ -z "$ANCHORS" ]; then
    skip_all "anchors absent (--without-anchors)"
  fi
  reference_missing "$(_anchors_why "$ANCHOR")"
}
reference_missing() {
  if [ -n "${ANCHORS+set}" ] && [ -z "$ANCHORS" ]; then
    skip_all "anchors absent (--without-anchors): $*"
  fi
  plan 1
  not_ok "$*"
  exit 1
}

_cleanup_dirs=
_cleanup_pids=
_lib_cleanup() {
  for p in $_cleanup_pids; do kill "$p" 2>/dev/null; done
  for d in $_cleanup_dirs; do chmod -R u+w "$d" 2>/dev/null; rm -rf "$d"; done
}
trap _lib_cleanup EXIT
trap 'exit 1' INT TERM

# A fresh private directory, removed at exit. Sets $TMP. The directory is
# mode 0755 whatever the umask, so the plugin loader accepts it.
tmpdir() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/integ-test.XXXXXX") || exit 1
  chmod 0755 "$TMP"
  _cleanup_dirs="$_cleanup_dirs $TMP"
}

# Run a command, capturing stdout in $OUT, stderr in $ERR, status in $RC.
run() {
  _o=$(mktemp) _e=$(mktemp)
  "$@" >"$_o" 2>"$_e"
  RC=$?
  OUT=$(cat "$_o") ERR=$(cat "$_e")
  rm -f "$_o" "$_e"
}

# testapi helpers
# start_testapi SCENARIO [ARGS...]  start tests/testapi/testapi on a free
#   loopback port with scenario file SCENARIO ("" for none); sets
#   $TESTAPI_PORT, $TESTAPI_PID, $TESTAPI_URL (http://127.0.0.1:PORT) and
#   $TESTAPI_STDERR (its stderr file). The server is killed at exit and
#   exits by itself after $TESTAPI_IDLE seconds (default 30) without a
#   request. Returns 1 when it does not start.
# stop_testapi  SIGTERM it and wait; sets $TESTAPI_RC (0 on a clean exit).
TESTAPI=${TESTAPI:-$abs_top_builddir/tests/testapi/testapi}
start_testapi() {
  _ta_scen=$1
  shift
  _ta_dir=$(mktemp -d "${TMPDIR:-/tmp}/integ-testapi.XXXXXX") || return 1
  _cleanup_dirs="$_cleanup_dirs $_ta_dir"
  TESTAPI_STDERR=$_ta_dir/stderr
  if [ -n "$_ta_scen" ]; then set -- --scenario "$_ta_scen" "$@"; fi
  "$TESTAPI" --port 0 --idle-exit "${TESTAPI_IDLE:-30}" "$@" \
    >"$_ta_dir/stdout" 2>"$TESTAPI_STDERR" &
  TESTAPI_PID=$!
  _cleanup_pids="$_cleanup_pids $TESTAPI_PID"
  TESTAPI_PORT=
  _ta_i=0
  while [ $_ta_i -lt 200 ]; do
    TESTAPI_PORT=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$_ta_dir/stdout")
    [ -n "$TESTAPI_PORT" ] && break
    kill -0 "$TESTAPI_PID" 2>/dev/null || break
    sleep 0.05
    _ta_i=$((_ta_i + 1))
  done
  if [ -z "$TESTAPI_PORT" ]; then
    diag "testapi did not start:" "$(cat "$TESTAPI_STDERR")"
    return 1
  fi
  TESTAPI_URL=http://127.0.0.1:$TESTAPI_PORT
  export TESTAPI_PORT TESTAPI_PID TESTAPI_URL
}
stop_testapi() {
  kill -TERM "$TESTAPI_PID" 2>/dev/null
  wait "$TESTAPI_PID"
  TESTAPI_RC=$?
}
