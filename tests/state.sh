# state.sh - `integ state show|set|clear`: output, exit codes, the history
# note, and the store's refusals (newer schema, not a database).
. "$top_srcdir/tests/lib.sh"
plan 44
tmpdir
DB="$TMP/integ.db"
export INTEG_NOW=2026-01-02T03:04:05Z
NOW_MS=1767323045000

# Query the store behind integ's back: sqlite3's shell, else Python's.
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
  sql() { echo "no sqlite3 shell and no python3" >&2; return 99; }
fi

st() { run "$INTEG" state "$@"; }

st --help
is "$RC" 0 "--help exits 0"
like "$OUT" '^Usage: integ state show CONNECTOR' "--help prints usage on stdout"

st show --store "$DB" shop
is "$RC" 1 "show with nothing stored exits 1"
like "$ERR" "nothing stored for connector 'shop'.*no store at $DB" \
  "and says nothing is stored"
[ -e "$DB" ] && not_ok "show does not create the store" ||
  ok "show does not create the store"

st set --store "$DB" shop orders '{"cursor": "2026-01-01", "page": 3}'
is "$RC" 0 "set from an argument exits 0"
is "$OUT" "" "set prints nothing"
is "$(stat -c %a "$DB")" 600 "set creates the store with mode 0600"

st show --store "$DB" shop orders
is "$RC" 0 "show of a stream exits 0"
is "$OUT" '{
  "cursor": "2026-01-01",
  "page": 3
}' "show prints the stream's value indented by two spaces"

printf '{"bookmarks": {"u": {"replication_key_value": 9223372036854775807}},\n "name": "caf\\u00e9 \342\230\203"}\n' >"$TMP/in.json"
run sh -c '"$1" state set --store "$2" shop "" - <"$3"' sh "$INTEG" "$DB" "$TMP/in.json"
is "$RC" 0 "set from standard input ('-') exits 0"

st show --store "$DB" shop
is "$RC" 0 "show of the whole connector exits 0"
is "$OUT" '{
  "": {
    "bookmarks": {
      "u": {
        "replication_key_value": 9223372036854775807
      }
    },
    "name": "café ☃"
  },
  "orders": {
    "cursor": "2026-01-01",
    "page": 3
  }
}' "show prints {stream: value}; int64 and unicode survive"

# Bad JSON: refused with line:column, nothing changes.
printf '{"cursor":\n  oops}' >"$TMP/bad.json"
run sh -c '"$1" state set --store "$2" shop orders - <"$3"' sh "$INTEG" "$DB" "$TMP/bad.json"
is "$RC" 2 "set with JSON that does not parse exits 2"
like "$ERR" '<stdin>:2:[0-9]+: ' "the error gives line and column"
st set --store "$DB" shop orders '{"a": 1, "a": 2}'
is "$RC" 2 "duplicate keys are refused"
st show --store "$DB" shop orders
like "$OUT" '"page": 3' "a refused set leaves the state as it was"

# The history notes each change with the value it replaced.
got=$(sql "$DB" "SELECT kind, started_ms, message FROM runs ORDER BY id")
is "$(printf '%s\n' "$got" | sed -n 1p)" \
  "note|$NOW_MS|state of stream 'orders' set by operator: {\"cursor\":\"2026-01-01\",\"page\":3} (was: nothing)" \
  "set is noted in the run history, at INTEG_NOW"
is "$(printf '%s\n' "$got" | wc -l | tr -d ' ')" 2 \
  "two sets, two notes; refused sets none"

# Accounts are separate.
st show --store "$DB" --account bob shop
is "$RC" 1 "another account has no state"
st set --store "$DB" --account bob shop orders 1
is "$RC" 0 "set for another account"
st show --store "$DB" shop orders
like "$OUT" '"page": 3' "the default account's state is untouched"

# clear
st clear --store "$DB" shop orders
is "$RC" 0 "clear of a stream exits 0"
st show --store "$DB" shop orders
is "$RC" 1 "a cleared stream is gone"
st show --store "$DB" shop
like "$OUT" '"name": "café' "clear of one stream keeps the others"
st clear --store "$DB" shop orders
is "$RC" 1 "clear of a stream with nothing stored exits 1"
like "$ERR" "nothing stored for connector 'shop', stream 'orders'" \
  "and says so"
st clear --store "$DB" shop
is "$RC" 0 "clear of the whole connector exits 0"
st show --store "$DB" shop
is "$RC" 1 "after which nothing is stored"
is "$(sql "$DB" "SELECT message FROM runs ORDER BY id DESC LIMIT 1")" \
  "state of all 1 streams cleared by operator (was: {\"\":{\"bookmarks\":{\"u\":{\"replication_key_value\":9223372036854775807}},\"name\":\"café ☃\"}})" \
  "clear is noted with the value it removed"

# Usage errors exit 2.
st show --store "$DB"
is "$RC" 2 "show without a connector exits 2"
st frob --store "$DB" shop
is "$RC" 2 "an unknown action exits 2"
st set --store "$DB" shop orders
is "$RC" 2 "set without JSON exits 2"
st show --store "$DB" shop a b
is "$RC" 2 "an extra argument exits 2"

# The manifest names the store and the account.
cat >"$TMP/integ.yaml" <<EOF
integ: 1
store: m.db
connectors:
  shop:
    plugin: example
    account: alice
EOF
run "$INTEG" -c "$TMP/integ.yaml" state set shop orders 42
is "$RC" 0 "without --store, the manifest's store is used"
is "$(sql "$TMP/m.db" "SELECT account, connector, stream, value FROM state")" \
  "alice|shop|orders|42" "relative to the manifest, with the connector's account"
run "$INTEG" -c "$TMP/integ.yaml" state show nope
is "$RC" 2 "a connector not in the manifest exits 2"
like "$ERR" "no connector 'nope'" "and is named"

# Refusals: a newer schema, a file that is not a database. Untouched.
sql "$TMP/new.db" "PRAGMA application_id = 1768846439; PRAGMA user_version = 999; CREATE TABLE t (x);" >/dev/null
cp "$TMP/new.db" "$TMP/new.copy"
st show --store "$TMP/new.db" shop
is "$RC" 1 "a store from a newer integ exits 1"
like "$ERR" "was written by a newer integ \(schema 999, this integ knows [0-9]+\): upgrade integ" \
  "and says to upgrade"
cmp -s "$TMP/new.db" "$TMP/new.copy" && ok "the newer store is untouched" ||
  not_ok "the newer store is untouched"

head -c 4096 /dev/urandom >"$TMP/junk.db"
cp "$TMP/junk.db" "$TMP/junk.copy"
st set --store "$TMP/junk.db" shop orders 1
is "$RC" 1 "a file that is not a database exits 1"
like "$ERR" "store $TMP/junk.db is not a SQLite database" "naming the file"
cmp -s "$TMP/junk.db" "$TMP/junk.copy" && ok "the file that is not a database is untouched" ||
  not_ok "the file that is not a database is untouched"
