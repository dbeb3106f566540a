# schedule_diff.sh - integ's schedule engine against python3-croniter on random
# cron expressions where croniter follows crontab(5) (see schedule_diff.py).
# Skips (TAP "1..0 # SKIP") without a python3 that has croniter.
. "$top_srcdir/tests/lib.sh"

py=
for cand in python3 /usr/bin/python3; do
  if command -v "$cand" >/dev/null 2>&1 &&
    "$cand" -c 'import croniter' >/dev/null 2>&1; then
    py=$cand
    break
  fi
done
[ -n "$py" ] || skip_all "no python3 with croniter (Debian: python3-croniter)"
exec "$py" "$abs_top_srcdir/tests/schedule_diff.py" \
  "$abs_top_builddir/tests/schedule_batch" \
  "${SCHEDULE_DIFF_CASES:-550}" "${SCHEDULE_DIFF_SEED:-20261125}"
