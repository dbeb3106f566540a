# jscan_diff.sh - the page scanner (host/jscan.c) against the slow path
# (jansson + the host's JSONPath and emitters) on pages of every testapi
# collection: items (escapes, controls, NUL, emoji, non-BMP, reals, 2^53+1,
# int64 extremes), users, orders, the same with ensure_ascii (\u escapes
# and surrogate pairs in the input), and a bare-array page ($[*]); each
# page also cut short. tests/jscan_diff also runs its built-in edge cases.
. "$top_srcdir/tests/lib.sh"
DIFF=$abs_top_builddir/tests/jscan_diff
tmpdir
cat >"$TMP/scenario.json" <<'EOT'
{"routes": [
 {"path": "/items", "collection": {"kind": "item", "count": 400, "seed": 7,
  "page_size": 200, "pagination": "cursor"}},
 {"path": "/items_ascii", "collection": {"kind": "item", "count": 100,
  "seed": 8, "pagination": "page", "ensure_ascii": true}},
 {"path": "/users", "collection": {"kind": "user", "count": 200, "seed": 9,
  "page_size": 200, "pagination": "offset"}},
 {"path": "/users_ascii", "collection": {"kind": "user", "count": 100,
  "seed": 10, "pagination": "next_url", "ensure_ascii": true}},
 {"path": "/orders", "collection": {"kind": "order", "count": 100,
  "seed": 11, "pagination": "page"}},
 {"path": "/linked", "collection": {"kind": "item", "count": 50, "seed": 12,
  "pagination": "link"}}
]}
EOT
start_testapi "$TMP/scenario.json" || { echo "1..0 # SKIP testapi"; exit 0; }
U=$TESTAPI_URL
get() { curl -sf "$U$2" -o "$TMP/$1" || { echo "Bail out! GET $2"; exit 1; }; }
get items1.json "/items?limit=200"
next=$(sed -n 's/.*"next_cursor":"\([^"]*\)".*/\1/p' "$TMP/items1.json")
get items2.json "/items?limit=200&cursor=$next"
get items_ascii.json /items_ascii
get users.json "/users?limit=200"
get users_ascii.json /users_ascii
get orders.json /orders
get linked.json /linked

"$DIFF" "$TMP/items1.json" "$TMP/items2.json" "$TMP/items_ascii.json" \
  "$TMP/users.json" "$TMP/users_ascii.json" "$TMP/orders.json" \
  -r '$[*]' "$TMP/linked.json"
