#!/bin/sh
# check.sh - the whole test suite, as CI runs it: install the dependencies,
# check the sources (packaging/source-check.sh: format, banned functions),
# build with warnings as errors, `make distcheck`, then a sanitizer build's
# `make check` (ASan + UBSan). Prints one last line "N passed, N failed"
# and exits non-zero if anything failed, or if a test that needs the
# reference data in ../shared/anchors was skipped.
#   packaging/check.sh [--no-deps]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
anchors=${ANCHORS:-$(cd "$top/.." && pwd)/shared/anchors}
jobs=$(nproc 2>/dev/null || echo 2)
log=$top/_check
umask 022

[ "${1:-}" = --no-deps ] || packaging/install-deps.sh || exit 2
if [ ! -d "$anchors" ]; then
  echo "check.sh: reference data not found at $anchors (set ANCHORS=DIR)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
rm -rf "$log" && mkdir -p "$log/dist" "$log/san" || exit 2
autoreconf -fi >"$log/autoreconf.log" 2>&1 || { cat "$log/autoreconf.log"; echo "0 passed, 1 failed"; exit 1; }

status=0
echo "== source check (clang-format, banned functions)"
packaging/source-check.sh >"$log/source.log" 2>&1 || { cat "$log/source.log"; status=1; }

echo "== make distcheck (--enable-werror)"
( cd "$log/dist" && "$top/configure" --enable-werror --with-anchors="$anchors" >configure.log 2>&1 &&
  make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS="--enable-werror --with-anchors=$anchors" ) \
  >"$log/dist.log" 2>&1 || status=1
grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP|XFAIL|# [A-Z]+:)' "$log/dist.log" | grep -v '^PASS' 
[ $status = 0 ] || { echo "distcheck failed; the end of its log:"; tail -40 "$log/dist.log"; }

echo "== make check (--enable-sanitizers)"
( cd "$log/san" && "$top/configure" --enable-werror --enable-sanitizers --with-anchors="$anchors" >configure.log 2>&1 &&
  make -j"$jobs" && make -j"$jobs" check ) >"$log/san.log" 2>&1 || status=1
grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP|XFAIL|# [A-Z]+:)' "$log/san.log" | grep -v '^PASS'
if [ $status != 0 ]; then
  echo "sanitizer build failed; the end of its log:"; tail -40 "$log/san.log"
  for f in $(find "$log/san" -name '*.log' -newer "$log/san/configure.log" 2>/dev/null); do
    grep -lqE '^(FAIL|ERROR)' "$f" 2>/dev/null && { echo "--- $f"; tail -30 "$f"; }
  done
fi

# Anchor tests must not be skipped: the reference data is the point.
if grep -E '^SKIP:.*anchors' "$log/dist.log" "$log/san.log"; then
  echo "check.sh: tests that need the anchors were skipped" >&2
  status=1
fi
# Nor the unit tests: CI has cmocka.
if grep -E '^SKIP:.*cmocka' "$log/dist.log" "$log/san.log"; then
  echo "check.sh: unit tests were skipped for want of cmocka" >&2
  status=1
fi
sum() { cat "$log/dist.log" "$log/san.log" | sed -n "s/^# $1: *//p" | awk '{s+=$1} END {print s+0}'; }
passed=$(sum PASS)
failed=$(( $(sum FAIL) + $(sum ERROR) + $(sum XPASS) ))
if [ "$passed" = 0 ] || [ "$failed" != 0 ]; then status=1; fi
[ $status = 0 ] || [ "$failed" != 0 ] || failed=1
echo "$passed passed, $failed failed"
exit $status
