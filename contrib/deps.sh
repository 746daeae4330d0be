#!/bin/sh
# Install every Debian 12 package needed to build, run and test sanzhang.
# Idempotent; run as root (or through sudo). Uses only Debian's archive.
set -eu

PKGS="
  build-essential autoconf automake libtool pkg-config
  libevent-dev libcurl4-openssl-dev libsqlite3-dev libconfig-dev
  libjansson-dev libssl-dev libsystemd-dev libcmocka-dev
  sqlite3 curl ca-certificates procps
  python3 python3-pytest python3-pytest-xdist
  kannel kannel-extras
  chromium fonts-noto-cjk
  prometheus prometheus-alertmanager mandoc
  clang libclang-rt-14-dev
  valgrind
"

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: must run as root (try: sudo $0)" >&2
    exit 1
fi

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done

if [ -z "$missing" ]; then
    echo "deps.sh: all packages present"
    exit 0
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
