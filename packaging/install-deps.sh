#!/bin/sh
# install-deps.sh - install what building and testing integ needs, on
# Debian 12 (bookworm) or a derivative. Run as root.
#   install-deps.sh          apt-get update, then install the packages
#   install-deps.sh --list   print the package names (for .ci/run)
set -e
PACKAGES="build-essential autoconf automake libtool libtool-bin pkg-config
  libltdl-dev libcurl4-openssl-dev libjansson-dev libyaml-dev
  libsqlite3-dev libssl-dev libmicrohttpd-dev libpcre2-dev libcmocka-dev
  zlib1g-dev ca-certificates curl jq man-db tzdata iproute2 time
  python3 python3-croniter python3-jsonschema python3-yaml
  clang-format locales abigail-tools
  debhelper dpkg-dev"
if [ "${1:-}" = --list ]; then
  echo $PACKAGES
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps.sh: run as root (sudo $0)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
echo "install-deps.sh: build and test dependencies are installed"
