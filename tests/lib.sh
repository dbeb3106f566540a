# lib.sh - TAP helpers for integ's shell tests. Source it:  . "$top_srcdir/tests/lib.sh"
#
#   plan N                 announce N tests
#   ok DESC / not_ok DESC  one result
#   is GOT EXPECTED DESC   compare two strings, print both on failure
#   like GOT PATTERN DESC  grep -E PATTERN in GOT
#   skip_all WHY           skip the whole script (exit 77 under automake)
#   tmpdir                 a fresh directory removed at exit ($TMP)
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
