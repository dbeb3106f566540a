# golden.sh - the example plugin's Singer output, byte for byte, with the
# clock fixed (INTEG_NOW): generated (no HTTP), and pulled from the demo
# API (tests/testapi/scenarios/demo.json) on loopback.
# GOLDEN_UPDATE=1 rewrites the golden files from this build's output.
. "$top_srcdir/tests/lib.sh"
plan 4
tmpdir
export INTEG_NOW=2026-01-02T03:04:05Z
export INTEG_PLUGIN_PATH=$PLUGIN_DIR
G=$abs_top_srcdir/tests/golden

# same NAME DESC: compare $TMP/NAME with the golden file.
same() {
  if [ "${GOLDEN_UPDATE:-}" = 1 ]; then cp "$TMP/$1" "$G/$1"; fi
  if cmp -s "$TMP/$1" "$G/$1"; then
    ok "$2"
  else
    not_ok "$2"
    diag "$(diff -u "$G/$1" "$TMP/$1" | head -20)"
  fi
}

run "$INTEG" run --plugin example --format singer
printf '%s\n' "$OUT" >"$TMP/example_singer.jsonl"
is "$RC" 0 "generated: exit 0"
same example_singer.jsonl "generated: Singer output is the golden file"

start_testapi "$abs_top_srcdir/tests/testapi/scenarios/demo.json" ||
  { not_ok "testapi starts"; exit 1; }
printf '{"base_url": "%s"}\n' "$TESTAPI_URL" >"$TMP/config.json"
"$INTEG" run --plugin example --format singer --config-json "$TMP/config.json" \
  >"$TMP/example_demo_singer.jsonl" 2>"$TMP/err"
is "$?" 0 "demo API: exit 0"
same example_demo_singer.jsonl "demo API: Singer output is the golden file"
