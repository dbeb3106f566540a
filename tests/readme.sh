# readme.sh - what the README promises a new user, short of installing
# packages and running the whole suite inside the suite (.ci/run runs the
# README's two commands in a fresh clone): `make demo` run again brings
# only what changed, and packaging/check.sh works on a tree that was
# configured in place and shows why it failed.
. "$top_srcdir/tests/lib.sh"
plan 13
tmpdir
export INTEG_NOW=2026-01-02T03:04:05Z
demo() { sh "$abs_top_srcdir/conf/demo.sh" "$abs_top_srcdir" "$abs_top_builddir" "$1"; }
count() { grep -c '"type":"RECORD"' "$1"; }

# --- make demo, twice: the shop moves on by a day between runs
demo "$TMP/d1" >"$TMP/run1.out" 2>"$TMP/run1.err"
is "$?" 0 "the first demo run exits 0"
n1=$(count "$TMP/d1/records.jsonl")
if [ "$n1" -ge 500 ]; then ok "the first run is a full sync ($n1 records)"; else
  not_ok "the first run is a full sync"; diag "records: $n1" "$(tail -5 "$TMP/run1.err")"; fi
demo "$TMP/d1" >"$TMP/run2.out" 2>"$TMP/run2.err"
is "$?" 0 "the second demo run exits 0"
n2=$(count "$TMP/d1/records.jsonl")
if [ "$n2" -ge 5 ] && [ "$n2" -le 40 ]; then ok "the second run brings a handful of records ($n2)"; else
  not_ok "the second run brings a handful of records"; diag "records: $n2 (want 5 to 40)"; fi
new=$(grep -c '"stream":"users","record":{"id":\(12[1-3]\|6[12]\),' "$TMP/d1/records.jsonl")
is "$new" 5 "...the 3 users who signed up and the 2 who changed"
like "$(grep -o '"stream":"orders","record":{"id":12[1-3]00[0-9]' "$TMP/d1/records.jsonl" | head -1)" . \
  "...with the new users' orders"
like "$(cat "$TMP/run2.out")" '^demo: resumed from the state the last run committed: \{.*"users"' \
  "the summary says the run resumed, and from what"
demo "$TMP/d1" >"$TMP/run3.out" 2>"$TMP/run3.err"
n3=$(count "$TMP/d1/records.jsonl")
if [ "$n3" -ge 5 ] && [ "$n3" -le 40 ]; then ok "a third run brings the next day's changes ($n3)"; else
  not_ok "a third run brings the next day's changes"; diag "records: $n3"; fi
cp "$TMP/d1/records.jsonl" "$TMP/day2.jsonl"
demo "$TMP/d2" >/dev/null 2>&1 && demo "$TMP/d2" >/dev/null 2>&1 && demo "$TMP/d2" >/dev/null 2>&1
if cmp -s "$TMP/day2.jsonl" "$TMP/d2/records.jsonl"; then ok "the shop's days are the same on every machine"; else
  not_ok "the shop's days are the same on every machine"
  diag "$(diff "$TMP/day2.jsonl" "$TMP/d2/records.jsonl" | head -5)"; fi

# --- packaging/check.sh on a tree configured in place
# A copy of the source tree whose config.status says `./configure` ran in
# it; CC=false makes every configure fail at once, so what is checked is
# that the VPATH builds are not refused and that the failure explains
# itself. git is not needed: outside a checkout the tree is copied whole.
mkdir "$TMP/tree" && (cd "$abs_top_srcdir" && tar --exclude=./.git --exclude=./_check -cf - .) |
  (cd "$TMP/tree" && tar -xf -) && chmod -R u+w "$TMP/tree" &&
  : >"$TMP/tree/config.status"
CC=false ANCHORS=$TMP CHECK_DIR=$TMP/check sh "$TMP/tree/packaging/check.sh" --no-deps \
  >"$TMP/check.out" 2>&1
rc=$?
out=$(cat "$TMP/check.out")
if [ "$rc" != 0 ] && [ "$(tail -1 "$TMP/check.out")" = "0 passed, 1 failed" ]; then
  ok "check.sh fails, and its last line says so"
else
  not_ok "check.sh fails, and its last line says so"; diag "exit $rc" "$(tail -3 "$TMP/check.out")"
fi
refused=$(grep -rs --include='*.log' --include=check.out 'configure: error: source directory already configured' "$TMP")
if [ -n "$refused" ]; then
  not_ok "check.sh does not refuse a tree configured in place"; diag "$refused"
else
  ok "check.sh does not refuse a tree configured in place"
fi
like "$out" 'make distcheck failed; what explains it:' "check.sh names the step that failed"
like "$out" 'configure: error: C compiler cannot create executables' "...and prints configure's own error"
