#!/bin/sh
# install-deps.sh - install what building and testing integ needs, on
# Debian 12 (bookworm) or a derivative. Run as root.
set -e
if [ "$(id -u)" != 0 ]; then
  echo "install-deps.sh: run as root (sudo $0)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential autoconf automake libtool libtool-bin pkg-config \
  libltdl-dev libcurl4-openssl-dev libjansson-dev libyaml-dev \
  libsqlite3-dev libssl-dev libmicrohttpd-dev libpcre2-dev libcmocka-dev \
  zlib1g-dev ca-certificates curl jq man-db tzdata iproute2 \
  python3 python3-croniter python3-jsonschema python3-yaml >/dev/null
echo "install-deps.sh: build and test dependencies are installed"
