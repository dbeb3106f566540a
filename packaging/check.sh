#!/bin/sh
# check.sh - the whole test suite, as CI runs it: install the dependencies,
# check the sources (packaging/source-check.sh: format, banned functions),
# build with warnings as errors, `make distcheck`, then a sanitizer build's
# `make check` (ASan + UBSan). Prints one last line "N passed, N failed"
# and exits non-zero if anything failed, or if a test that needs the
# reference data in ../shared/anchors was skipped.
#   packaging/check.sh [--no-deps]
# It builds from a clean copy of the source tree (the files git tracks,
# plus new ones it does not ignore), so a tree already configured and built
# in place (`./configure && make demo`) is neither refused nor touched.
# Everything goes under _check/ ($CHECK_DIR); every failure prints the
# lines that explain it: configure's, the build's, the failing tests' logs.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
anchors=${ANCHORS:-$(cd "$top/.." && pwd)/shared/anchors}
jobs=$(nproc 2>/dev/null || echo 2)
log=${CHECK_DIR:-$top/_check}
umask 022

[ "${1:-}" = --no-deps ] || packaging/install-deps.sh || exit 2
if [ ! -d "$anchors" ]; then
  echo "check.sh: reference data not found at $anchors (set ANCHORS=DIR)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
rm -rf "$log" && mkdir -p "$log/src" "$log/dist" "$log/san" || exit 2
log=$(cd "$log" && pwd)
src=$log/src

# explain WHAT DIR LOG: say that WHAT failed and show why: configure's
# error and the config.log lines before it, or the end of the build's log
# and the log of each test that failed.
explain() {
  echo "$1 failed; what explains it:"
  if [ -f "$2/configure.log" ] && ! grep -q '^config.status: creating Makefile' "$2/configure.log"; then
    echo "--- the end of $2/configure.log"
    tail -15 "$2/configure.log"
    if [ -f "$2/config.log" ]; then
      echo "--- the end of $2/config.log (before its cache variables)"
      sed '/^## Cache variables/,$d' "$2/config.log" | grep -v '^## -*' | tail -20
    fi
    return
  fi
  echo "--- the end of $3 (PASS lines left out)"
  grep -v '^PASS: ' "$3" | tail -30
  # A test's log is its name without the extension (tests/cli.sh: cli.log).
  for t in $(sed -n 's/^\(FAIL\|ERROR\): \([^ ]*\).*/\2/p' "$3" | sort -u); do
    find "$2" \( -path "*/${t%.*}.log" -o -path "*/$t.log" \) 2>/dev/null |
      while read -r f; do
        echo "--- $f"
        grep -E -B2 -A12 '^not ok|^FAIL|^ERROR|FAILED|==ERROR|runtime error' "$f" |
          tail -60
      done
  done
  # A distcheck tarball that failed to configure or build in its own tree.
  find "$2" -mindepth 2 -name config.log 2>/dev/null |
    while read -r f; do
      grep -qE '^configure:[0-9]+: error' "$f" || continue
      echo "--- $f"
      grep -B 20 -E '^configure:[0-9]+: error' "$f" | tail -25
    done
}

# The clean copy: tracked files as they are in the working tree (so edits
# not yet committed are checked), or, outside a git checkout (a release
# tarball), the whole tree with any in-place configuration undone in the
# copy only.
if [ "$(git -C "$top" rev-parse --show-toplevel 2>/dev/null)" = "$top" ]; then
  git -C "$top" ls-files -z --cached --others --exclude-standard |
    (cd "$top" && tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
    tar -xf - -C "$src"
else
  (cd "$top" && tar --exclude=./_check -cf - .) | tar -xf - -C "$src"
  chmod -R u+w "$src"
  if [ -f "$src/Makefile" ]; then
    (cd "$src" && make distclean) >"$log/distclean.log" 2>&1
  fi
  rm -f "$src/config.status" "$src/config.h" "$src/config.log" "$src/Makefile"
fi
if [ ! -f "$src/configure.ac" ]; then
  echo "check.sh: could not copy the source tree to $src" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
(cd "$src" && autoreconf -fi) >"$log/autoreconf.log" 2>&1 || {
  echo "autoreconf failed; the end of its log:"
  tail -40 "$log/autoreconf.log"
  echo "0 passed, 1 failed"
  exit 1
}

status=0
echo "== source check (clang-format, banned functions)"
packaging/source-check.sh >"$log/source.log" 2>&1 || { cat "$log/source.log"; status=1; }

echo "== make distcheck (--enable-werror)"
( cd "$log/dist" && "$src/configure" --enable-werror --with-anchors="$anchors" >configure.log 2>&1 &&
  make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS="--enable-werror --with-anchors=$anchors" ) \
  >"$log/dist.log" 2>&1 || status=1
grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP|XFAIL|# [A-Z]+:)' "$log/dist.log" | grep -v '^PASS' 
[ $status = 0 ] || explain "make distcheck" "$log/dist" "$log/dist.log"

echo "== make check (--enable-sanitizers)"
san=0
( cd "$log/san" && "$src/configure" --enable-werror --enable-sanitizers --with-anchors="$anchors" >configure.log 2>&1 &&
  make -j"$jobs" && make -j"$jobs" check ) >"$log/san.log" 2>&1 || san=1
grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP|XFAIL|# [A-Z]+:)' "$log/san.log" | grep -v '^PASS'
[ $san = 0 ] || { status=1; explain "the sanitizer build" "$log/san" "$log/san.log"; }

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
