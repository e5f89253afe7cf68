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
# libseccomp-dev/pkg-config: nsbox-seccomp links libseccomp; gcc/libc6-dev:
# oci_default_spec builds a static syscall probe (tests/probes) with cc -static;
# nftables: `nft`, which nsbox-net's bridge rules go through (nft -j);
# containernetworking-plugins: the CNI plugins `run --net cni:NAME` is tested with;
# fuse3: /dev/fuse and fusermount3 for nsbox proc-view (fuser mounts with mount(2)
# as root, no libfuse needed to build).
apt-get install -y -qq busybox-static util-linux iproute2 procps uidmap libseccomp-dev pkg-config \
  gcc libc6-dev nftables containernetworking-plugins fuse3 >/dev/null
# dpkg-dev/binutils: scripts/build-deb.sh (dpkg-shlibdeps, strip); debootstrap:
# the fresh Debian 12 root deb_package.rs installs the package on (made once,
# cached in target/deb-test); man-db: man, for the man page tests; zsh, fish:
# the shells whose completion tests/cli_docs.rs drives (with bash). Without
# recommends (fish's pull in lynx and xsel).
apt-get install -y -qq --no-install-recommends dpkg-dev binutils debootstrap man-db zsh fish >/dev/null
# qemu-system-x86/cpio: tests/vm boots Debian's kernel (fetched with
# `apt-get download`, never installed) on pure cgroup v2 and v1-only hosts;
# without recommends, which pull in a GUI.
apt-get install -y -qq --no-install-recommends qemu-system-x86 cpio >/dev/null
# debootstrap: tests/vm's systemd modes boot Debian's systemd from a root
# file system it builds (cached under target/vm/systemd-image).
apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
# podman, containerd: engines that run nsbox as their OCI runtime
# (crates/nsbox/tests/engine_*.rs); runc, crun: the runtimes bench/runtime.sh
# compares with. Without recommends: podman's pull in dbus-user-session,
# buildah, slirp4netns and fuse-overlayfs, none needed (no systemd here).
apt-get install -y -qq --no-install-recommends podman containerd runc crun >/dev/null
# passt: pasta, the user-mode network of `nsbox run --net pasta` (the default
# of a named container without root; crates/nsbox/tests/sandbox_pasta.rs).
apt-get install -y -qq --no-install-recommends passt >/dev/null
# (pasta opens /dev/net/tun as the user: sandbox_pasta.rs makes it 0666,
# Debian's udev mode, while it runs, and puts back the mode it found.)
# docker.io (dockerd 20.10, Debian's; pulls tini for docker-init and
# iptables): crates/nsbox/tests/engine_docker.rs starts a private dockerd per
# test, in network and mount namespaces of its own, with nsbox as runtime
# (Docker and Docker Swarm). Its postinst would start the system's dockerd
# through invoke-rc.d; a policy-rc.d answering 101 ("not allowed") stops
# that, put in place for the install when the machine has none. Without
# recommends (apparmor, cgroupfs-mount, git, needrestart: none needed).
if ! dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q 'ok installed'; then
  if [ -e /usr/sbin/policy-rc.d ]; then
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  else
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    status=0
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null || status=$?
    rm -f /usr/sbin/policy-rc.d
    [ "$status" = 0 ] || exit "$status"
  fi
fi

# rustfmt and clippy: in rustup's default profile, not in its minimal one
# (nor always beside a distribution's cargo)
if command -v rustup >/dev/null; then
  installed=$(rustup component list --installed)
  for c in rustfmt clippy; do
    grep -q "^$c-" <<<"$installed" || rustup component add "$c"
  done
fi
for c in fmt clippy; do
  cargo "$c" --version >/dev/null 2>&1 ||
    { echo "scripts/test.sh: cargo $c is missing (rustup component add ${c/fmt/rustfmt})" >&2; exit 1; }
done

# Tests run the built nsbox as ordinary users too (rootless runs, rootless
# podman), who must reach the binary. A checkout they cannot reach (the
# fresh-machine layout: /root/project, /root 0700) builds into a directory
# of its own under /var/tmp instead, kept between runs as target/ is; the
# host's permissions stay as they are.
if [ -z "${CARGO_TARGET_DIR:-}" ] &&
  ! setpriv --reuid 65534 --regid 65534 --clear-groups test -r "$PWD/Cargo.toml"; then
  CARGO_TARGET_DIR=/var/tmp/nsbox-target-$(printf %s "$PWD" | sha256sum | cut -c1-12)
  export CARGO_TARGET_DIR
  mkdir -p "$CARGO_TARGET_DIR"
  chmod 755 "$CARGO_TARGET_DIR"
  echo "scripts/test.sh: $PWD is closed to other users: building in $CARGO_TARGET_DIR" >&2
fi

# The habits, enforced before any test: one formatting, no clippy warning
# (the workspace's [workspace.lints] deny undocumented unsafe blocks and
# more than one unsafe operation per block).
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

cargo build --workspace --all-targets
cargo test --workspace -- --test-threads=2

# The cgroup tests (nsbox-cgroups' and the runtime's oci_cgroups) again on
# every host kind, whatever this machine is: a pure cgroup v2 kernel (tests
# in the root cgroup, and in a service cgroup that holds processes as under
# systemd), a v1-only boot and a hybrid one (v1 controllers, cgroup2 at
# /sys/fs/cgroup/unified), each under qemu with AppArmor enabled (v2 also
# runs oci_seccomp for its AppArmor case; docs/ARCHITECTURE.md, "VM
# tests"). A test that cannot run on this machine's kind says on stderr
# which of these runs it. systemd-v2 and systemd-hybrid boot Debian's
# systemd as PID 1 (v2, and hybrid with systemd.unified_cgroup_hierarchy=0)
# for the systemd cgroup driver's tests (crates/nsbox/tests/oci_systemd.rs,
# engine_systemd.rs: podman and containerd on nsbox with systemd's driver):
# ~2-3 min each, plus ~2.5 min once to build their image
# (docs/cgroups-systemd.md, "CI time").
bash tests/vm/run.sh v2 v1 v2-leaf hybrid systemd-v2 systemd-hybrid
