# memory.sh - memory stays flat: the peak RSS of `integ run` for 200,000
# records is within 2 MiB of that for 10,000 (bench/run.sh compares
# 10,000 with 1,000,000). Records go through emit_record, the Singer
# emitter, the output buffer and a checkpoint (fsync, store commit) every
# 1000 records' state. Then the same into `command:cat`, which sends every
# message back: what a target prints is read and dropped, never kept.
# Skipped under sanitizers, whose shadow memory and quarantine make RSS
# meaningless.
. "$top_srcdir/tests/lib.sh"
if nm -D "$INTEG" 2>/dev/null | grep -q '__asan_init\|__ubsan_handle' ||
  ldd "$INTEG" 2>/dev/null | grep -q 'libasan\|libubsan'; then
  skip_all "integ is built with sanitizers"
fi
if [ -x /usr/bin/time ]; then
  peak_kib() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
elif command -v python3 >/dev/null; then
  peak_kib() {
    python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
  }
else
  skip_all "neither /usr/bin/time nor python3 to measure RSS"
fi
plan 5
tmpdir

# rss N [TO]: peak RSS in KiB of a fresh run over N records.
rss() {
  rm -f "$TMP/integ.db"* "$TMP/out.jsonl"
  cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $TMP/integ.db
output: {format: singer, to: "${2:-file:$TMP/out.jsonl}", checkpoint_records: 1000}
connectors:
  g:
    plugin: gen
    config: {records: $1, state_every: 1000}
EOT
  peak_kib "$INTEG" -c "$TMP/integ.yaml" run g
}

small=$(rss 10000)
big=$(rss 200000)
is "$(grep -c '^{"type":"RECORD"' "$TMP/out.jsonl")" 200000 \
  "the big run wrote 200,000 records"
diag "peak RSS: 10,000 records $small KiB, 200,000 records $big KiB"
if [ -n "$small" ] && [ "$small" -gt 1000 ]; then
  ok "the peak RSS is measured ($small KiB)"
else
  not_ok "the peak RSS is measured"
  diag "got '$small'"
fi
d=$((big - small))
if [ "${d#-}" -le 2048 ]; then
  ok "200,000 records take within 2 MiB of the RSS of 10,000 ($d KiB more)"
else
  not_ok "200,000 records take within 2 MiB of the RSS of 10,000"
  diag "difference $d KiB"
fi

small=$(rss 10000 command:cat)
big=$(rss 200000 command:cat)
is "$("$INTEG" -c "$TMP/integ.yaml" state show g gen 2>&1 | tr -d ' \n')" \
  '{"n":200000}' "command:cat: the big run's last state is committed"
diag "command:cat peak RSS: 10,000 records $small KiB, 200,000 records $big KiB"
d=$((big - small))
if [ -n "$small" ] && [ -n "$big" ] && [ "${d#-}" -le 2048 ]; then
  ok "command:cat: 200,000 records take within 2 MiB of the RSS of 10,000 ($d KiB more)"
else
  not_ok "command:cat: 200,000 records take within 2 MiB of the RSS of 10,000"
  diag "small '$small' big '$big'"
fi
