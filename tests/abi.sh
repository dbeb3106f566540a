# abi.sh - the plugin ABI of this build against its dumps in sdk/abi/
# (abidw and abidiff, Debian's abigail-tools): the layout of this minor is
# exactly its dump's, and since each earlier minor of the same major only
# members appended at the end changed. ABI_UPDATE=1 writes this minor's
# dump (when a minor is bumped: commit it with the header).
. "$top_srcdir/tests/lib.sh"
if ! command -v abidw >/dev/null || ! command -v abidiff >/dev/null; then
  skip_all "abidw/abidiff not installed (apt-get install abigail-tools): the ABI dumps are NOT checked"
fi
so=$abs_top_builddir/sdk/abi/.libs/integabi.so
[ -f "$so" ] || skip_all "$so was not built (make check builds it)"
tmpdir
hdr=$top_srcdir/sdk/integ/plugin.h
major=$(sed -n 's/^#define INTEG_ABI_MAJOR //p' "$hdr")
minor=$(sed -n 's/^#define INTEG_ABI_MINOR //p' "$hdr")
dumps=$abs_top_srcdir/sdk/abi
dump=$dumps/integ-$major.$minor.xml
older=
for f in "$dumps"/integ-"$major".*.xml; do
  m=${f##*/integ-"$major".}
  m=${m%.xml}
  if [ -f "$f" ] && [ "$m" -lt "$minor" ]; then older="$older $f"; fi
done
set -- $older
plan $((3 + $#))

abidw --short-locs --no-corpus-path --no-comp-dir-path --out-file "$TMP/current.xml" "$so" 2>"$TMP/abidw.err"
is "$?" 0 "abidw dumps this build's plugin ABI"
if [ "${ABI_UPDATE:-}" = 1 ]; then cp "$TMP/current.xml" "$dump"; fi

if [ -f "$dump" ]; then
  ok "sdk/abi/ has the dump of ABI $major.$minor"
else
  not_ok "sdk/abi/ has the dump of ABI $major.$minor"
  diag "A minor bump needs its dump: ABI_UPDATE=1 make check TESTS=tests/abi.sh, then commit $dump"
fi

# This minor: no change at all. A change, even an appended member, needs
# a minor bump (and then a new dump).
abidiff --no-show-locs "$dump" "$TMP/current.xml" >"$TMP/diff" 2>&1
rc=$?
if [ "$rc" = 0 ]; then
  ok "the layout is exactly ABI $major.$minor's dump"
else
  not_ok "the layout is exactly ABI $major.$minor's dump (abidiff exit $rc)"
  diag "$(head -40 "$TMP/diff")" \
    "A reordered, removed or retyped member breaks every plugin: undo it. An appended one needs INTEG_ABI_MINOR bumped and a new dump."
fi

# Earlier minors of this major: only additions at the end.
for old in "$@"; do
  abidiff --no-show-locs --leaf-changes-only "$old" "$TMP/current.xml" \
    >"$TMP/diff" 2>&1
  rc=$?
  if [ "$rc" = 0 ] ||
     { [ "$rc" = 4 ] && awk -f "$dumps/append-only.awk" "$TMP/diff" >"$TMP/why"; }; then
    ok "since ${old##*/}: members only appended at the end"
  else
    not_ok "since ${old##*/}: members only appended at the end (abidiff exit $rc)"
    diag "$(cat "$TMP/why" 2>/dev/null)" "$(head -40 "$TMP/diff")"
  fi
done
