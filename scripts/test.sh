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
# qemu-system-x86/cpio: tests/vm boots Debian's kernel (fetched with
# `apt-get download`, never installed) on pure cgroup v2 and v1-only hosts;
# without recommends, which pull in a GUI.
apt-get install -y -qq --no-install-recommends qemu-system-x86 cpio >/dev/null
# podman, containerd: engines that run nsbox as their OCI runtime
# (crates/nsbox/tests/engine_*.rs); runc, crun: the runtimes bench/runtime.sh
# compares with. Without recommends: podman's pull in dbus-user-session,
# buildah, slirp4netns and fuse-overlayfs, none needed (no systemd here).
apt-get install -y -qq --no-install-recommends podman containerd runc crun >/dev/null

cargo build --workspace --all-targets
cargo test --workspace -- --test-threads=2

# The cgroup tests (nsbox-cgroups' and the runtime's oci_cgroups) again on
# the host kinds this machine is not: a pure cgroup v2 kernel (tests in the
# root cgroup, and in a service cgroup that holds processes as under
# systemd) and a v1-only boot, each under qemu (docs/ARCHITECTURE.md,
# "VM tests").
bash tests/vm/run.sh v2 v1 v2-leaf
