# schedule.sh - `integ schedule`: fire times, DST, errors, jitter.
. "$top_srcdir/tests/lib.sh"

for z in Europe/Berlin America/New_York UTC; do
  [ -f "${TZDIR:-/usr/share/zoneinfo}/$z" ] ||
    reference_missing "time zone $z is not installed: install the Debian package tzdata, or configure --without-anchors to skip the tests that need reference data"
done
plan 30

run "$INTEG" schedule --help
is "$RC" 0 "--help exits 0"
like "$OUT" "^Usage: integ schedule EXPR" "--help prints the usage"

run "$INTEG" schedule "30 2 * * *" --from 2026-03-28T12:00:00Z --count 2 \
  --tz Europe/Berlin
is "$OUT" "2026-03-29T03:00:00+02:00
2026-03-30T02:30:00+02:00" \
  "fixed-time job in the skipped hour runs right after the gap"

run "$INTEG" schedule "*/30 * * * *" --from 2026-10-24T23:00:00Z --count 6 \
  --tz Europe/Berlin
is "$OUT" "2026-10-25T01:30:00+02:00
2026-10-25T02:00:00+02:00
2026-10-25T02:30:00+02:00
2026-10-25T02:00:00+01:00
2026-10-25T02:30:00+01:00
2026-10-25T03:00:00+01:00" \
  "wildcard job runs in both passes of the repeated hour"

run "$INTEG" schedule "30 1 * * *" --from 2026-10-31T12:00:00Z --count 2 \
  --tz America/New_York
is "$OUT" "2026-11-01T01:30:00-04:00
2026-11-02T01:30:00-05:00" "fixed-time job in the repeated hour runs once"

INTEG_NOW=2026-01-01T00:07:00Z
export INTEG_NOW
run "$INTEG" schedule "*/15 * * * *" --tz UTC
unset INTEG_NOW
is "$RC" 0 "default start is now (INTEG_NOW)"
is "$(printf '%s\n' "$OUT" | head -n 1)" "2026-01-01T00:15:00+00:00" \
  "first time is after INTEG_NOW"
is "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 5 "five times by default"

run "$INTEG" schedule "@weekly" --from 2026-01-01T00:00:00+01:00 --count 1 \
  --tz Europe/Berlin
is "$OUT" "2026-01-04T00:00:00+01:00" "aliases work"

run "$INTEG" schedule "every 15m from 2026-01-01T00:10:00Z" \
  --from 2025-06-01T00:00:00Z --count 2 --tz UTC
is "$OUT" "2026-01-01T00:10:00+00:00
2026-01-01T00:25:00+00:00" "anchored interval starts at its anchor"

run "$INTEG" schedule "every 15m" --from 2026-01-01T00:00:00Z --count 2 \
  --tz UTC --jitter-for github-issues --jitter 0.1
is "$OUT" "2026-01-01T00:15:34+00:00
2026-01-01T00:30:34+00:00" "--jitter-for adds the connector's fixed delay"

run "$INTEG" schedule "61 * * * *" --tz UTC
is "$RC" 2 "invalid expression exits 2"
like "$ERR" "minute field, position 1: 61 is out of range 0-59" \
  "error names the field and position"
like "$ERR" "^  \^$" "a caret points at the position"

run "$INTEG" schedule "0 0 * * 1#2" --tz UTC
like "$ERR" "day-of-week field, position 10: '#'" \
  "'#' is refused with its position"
run "$INTEG" schedule "0 0 31 2 *" --tz UTC
is "$RC" 2 "an expression that can never fire exits 2"
run "$INTEG" schedule "0 0 * * * *" --tz UTC
like "$ERR" "position 11: a sixth field" "a sixth field is refused"

run "$INTEG" schedule "every 15m" --jitter-for x
is "$RC" 2 "--jitter-for without --jitter is a usage error"
run "$INTEG" schedule "@daily" --tz Mars/Olympus
like "$RC $ERR" "^2 .*unknown time zone" "unknown zone exits 2"
run "$INTEG" schedule "@daily" --from yesterday
is "$RC" 2 "a bad --from exits 2"
run "$INTEG" schedule "@daily" --count 0
is "$RC" 2 "--count 0 exits 2"

# Every leap day to year 9999: 1933 of them, then an error in RFC 3339.
run "$INTEG" schedule "0 0 29 2 *" --from 2026-01-01T00:00:00Z --count 10000 \
  --tz UTC
is "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 1933 "1933 leap days up to 9999"
is "$(printf '%s\n' "$OUT" | tail -n 1)" "9996-02-29T00:00:00+00:00" \
  "the last leap day of year 9999's range"
is "$RC:$ERR" "1:integ schedule: no fire time after 9996-02-29T00:00:00+00:00 within years 1-9999" \
  "then exit 1, the last time in RFC 3339"
run "$INTEG" schedule "59 23 31 12 *" --from 9998-12-31T23:59:00Z --count 3 --tz UTC
is "$RC:$OUT" "1:9999-12-31T23:59:00+00:00" "nothing after year 9999 (no 10000-12-31)"
run "$INTEG" schedule "30 0 1 1 *" --from 9998-06-01T00:00:00Z --count 3 --tz Europe/Berlin
is "$OUT" "9999-01-01T00:30:00+01:00" "nor a local time in year 10000 (Berlin's 10000-01-01T00:30)"
run "$INTEG" schedule "@daily" --from 0000-01-01T00:00:00Z
like "$RC:$ERR" "^2:integ schedule: --from 0000-01-01T00:00:00Z: outside the supported years 1-9999" \
  "--from before year 1: exit 2, the time as given"
if printf '%s' "$ERR" | grep -q '[0-9]\{9\}'; then not_ok "no raw epoch seconds in the message"; else ok "no raw epoch seconds in the message"; fi
run "$INTEG" schedule "every 15m from 0000-06-01T00:00:00Z"
is "$RC" 2 "an anchor before year 1 is an invalid expression (exit 2)"
run "$INTEG" schedule "0 0 29 2 *" --from 2099-01-01T00:00:00Z --count 1 \
  --tz UTC
is "$OUT" "2104-02-29T00:00:00+00:00" "2100 is not a leap year"
