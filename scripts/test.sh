#!/usr/bin/env bash
# Installs what nsbox's tests need on Debian 12 and runs every test, as root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "scripts/test.sh: run as root: the tests create real namespaces, mounts and cgroups" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# busybox-static: test root file systems; util-linux: lsns/unshare to compare with;
# iproute2/procps: tools used inside test namespaces; uidmap: newuidmap/newgidmap;
# libseccomp-dev/pkg-config: nsbox-seccomp links libseccomp.
apt-get install -y -qq busybox-static util-linux iproute2 procps uidmap libseccomp-dev pkg-config >/dev/null

cargo build --workspace --all-targets
cargo test --workspace -- --test-threads=2
