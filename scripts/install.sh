#!/usr/bin/env bash
# Installs what nsbox needs on Debian 12, builds it and puts it in /usr/local/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  apt-get install -y -qq uidmap busybox-static libseccomp-dev pkg-config >/dev/null
fi
cargo build --release -p nsbox
install -m 0755 target/release/nsbox /usr/local/bin/nsbox
echo "installed /usr/local/bin/nsbox"
