#!/bin/sh
# airbyte_schema.sh - every Airbyte message kind the emitter writes is valid
# against the protocol's own JSON Schema (airbyte_protocol.yaml), checked
# with a real validator (python3-jsonschema), and is byte for byte the
# golden file; the validator itself rejects broken messages.
. "$top_srcdir/tests/lib.sh"

anchors_all airbyte/airbyte_protocol.yaml
protocol=$ANCHOR

# A python3 that has jsonschema and yaml (a pyenv one on PATH may lack
# them; Debian's has them when python3-jsonschema is installed).
py=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 &&
     "$p" -c 'import jsonschema, yaml' 2>/dev/null; then
    py=$p
    break
  fi
done
[ -n "$py" ] || skip_all "python3 with jsonschema and yaml not found"

validate="$abs_top_srcdir/tests/validate_airbyte.py"
sample="$abs_top_builddir/tests/emit_sample"
tmpdir
out=$TMP/sample.jsonl

plan 6

if "$sample" >"$out" 2>"$TMP/err"; then
  ok "emit_sample writes every Airbyte message kind"
else
  not_ok "emit_sample writes every Airbyte message kind"
  diag "$(cat "$TMP/err")"
fi

if "$py" "$validate" "$protocol" "$out" >"$TMP/v" 2>&1; then
  ok "every message validates against airbyte_protocol.yaml"
else
  not_ok "every message validates against airbyte_protocol.yaml"
  diag "$(cat "$TMP/v")"
fi

kinds=$(sed -n 's/^{"type":"\([A-Z_]*\)".*/\1/p' "$out" | sort -u | tr '\n' ' ')
is "$kinds" "CATALOG CONNECTION_STATUS CONTROL LOG RECORD SPEC STATE TRACE " \
  "the sample holds every message type a source writes"

if cmp -s "$out" "$abs_top_srcdir/tests/golden/airbyte.jsonl"; then
  ok "the sample is byte for byte tests/golden/airbyte.jsonl"
else
  not_ok "the sample is byte for byte tests/golden/airbyte.jsonl"
  diag "$(diff "$abs_top_srcdir/tests/golden/airbyte.jsonl" "$out")"
fi

if "$py" "$validate" "$protocol" "$abs_top_srcdir/tests/golden/airbyte.jsonl" \
   >"$TMP/v" 2>&1; then
  ok "the golden file validates too"
else
  not_ok "the golden file validates too"
  diag "$(cat "$TMP/v")"
fi

# The validator must be able to fail: a RECORD without emitted_at, a
# STATE of type STREAM without its stream, a wrong failure_type, a type
# whose member is missing, a status outside the enum.
cat >"$TMP/bad.jsonl" <<'EOF'
{"type":"RECORD","record":{"stream":"s","data":{}}}
{"type":"STATE","state":{"type":"STREAM","sourceStats":{"recordCount":1.0}}}
{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"m","failure_type":"oops"}}}
{"type":"LOG"}
{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"s"},"status":"DONE"}}}
EOF
"$py" "$validate" "$protocol" "$TMP/bad.jsonl" >"$TMP/v" 2>&1
n=$(grep -c '^.*bad.jsonl:[0-9]*:' "$TMP/v")
lines=$(sed -n 's/^.*bad.jsonl:\([0-9]*\):.*/\1/p' "$TMP/v" | sort -u | tr '\n' ' ')
is "$lines" "1 2 3 4 5 " "the validator rejects each of 5 broken messages ($n problems)"
