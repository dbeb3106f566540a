# failures.sh - `integ run` when things break: a reader that goes away, a
# full disk, a corrupt store, a store from a newer integ, a malformed
# state. Each is a clear message, a non-zero exit, and state untouched.
. "$top_srcdir/tests/lib.sh"
plan 24
tmpdir
DB=$TMP/integ.db

if command -v sqlite3 >/dev/null 2>&1; then
  sql() { sqlite3 -batch "$1" "$2"; }
elif command -v python3 >/dev/null 2>&1; then
  sql() {
    python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for r in c.execute(sys.argv[2]): print("|".join("" if v is None else str(v) for v in r))
c.commit()' "$1" "$2"
  }
else
  skip_all "no sqlite3 shell and no python3"
fi

# manifest TO [RECORDS]: connector g on the gen plugin.
manifest() {
  cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $DB
output: {format: singer, to: "$1"}
connectors:
  g:
    plugin: gen
    config: {records: ${2:-200000}, state_every: 1000}
EOT
}
state() { "$INTEG" -c "$TMP/integ.yaml" state show g gen 2>&1; }
seed_state() {
  rm -f "$DB" "$DB-wal" "$DB-shm"
  "$INTEG" -c "$TMP/integ.yaml" state set g gen "{\"n\": ${1:-5000}}" ||
    not_ok "state set works"
}

# --- a reader that goes away: integ ... | head -1
manifest stdout
seed_state
{ "$INTEG" -c "$TMP/integ.yaml" run g 2>"$TMP/err"; echo $? >"$TMP/rc"; } |
  head -1 >"$TMP/head"
is "$(cat "$TMP/rc")" 1 "broken pipe: exit 1"
like "$(cat "$TMP/err")" "output standard output: closed by the reader \(broken pipe\)" \
  "broken pipe: the message says the reader closed the pipe"
like "$(cat "$TMP/head")" '^\{"type":"SCHEMA","stream":"gen"' \
  "broken pipe: the reader got the first line"
is "$(state)" '{
  "n": 5000
}' "broken pipe: the state is what it was before the run"

# Without a state before, none is committed (nothing reached the reader
# but the first 64 KiB).
rm -f "$DB" "$DB-wal" "$DB-shm"
{ "$INTEG" -c "$TMP/integ.yaml" run g 2>"$TMP/err"; echo $? >"$TMP/rc"; } |
  head -1 >/dev/null
is "$(cat "$TMP/rc")" 1 "broken pipe, no state before: exit 1"
like "$(state)" "nothing stored" "broken pipe, no state before: none committed"

# --- a full disk: /dev/full
manifest file:/dev/full
seed_state
run "$INTEG" -c "$TMP/integ.yaml" run g
is "$RC" 1 "full disk: exit 1"
like "$ERR" "output /dev/full: write failed: No space left on device \(the disk is full\)" \
  "full disk: the message names the file and says the disk is full"
is "$(state)" '{
  "n": 5000
}' "full disk: the state is untouched"

# A small run that fits in the buffer fails at its one checkpoint.
manifest file:/dev/full 10
seed_state 5
run "$INTEG" -c "$TMP/integ.yaml" run g
is "$RC" 1 "full disk, small run: exit 1"
like "$ERR" "disk is full" "full disk, small run: says so"
is "$(state)" '{
  "n": 5
}' "full disk, small run: the state is untouched"

# --- a corrupt store: random bytes where the database should be
manifest "file:$TMP/out.jsonl" 10
rm -f "$DB" "$DB-wal" "$DB-shm"
head -c 65536 /dev/urandom >"$DB"
cp "$DB" "$TMP/db.before"
run "$INTEG" -c "$TMP/integ.yaml" run g
diag "$ERR"
if [ "$RC" != 0 ]; then ok "corrupt store: exit non-zero ($RC)"; else not_ok "corrupt store: exit non-zero"; fi
like "$ERR" "store $DB (is corrupt|is not an integ store|is not a database|.*not a database)" \
  "corrupt store: the message names the file"
cmp -s "$DB" "$TMP/db.before" && ok "corrupt store: the file is unchanged" ||
  not_ok "corrupt store: the file is unchanged"
[ -s "$TMP/out.jsonl" ] && not_ok "corrupt store: no records are written" ||
  ok "corrupt store: no records are written"

# --- a store from a newer integ
manifest "file:$TMP/out.jsonl" 10
rm -f "$DB" "$DB-wal" "$DB-shm" "$TMP/out.jsonl"
"$INTEG" -c "$TMP/integ.yaml" run g 2>/dev/null ||
  not_ok "a first run creates the store"
sql "$DB" "PRAGMA user_version = 99" >/dev/null
sql "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp "$DB" "$TMP/db.before"
run "$INTEG" -c "$TMP/integ.yaml" run g
if [ "$RC" != 0 ]; then ok "newer store: exit non-zero ($RC)"; else not_ok "newer store: exit non-zero"; fi
like "$ERR" "store $DB was written by a newer integ \(schema 99" \
  "newer store: refused, naming the file and the version"
cmp -s "$DB" "$TMP/db.before" && ok "newer store: the file is unchanged" ||
  not_ok "newer store: the file is unchanged"
is "$(sql "$DB" "PRAGMA user_version")" 99 "newer store: its version is kept"

# --- a malformed state in the store
manifest "file:$TMP/out.jsonl" 10
rm -f "$DB" "$DB-wal" "$DB-shm" "$TMP/out.jsonl"
"$INTEG" -c "$TMP/integ.yaml" state set g gen '{"n": 3}'
sql "$DB" "UPDATE state SET value = '{\"n\": 3' WHERE connector = 'g'" >/dev/null
sql "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
run "$INTEG" -c "$TMP/integ.yaml" run g
diag "$ERR"
if [ "$RC" != 0 ]; then ok "malformed state: exit non-zero ($RC)"; else not_ok "malformed state: exit non-zero"; fi
like "$ERR" "state.*(g|gen).*(JSON|json|malformed|invalid|parse)" \
  "malformed state: the message names the connector and says it does not parse"
is "$(sql "$DB" "SELECT value FROM state WHERE connector = 'g'")" '{"n": 3' \
  "malformed state: the row is untouched"
[ -s "$TMP/out.jsonl" ] && not_ok "malformed state: no records are written" ||
  ok "malformed state: no records are written"
