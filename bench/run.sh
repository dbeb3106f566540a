#!/bin/sh
# run.sh - what `make bench` runs (not part of make check).
#   bench/run.sh BUILDDIR SRCDIR
#
# Pages are rendered once before anything is timed: tests/testapi
# generates PAGES pages of 1000 records of the `item` and the `user`
# collections (cursor pagination), they are saved to files, and a second
# testapi serves those files from memory (body_file responses, in order;
# POST /_testapi/reset rewinds them before each run). Then, per
# collection:
#   curl alone        the transfer floor: one curl fetching every page
#   baseline          bench/baseline: libcurl + jansson, one JSON line a
#                     record
#   singer, airbyte,  integ run --plugin pager in batch mode (emit_page:
#   jsonl             the host writes the records and moves the pager's
#                     cursor), with that output format, to /dev/null
#   declarative       integ run --plugin declarative (item pages): a
#                     records path and a 5-field mapping (emit_mapped), jsonl
#   scanner alone     bench/jscan_bench: host/jscan.c over the same pages
#                     in memory, Singer bytes (the fast path's ceiling)
# Each variant runs RUNS times alternating with the baseline (A B A B),
# so drift cancels: the table shows medians and the median of the paired
# ratios (baseline wall / variant wall). The output is checked outside
# the timed runs: with INTEG_NOW fixed, each format's output of the batch
# mode must have the digest of the pager's record mode (the slow path: the
# plugin parses each page and calls emit_record) and hold PAGES x 1000
# records; the baseline must count them too.
#
# Environment: BENCH_PAGES (200), BENCH_RUNS (5), BENCH_JSON (where the
# results go as JSON; BUILDDIR/bench/results.json), BENCH_CALLGRIND=1
# (instructions per record under callgrind, counted marginally: the
# difference between BENCH_CG_PAGES (5) and twice as many pages, over the
# records between, so start-up cancels).
set -eu
build=$1 src=$2
pages=${BENCH_PAGES:-200}
runs=${BENCH_RUNS:-5}
json_out=${BENCH_JSON:-$build/bench/results.json}
cg=${BENCH_CG_PAGES:-5}
n=$((pages * 1000))
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
export INTEG_PLUGIN_PATH=$build/tests/plugins/.libs:$build/plugins/.libs

# serve SCENARIO: (re)start testapi on it; sets url.
serve() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || :
  : >"$tmp/port"
  "$build/tests/testapi/testapi" --port 0 --idle-exit 900 --scenario "$1" \
    >"$tmp/port" 2>"$tmp/testapi.err" &
  pid=$!
  port=
  for i in $(seq 1 200); do
    port=$(sed -n 's/^port //p' "$tmp/port")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$port" ] || {
    echo "bench: testapi did not start:" >&2
    cat "$tmp/testapi.err" >&2
    exit 1
  }
  url=http://127.0.0.1:$port
}

# ---- render the pages once
cat >"$tmp/gen.json" <<EOT
{"routes": [
 {"path": "/items", "collection": {"kind": "item", "count": $n, "seed": 7,
  "page_size": 1000, "max_page_size": 1000, "pagination": "cursor"}},
 {"path": "/users", "collection": {"kind": "user", "count": $n, "seed": 7,
  "page_size": 1000, "max_page_size": 1000, "pagination": "cursor"}}]}
EOT
serve "$tmp/gen.json"
colls="item user"
for c in $colls; do
  mkdir -p "$tmp/$c"
  cursor= i=1
  while :; do
    f=$tmp/$c/p$(printf %04d $i).json
    curl -sf "$url/${c}s?limit=1000${cursor:+&cursor=$cursor}" -o "$f" ||
      { echo "bench: fetching $c page $i failed" >&2; exit 1; }
    tail -c 300 "$f" | grep -q '"has_more":true' || break
    cursor=$(tail -c 300 "$f" | sed -n 's/.*"next_cursor":"\([^"]*\)".*/\1/p')
    i=$((i + 1))
  done
  [ "$i" -eq "$pages" ] ||
    { echo "bench: $c: $i pages, expected $pages" >&2; exit 1; }
  # Short runs for callgrind: the first K pages, the last saying no more.
  for k in $cg $((2 * cg)); do
    [ "$k" -le "$pages" ] || continue
    mkdir -p "$tmp/$c$k"
    for j in $(seq 1 $k); do
      ln -s "../$c/p$(printf %04d $j).json" "$tmp/$c$k/p$(printf %04d $j).json"
    done
    last=$tmp/$c$k/p$(printf %04d $k).json
    sed 's/"has_more":true/"has_more":false/' "$tmp/$c/p$(printf %04d $k).json" \
      >"$last.tmp"
    rm "$last"
    mv "$last.tmp" "$last"
  done
done
bytes() { cat "$tmp/$1"/p*.json | wc -c; }

# route PATH DIR: a route serving DIR's pages in order.
route() {
  printf ' {"path": "%s", "responses": [' "$1"
  sep=
  for f in "$tmp/$2"/p*.json; do
    printf '%s{"body_file": "%s"}' "$sep" "$2/$(basename "$f")"
    sep=,
  done
  printf ']}'
}
{
  printf '{"routes": [\n'
  sep=
  for c in $colls; do
    for d in $c $c$cg $c$((2 * cg)); do
      [ -d "$tmp/$d" ] || continue
      printf '%s' "$sep"
      route "/$d" "$d"
      sep=',
'
    done
  done
  printf ']}\n'
} >"$tmp/pages.json"
serve "$tmp/pages.json"
rewind() { curl -sf -X POST "$url/_testapi/reset" >/dev/null; }

# measure NAME CMD...: "wall user sys maxrss_kib" appended to $tmp/NAME.
measure() {
  name=$1
  shift
  rewind
  t0=$(date +%s%N)
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/last" "$@" >/dev/null 2>"$tmp/err" ||
    { echo "bench: $name failed:" >&2; cat "$tmp/err" "$tmp/last" >&2; exit 1; }
  t1=$(date +%s%N)
  # wall time in ms resolution (time's %e has 10 ms)
  awk -v ns=$((t1 - t0)) '{ printf "%.3f %s %s %s\n", ns / 1e9, $2, $3, $4 }' \
    "$tmp/last" >>"$tmp/$name"
}

# cmdline C V: the command line of variant V on collection C.
cmdline() {
  case $2 in
    curl) echo "curl -s -K $tmp/curl-$1.txt" ;;
    baseline) echo "$build/bench/baseline $url/$1?limit=1000" ;;
    scanner) echo "$build/bench/jscan_bench -f singer" "$tmp/$1"/p*.json ;;
    declarative) echo "$build/integ run --plugin declarative --format jsonl --output file:/dev/null --config-json $tmp/decl-$1.json" ;;
    *) echo "$build/integ run --plugin pager --format $2 --output file:/dev/null --config-json $tmp/pager-$1.json" ;;
  esac
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf 'bench: %d pages x 1000 records per collection, %d runs per variant\n' \
  "$pages" "$runs"
echo "{\"pages\": $pages, \"records\": $n, \"runs\": $runs, \"collections\": {" >"$tmp/json"
csep=
for c in $colls; do
  printf '{"base_url": "%s", "path": "/%s", "page_size": 1000, "mode": "batch"}\n' \
    "$url" "$c" >"$tmp/pager-$c.json"
  printf '{"base_url": "%s", "path": "/%s", "page_size": 1000, "mode": "record"}\n' \
    "$url" "$c" >"$tmp/pager-rec-$c.json"
  rm -f "$tmp/$c".*
  # The declarative stream: a records path and a 5-field mapping (item
  # pages only: their fields are the ones mapped).
  variants="singer airbyte jsonl"
  if [ "$c" = item ]; then
    variants="$variants declarative"
    cat >"$tmp/decl-$c.yaml" <<EOT
base_url: "$url"
streams:
  - name: items
    request: {path: /$c, params: {limit: 1000}}
    records: "\$.data[*]"
    fields:
      id: "\$.id"
      updated_at: "\$.updated_at"
      name: "\$.name"
      price: {path: "\$.price", cast: number}
      city: "\$.attributes.owner.city"
    pagination: {type: cursor, token: "\$.next_cursor", has_more: "\$.has_more"}
EOT
    printf '{"definition": "%s"}\n' "$tmp/decl-$c.yaml" >"$tmp/decl-$c.json"
  fi
  # curl alone: every page over one connection, one process.
  for j in $(seq 1 "$pages"); do
    printf 'url = "%s/%s?limit=1000&n=%d"\noutput = "/dev/null"\n' "$url" "$c" "$j"
  done >"$tmp/curl-$c.txt"
  # The timed runs: the floor, then each variant paired with the baseline.
  for r in $(seq 1 "$runs"); do
    # shellcheck disable=SC2046
    measure "$c.curl" $(cmdline "$c" curl)
    for v in $variants; do
      # shellcheck disable=SC2046
      measure "$c.baseline" $(cmdline "$c" baseline)
      # shellcheck disable=SC2046
      measure "$c.$v" $(cmdline "$c" $v)
      # pair: baseline wall / variant wall
      tail -n 1 "$tmp/$c.baseline" | cut -d' ' -f1 >"$tmp/bw"
      tail -n 1 "$tmp/$c.$v" | cut -d' ' -f1 >"$tmp/vw"
      awk -v b="$(cat "$tmp/bw")" -v w="$(cat "$tmp/vw")" \
        'BEGIN { printf "%.4f\n", (w > 0 ? b / w : 0) }' >>"$tmp/$c.$v.ratio"
    done
    # shellcheck disable=SC2046
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/last" $(cmdline "$c" scanner) \
      >"$tmp/scan.out" 2>"$tmp/err" ||
      { echo "bench: jscan_bench failed:" >&2; cat "$tmp/err" >&2; exit 1; }
    # the scanner's own time excludes reading the files
    awk -v s="$(sed -n 's/.*seconds \([0-9.]*\).*/\1/p' "$tmp/scan.out")" \
      '{ print s, s, 0, $4 }' "$tmp/last" >>"$tmp/$c.scanner"
  done

  # The output check (not timed).
  export INTEG_NOW=2024-06-01T12:00:00Z
  rewind
  "$build/bench/baseline" "$url/$c?limit=1000" 2>"$tmp/err" >/dev/null
  got=$(sed -n 's/^records \([0-9]*\).*/\1/p' "$tmp/err")
  [ "$got" = "$n" ] ||
    { echo "bench: baseline wrote $got records of $c, expected $n" >&2; exit 1; }
  for v in singer airbyte jsonl; do
    rewind
    "$build/integ" run --plugin pager --format $v --output "file:$tmp/ref.out" \
      --config-json "$tmp/pager-rec-$c.json" >/dev/null 2>"$tmp/err" ||
      { cat "$tmp/err" >&2; exit 1; }
    rewind
    "$build/integ" run --plugin pager --format $v --output "file:$tmp/got.out" \
      --config-json "$tmp/pager-$c.json" >/dev/null 2>"$tmp/err" ||
      { cat "$tmp/err" >&2; exit 1; }
    want=$(sha256sum <"$tmp/ref.out" | cut -c1-16)
    have=$(sha256sum <"$tmp/got.out" | cut -c1-16)
    case $v in
      jsonl) recs=$(wc -l <"$tmp/got.out") ;;
      *) recs=$(grep -c '"type":"RECORD"' "$tmp/got.out" || :) ;;
    esac
    if [ "$want" != "$have" ] || [ "$recs" -ne "$n" ]; then
      echo "bench: $c $v: emit_batch output $have ($recs records)" \
        "differs from emit_record's $want (expected $n records)" >&2
      exit 1
    fi
    echo "$have" >"$tmp/$c.$v.digest"
    rm -f "$tmp/ref.out" "$tmp/got.out"
  done
  unset INTEG_NOW

  printf '\n== %s: %d pages, %d records, %d MB of JSON, via %s\n' "$c" \
    "$pages" "$n" $(($(bytes "$c") / 1000000)) "$url"
  printf '%-24s %11s %8s %8s %9s %8s  %s\n' "" "records/s" "wall s" "cpu s" \
    "peak KiB" "x base" "output sha256"
  echo "\"$c\": {" >>"$tmp/json.$c"
  fastest=
  vsep=
  for v in curl baseline $variants scanner; do
    w=$(cut -d' ' -f1 "$tmp/$c.$v" | median)
    cpu=$(awk '{ print $2 + $3 }' "$tmp/$c.$v" | median)
    rss=$(cut -d' ' -f4 "$tmp/$c.$v" | median)
    ratio=
    [ -f "$tmp/$c.$v.ratio" ] && ratio=$(median <"$tmp/$c.$v.ratio")
    digest=
    [ -f "$tmp/$c.$v.digest" ] && digest=$(cat "$tmp/$c.$v.digest")
    case $v in
      curl) label="curl alone (floor)" ;;
      baseline) label="baseline (curl+jansson)" ;;
      scanner) label="scanner alone (jscan)" ;;
      declarative) label="declarative 5 fields" ;;
      *) label="integ emit_batch $v" ;;
    esac
    case $v in singer | airbyte | jsonl)
      if [ -z "$fastest" ] || awk -v a="$w" -v b="$fastest" 'BEGIN { exit !(a < b) }'; then
        fastest=$w
      fi ;;
    esac
    awk -v l="$label" -v n=$n -v w="$w" -v c="$cpu" -v m="$rss" -v r="$ratio" \
      -v d="$digest" 'BEGIN { printf "%-24s %11.0f %8.3f %8.2f %9d %8s  %s\n",
        l, n / (w > 0 ? w : 0.001), w, c, m, (r == "" ? "" : sprintf("%.2f", r)), d }'
    awk -v v="$v" -v n=$n -v w="$w" -v c="$cpu" -v m="$rss" -v r="$ratio" \
      -v d="$digest" -v s="$vsep" 'BEGIN { printf "%s\"%s\": {\"wall_s\": %s, \"cpu_s\": %s, \"records_per_s\": %.0f, \"peak_rss_kib\": %d%s%s}",
        s, v, w, c, n / (w > 0 ? w : 0.001), m,
        (r == "" ? "" : ", \"ratio_to_baseline\": " r),
        (d == "" ? "" : ", \"sha256_16\": \"" d "\"") }' >>"$tmp/json.$c"
    vsep=", "
  done
  cw=$(cut -d' ' -f1 "$tmp/$c.curl" | median)
  if awk -v a="$cw" -v b="$fastest" 'BEGIN { exit !(a > 0.1 * b) }'; then
    printf 'WARNING: curl alone takes %s s, more than 10%% of the fastest variant (%s s): the server is the limit\n' \
      "$cw" "$fastest"
  fi
  printf '%s%s}' "$csep" "$(cat "$tmp/json.$c")" >>"$tmp/json"
  csep=", "
done

echo
echo "== peak RSS of integ run, generated records (gen plugin) to /dev/null"
for r in 10000 1000000; do
  printf '{"records": %d, "state_every": 1000}\n' $r >"$tmp/gen-$r.json"
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/last" "$build/integ" run \
    --plugin gen --format singer --output file:/dev/null \
    --config-json "$tmp/gen-$r.json" >/dev/null 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; exit 1; }
  set -- $(cat "$tmp/last")
  printf '%8d records: %6d KiB peak RSS, %.2f s\n' $r $4 $1
  eval "rss$r=$4"
done
echo "difference: $((rss1000000 - rss10000)) KiB"
printf '}, "rss_gen_kib": {"10000": %d, "1000000": %d}' "$rss10000" \
  "$rss1000000" >>"$tmp/json"

if [ "${BENCH_CALLGRIND:-0}" = 1 ]; then
  if ! command -v valgrind >/dev/null; then
    echo "== callgrind: valgrind is not installed"
  else
    echo
    echo "== callgrind: instructions per record, marginal ($cg -> $((2 * cg)) pages)"
    printf ', "instructions_per_record": {' >>"$tmp/json"
    csep=
    # ir NAME CMD...: total instructions of one run
    ir() {
      name=$1
      shift
      rewind
      valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" \
        >/dev/null 2>"$tmp/cg.err" || { cat "$tmp/cg.err" >&2; exit 1; }
      sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/cg.out"
    }
    for c in $colls; do
      printf '%s"%s": {' "$csep" "$c" >>"$tmp/json"
      vsep=
      vs="baseline singer airbyte jsonl scanner"
      [ "$c" = item ] && vs="$vs declarative"
      for v in $vs; do
        for k in $cg $((2 * cg)); do
          case $v in
            baseline) set -- "$build/bench/baseline" "$url/$c$k?limit=1000" ;;
            scanner) set -- "$build/bench/jscan_bench" -f singer \
              -n $((k / cg)) "$tmp/$c$cg"/p*.json ;;
            declarative)
              sed "s|path: /$c,|path: /$c$k,|" "$tmp/decl-$c.yaml" >"$tmp/decl-cg.yaml"
              printf '{"definition": "%s"}\n' "$tmp/decl-cg.yaml" >"$tmp/decl-cg.json"
              set -- "$build/integ" run --plugin declarative --format jsonl \
                --output file:/dev/null --config-json "$tmp/decl-cg.json" ;;
            *)
              printf '{"base_url": "%s", "path": "/%s", "page_size": 1000, "mode": "batch"}\n' \
                "$url" "$c$k" >"$tmp/pager-cg.json"
              set -- "$build/integ" run --plugin pager --format $v \
                --output file:/dev/null --config-json "$tmp/pager-cg.json" ;;
          esac
          eval "ir$k=\$(ir $v \"\$@\")"
        done
        eval "a=\$ir$cg b=\$ir$((2 * cg))"
        per=$(((b - a) / (cg * 1000)))
        printf '%-6s %-24s %10d Ir/record\n' "$c" "$v" "$per"
        printf '%s"%s": %d' "$vsep" "$v" "$per" >>"$tmp/json"
        vsep=", "
      done
      printf '}' >>"$tmp/json"
      csep=", "
    done
    printf '}' >>"$tmp/json"
  fi
fi
printf '}\n' >>"$tmp/json"
mkdir -p "$(dirname "$json_out")"
cp "$tmp/json" "$json_out"
echo
echo "results as JSON: $json_out"
