#!/bin/sh
# deb-check.sh - build the Debian packages, install them into THIS system
# and check them as an admin would. CI runs it as root after the test
# suite (.ci/run); never from make check. TAP output; its last line is
# "N passed, N failed"; exit 0 only when all passed.
#   1. build (DEB_BUILD_OPTIONS=nocheck: the suite already ran), lintian,
#      rpmspec -P and rpmlint on the spec
#   2. install; integ --version, integ plugins, integ validate; the user,
#      the state directory, the token key; systemd-analyze verify
#   3. the example plugin built against integ-dev with pkg-config alone
#   4. integ daemon as user integ against the test API: a run recorded
#   5. an upgrade over a modified conffile keeps the admin's file
#   6. a plugin package for a newer ABI minor is refused by dpkg, and by
#      the loader, by name, when forced
#   7. purge with the daemon running stops it; what remains is listed
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "deb-check.sh: run as root (it installs packages)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
work=$(mktemp -d "${TMPDIR:-/tmp}/integ-deb.XXXXXX") || exit 2
chmod 755 "$work"
n=0 failed=0 dpid= apipid=
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/# /' "$@"; }
check() { # DESC CMD...: ok when CMD succeeds, else not ok with its output
  _d=$1
  shift
  if "$@" >"$work/out" 2>&1; then ok "$_d"; else not_ok "$_d"; tail -30 "$work/out" | diag; fi
}
finish() {
  [ -n "$dpid" ] && kill "$dpid" 2>/dev/null
  [ -n "$apipid" ] && kill "$apipid" 2>/dev/null
  echo "1..$n"
  echo "$((n - failed)) passed, $failed failed"
  [ $failed = 0 ] && rm -rf "$work"
  [ $failed = 0 ]
  exit $?
}
t0=$(date +%s)

# --- 0. the packaging tools (big: installed here, not by install-deps.sh)
check "the packaging tools are installed (lintian rpm rpmlint systemd)" \
  apt-get install -y -qq --no-install-recommends lintian rpm rpmlint systemd

# --- 1. build: a copy of the tree's files (tracked and new, not ignored)
tree=$work/integ
mkdir "$tree"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard |
    tar --null -T - -cf -) | tar -xf - -C "$tree"
else
  (cd "$src" && tar --exclude=./_check -cf - .) | tar -xf - -C "$tree"
fi
jobs=$(nproc 2>/dev/null || echo 2)
tb=$(date +%s)
if (cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=$jobs" DEB_BUILD_PROFILES=nocheck \
  dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
  ok "dpkg-buildpackage -us -uc -b builds ($(($(date +%s) - tb)) s)"
else
  not_ok "dpkg-buildpackage -us -uc -b builds"
  tail -40 "$work/build.log" | diag
  finish
fi
ver=$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
deb=$work/integ_${ver}_$arch.deb
devdeb=$work/integ-dev_${ver}_$arch.deb
lintian --fail-on error "$work/integ_${ver}_$arch.changes" >"$work/lintian.log" 2>&1
lrc=$?
grep -v '^running with root' "$work/lintian.log" | diag
if [ $lrc = 0 ]; then
  ok "lintian: no errors ($(grep -c '^W:' "$work/lintian.log") warnings)"
else
  not_ok "lintian: no errors"
fi
check "rpmspec -P parses packaging/rpm/integ.spec" rpmspec -P "$src/packaging/rpm/integ.spec"
rpmlint "$src/packaging/rpm/integ.spec" >"$work/rpmlint.log" 2>&1
grep ': [EW]: \|checked' "$work/rpmlint.log" | diag
if grep -q ' 0 errors' "$work/rpmlint.log"; then ok "rpmlint: no errors"; else not_ok "rpmlint: no errors"; fi
# The test API server, built from the package's (already configured) tree.
check "the test API server builds" make -C "$tree" tests/testapi/testapi

# --- 2. install
check "apt-get installs integ and integ-dev" apt-get install -y -qq "$deb" "$devdeb"
check "integ --version" integ --version
plugdir=$(pkg-config --variable=plugindir integ-plugin)
integ plugins >"$work/plugins" 2>&1
if grep -q "^declarative .*$plugdir/declarative.so" "$work/plugins"; then
  ok "integ plugins lists the shipped plugins from $plugdir"
else
  not_ok "integ plugins lists the shipped plugins from $plugdir"
  diag "$work/plugins"
fi
check "integ validate accepts the shipped config" integ -c /etc/integ/integ.yaml validate
check "the system user integ exists" id integ
st=$(stat -c '%U:%G %a' /var/lib/integ 2>&1)
[ "$st" = "integ:integ 750" ] && ok "/var/lib/integ is integ:integ 0750" ||
  not_ok "/var/lib/integ is integ:integ 0750 (got $st)"
st=$(stat -c '%U:%G %a %s' /etc/integ/token.key 2>&1)
[ "$st" = "root:integ 640 32" ] && ok "postinst made the token key, 0640 root:integ, 32 bytes" ||
  not_ok "postinst made the token key, 0640 root:integ, 32 bytes (got $st)"
unit=/lib/systemd/system/integ.service
[ -f "$unit" ] || unit=/usr/lib/systemd/system/integ.service
systemd-analyze verify "$unit" >"$work/verify" 2>&1
if [ $? = 0 ] && ! grep -q . "$work/verify"; then
  ok "systemd-analyze verify $unit is clean"
else
  not_ok "systemd-analyze verify $unit is clean"
  diag "$work/verify"
fi

# --- 3. the example plugin, against the installed integ-dev alone
ex=$work/example
cp -r /usr/share/doc/integ-dev/examples "$ex"
check "the example plugin builds with pkg-config and the installed header" make -C "$ex"
INTEG_PLUGIN_PATH=$ex integ plugins >"$work/plugins" 2>&1
if grep -q "^example .*$ex/example.so" "$work/plugins"; then
  ok "integ loads the example built from integ-dev"
else
  not_ok "integ loads the example built from integ-dev"
  diag "$work/plugins"
fi

# --- 4. integ daemon as user integ, one connector against the test API
api=$work/api
mkdir "$api"
"$tree/tests/testapi/testapi" --port 0 --idle-exit 120 \
  --scenario "$tree/tests/testapi/scenarios/shop.json" >"$api/port" 2>"$api/err" &
apipid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^port //p' "$api/port")
  [ -n "$port" ] && break
  sleep 0.1
done
run=$work/run
install -d -o integ -g integ "$run"
cat >"$run/integ.yaml" <<EOT
integ: 1
output: {format: jsonl, to: "file:$run/{connector}.jsonl"}
daemon: {control_socket: "$run/ctl.sock", lock_dir: "$run/locks"}
connectors:
  shop:
    plugin: example
    config: {base_url: "http://127.0.0.1:$port", page_size: 50}
    schedule: {every: 1h}
EOT
chown integ:integ "$run/integ.yaml"
# setpriv execs: $! is the daemon itself.
asinteg() { setpriv --reuid=integ --regid=integ --init-groups "$@"; }
asinteg integ -c "$run/integ.yaml" daemon >"$run/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 50); do [ -S "$run/ctl.sock" ] && break; sleep 0.1; done
asinteg integ -c "$run/integ.yaml" run-now shop >"$run/run-now" 2>&1
recorded=
for _ in $(seq 100); do
  # As integ: root opening the store would leave root-owned journal files.
  if asinteg integ -c "$run/integ.yaml" status >"$run/status" 2>&1 &&
    ! grep -q 'never ran' "$run/status" && grep -q . "$run/shop.jsonl" 2>/dev/null; then
    recorded=1
    break
  fi
  sleep 0.2
done
diag "$run/status"
if [ -n "$recorded" ]; then
  ok "integ daemon as user integ runs the connector; integ status shows the run"
else
  not_ok "integ daemon as user integ runs the connector; integ status shows the run"
  diag "$run/daemon.log" "$run/run-now" "$run/status"
fi
st=$(stat -c %U /var/lib/integ/integ.db 2>&1)
is_owner() { [ "$st" = integ ]; }
check "the daemon's store /var/lib/integ/integ.db belongs to integ" is_owner

# --- 5. upgrade over a modified conffile: the admin's file stays
echo "# the admin's edit" >>/etc/integ/integ.yaml
up=$work/up
dpkg-deb -R "$deb" "$up"
sed -i "s/^Version: .*/Version: $ver+1/" "$up/DEBIAN/control"
echo "# a new release's edit" >>"$up/etc/integ/integ.yaml"
(cd "$up" && find etc usr lib -type f -exec md5sum {} +) >"$up/DEBIAN/md5sums"
dpkg-deb -b "$up" "$work/integ_up.deb" >/dev/null 2>&1
check "dpkg --force-confold upgrades over a modified conffile" \
  dpkg -i --force-confold "$work/integ_up.deb"
if grep -q "the admin's edit" /etc/integ/integ.yaml && [ -f /etc/integ/integ.yaml.dpkg-dist ]; then
  ok "the admin's integ.yaml is kept (the new one is integ.yaml.dpkg-dist)"
else
  not_ok "the admin's integ.yaml is kept (the new one is integ.yaml.dpkg-dist)"
fi
cp /etc/integ/token.key "$work/key.before"
check "dpkg-reconfigure (postinst configure again)" dpkg-reconfigure integ
if cmp -s /etc/integ/token.key "$work/key.before"; then
  ok "the token key is never overwritten"
else
  not_ok "the token key is never overwritten"
fi

# --- 6. a plugin package for a newer ABI minor
minor=$(pkg-config --variable=abi_minor integ-plugin)
major=$(pkg-config --variable=abi_major integ-plugin)
fut=$work/future
mkdir -p "$fut/DEBIAN" "$fut$plugdir"
cat >"$work/future.c" <<'EOT'
#include <integ/plugin.h>
static const struct integ_plugin vtable = {
    .abi_major = INTEG_ABI_MAJOR, .abi_minor = INTEG_ABI_MINOR + 1,
    .size = sizeof(struct integ_plugin), .name = "future",
    .version = "1.0.0", .description = "built for a newer host",
    .spec = "{\"type\": \"object\"}"};
INTEG_PLUGIN_DEFINE(vtable)
EOT
# shellcheck disable=SC2046
cc -shared -fPIC -o "$fut$plugdir/future.so" "$work/future.c" $(pkg-config --cflags --libs integ-plugin)
cat >"$fut/DEBIAN/control" <<EOT
Package: integ-plugin-future
Version: 1.0.0
Architecture: $arch
Maintainer: integ CI <ci@example.org>
Depends: integ-abi-$major (>= $major.$((minor + 1)))
Description: a plugin built for ABI $major.$((minor + 1))
EOT
dpkg-deb -b "$fut" "$work/future.deb" >/dev/null 2>&1
if dpkg -i "$work/future.deb" >"$work/out" 2>&1; then
  not_ok "dpkg refuses a plugin package that needs integ-abi-$major (>= $major.$((minor + 1)))"
else
  ok "dpkg refuses a plugin package that needs integ-abi-$major (>= $major.$((minor + 1)))"
fi
grep 'integ-abi' "$work/out" | diag
dpkg --remove integ-plugin-future >/dev/null 2>&1
dpkg -i --force-depends "$work/future.deb" >/dev/null 2>&1
integ plugins >"$work/plugins" 2>&1
if grep -q "future.*BROKEN\|BROKEN.*future" "$work/plugins"; then
  ok "forced, the loader refuses it by name"
else
  not_ok "forced, the loader refuses it by name"
fi
grep future "$work/plugins" | diag

# --- 7. purge with the daemon running
kill -0 "$dpid" 2>/dev/null && alive=1 || alive=
check "the daemon still runs before the purge" test -n "$alive"
check "apt-get purge integ integ-dev integ-plugin-future" \
  apt-get purge -y -qq integ integ-dev integ-plugin-future
if kill -0 "$dpid" 2>/dev/null; then
  not_ok "the purge stopped the running daemon"
else
  ok "the purge stopped the running daemon"
fi
dpid=
left=
for p in /etc/integ /var/lib/integ /run/integ /usr/lib/*/integ /usr/include/integ \
  /usr/share/doc/integ /usr/share/doc/integ-dev /usr/bin/integ; do
  [ -e "$p" ] && left="$left $p"
done
is_clean() { [ -z "$left" ]; }
check "the purge leaves no files${left:+ (left:$left)}" is_clean
echo "# what remains (policy): the system user and group integ:"
getent passwd integ | diag
getent group integ | diag

echo "# deb-check.sh took $(($(date +%s) - t0)) s"
finish
