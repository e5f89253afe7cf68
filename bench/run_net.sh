#!/usr/bin/env bash
# A container's network, end to end: `run --rm IMAGE true` (nsbox: `run -- true`)
# on each tool's bridge and with no network, side by side in one run:
#   nsbox  run --rootfs BUSYBOX --net bridge -- true   (nsbox0, 10.89.0.0/24:
#          bridge, nftables table, veth, lease, hosts file) and --net none;
#          also --net bridge while another container sits on nsbox0, so
#          the bridge's nftables table is already there (it is made with
#          a network's first container and removed with its last)
#   podman --runtime crun run --rm IMAGE true, its default network (CNI:
#          cni-podman0, 10.88.0.0/16) and --network none
#   docker run --rm --runtime runc IMAGE true, its default bridge (docker0)
#          and --network none
# The same busybox root (Debian's busybox-static) everywhere: nsbox runs the
# directory (--rootfs, read-only), podman and docker a tarball of it that
# they imported (overlay storage for both, vfs where overlay cannot mount).
#
# Nothing touches this machine's network: the whole benchmark runs under
# `unshare --net --mount` (lo up), so bridges, veths, nftables/iptables
# rules and packets exist only in a namespace of its own, and in its own
# mount namespace: a tmpfs on /run (every state root: nsbox's /run/nsbox,
# podman's runroot and crun's, dockerd's exec-root, containerd's sockets,
# netns files, xtables.lock), /var/lib/containers (podman's blob cache) and
# /var/lib/cni (CNI's leases and cache; made, then removed, if missing).
# podman gets a private containers.conf and storage, dockerd (with its
# containerd) its own data-root, exec-root, socket and pidfile, as the
# engine tests do (crates/nsbox/tests/engine_podman.rs, engine_support/
# docker.rs): cgroupfs, a relative cgroup parent (beneath our own cgroup in
# every hierarchy), rlimits within our hard limits.
#
# On exit, on failure too: containers removed, dockerd stopped, every
# process left in the bench's namespaces (containerd, shims, conmon)
# killed, the cgroups beneath the bench's parent removed, the temp dir
# (storage, images, rootfs) deleted; the namespaces die with their last
# process.
#
# Run as root: bash bench/run_net.sh   (RUNS=N, default 40; prints a
# markdown table; hyperfine JSON in bench/results/run-net.json)
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }

IMAGE=localhost/nsbox-bench-busybox:latest
DOCKER=/usr/bin/docker # Debian's CLI, from the same package as dockerd

# cg_dirs REL: REL beneath our own cgroup, one directory per mounted
# hierarchy (what a runtime makes of a relative cgroup path).
cg_dirs() {
  python3 - "$1" <<'PY'
import sys
rel = sys.argv[1]
own = {}
for line in open("/proc/self/cgroup"):
    _, ctrls, path = line.rstrip("\n").split(":", 2)
    own[ctrls] = path
for line in open("/proc/self/mountinfo"):
    pre, post = line.split(" - ")
    fstype, _, sopts = post.split()
    mnt = pre.split()[4]
    if fstype == "cgroup2":
        path = own.get("")
    elif fstype == "cgroup":
        opts = set(sopts.split(","))
        path = next((p for c, p in own.items() if c and set(c.split(",")) <= opts), None)
    else:
        continue
    if path is not None:
        print(f"{mnt}{path.rstrip('/')}/{rel}")
PY
}

# cg_mounts: every mounted cgroup hierarchy (v1 and v2).
cg_mounts() { awk '$0 ~ / - cgroup2? / {print $5}' /proc/self/mountinfo; }

# ---------------------------------------------------------------- outside --
if [ "${1:-}" != --inner ]; then
  need hyperfine hyperfine
  need podman podman
  need conmon conmon
  need crun crun
  need runc runc
  need dockerd docker.io
  need containerd containerd
  need iptables iptables
  need nft nftables
  need unshare util-linux
  need ip iproute2
  need python3 python3
  [ -x $DOCKER ] || { echo "bench: $DOCKER missing (apt-get install -y docker.io)" >&2; exit 1; }
  [ -x /bin/busybox ] || { echo "bench: /bin/busybox missing (apt-get install -y busybox-static)" >&2; exit 1; }
  [ -d /usr/lib/cni ] || { echo "bench: /usr/lib/cni missing (apt-get install -y containernetworking-plugins)" >&2; exit 1; }
  build_nsbox

  W=$(mktemp -d /tmp/nsbox-bench-run-net.XXXXXX)
  # cgroups: dockerd (runc) gets a relative parent, which runc places
  # beneath our own cgroup in every hierarchy; crun does not (it made the
  # relative parent at the root of the memory hierarchy here, outside the
  # cgroup the machine put us in), so podman gets an absolute one beneath
  # our own cgroup (the deepest path in /proc/self/cgroup), as
  # bench/runtime.sh does, and the directories of that path that did not
  # exist, in every hierarchy, are removed on exit (deepest first).
  CGP=nsbox-bench-net-$$
  OWN_CG=$(awk -F: '{ if (length($3) > length(best)) best = $3 } END { print best }' /proc/self/cgroup)
  PODMAN_CG=${OWN_CG%/}/nsbox-bench-net-$$-podman
  made_cgroups=()
  for mnt in $(cg_mounts); do
    p=""
    IFS=/ read -ra parts <<< "${PODMAN_CG#/}"
    for part in "${parts[@]}"; do
      p=$p/$part
      [ -d "$mnt$p" ] || made_cgroups=("$mnt$p" "${made_cgroups[@]}")
    done
  done
  made_var_lib_cni=0
  [ -e /var/lib/cni ] || { mkdir /var/lib/cni; made_var_lib_cni=1; }

  cleanup() {
    set +e
    # Whatever outlived the inner script in its namespaces (dockerd,
    # containerd, shims, conmon): all started by this bench.
    if [ -e "$W/pinned" ]; then
      read -r net mnt < "$W/ns"
      for _ in $(seq 50); do
        left=()
        for p in /proc/[0-9]*; do
          [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$net" ] ||
            [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$mnt" ] && left+=("${p#/proc/}")
        done
        [ ${#left[@]} = 0 ] && break
        kill -9 "${left[@]}" 2>/dev/null
        sleep 0.2
      done
      [ ${#left[@]} = 0 ] || echo "bench: processes left in the bench's namespaces: ${left[*]}" >&2
    fi
    # Containers' cgroups left beneath the bench's two parents, the parents,
    # then the directories above podman's that the bench made (rmdir only:
    # nothing of anyone else's is touched).
    for d in $(cg_dirs "$CGP") $(cg_mounts | sed "s|\$|$PODMAN_CG|"); do
      [ -d "$d" ] || continue
      find "$d" -depth -type d | while read -r c; do
        while read -r pid; do kill -9 "$pid" 2>/dev/null; done < "$c/cgroup.procs"
      done
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null ||
        echo "bench: cgroup left: $d" >&2
    done
    for d in "${made_cgroups[@]}"; do [ ! -d "$d" ] || rmdir "$d" 2>/dev/null; done
    exec 8<&- 9<&-
    [ $made_var_lib_cni = 0 ] || rm -rf /var/lib/cni
    rm -rf "$W"
  }
  trap cleanup EXIT

  # crun on this hybrid host needs hugetlb as a mounted v1 hierarchy (see
  # bench/README.md, "This host"); mounted here as bench/runtime.sh does.
  crun_hugetlb

  unshare --net --mount --propagation private -- bash "$0" --inner "$W" "$NSBOX" "$CGP" "$PODMAN_CG" &
  inner=$!
  # Pin the namespaces (fds 8, 9) before the inner script starts anything:
  # a freed namespace's inode comes back for new ones (another job's
  # containers), which the cleanup must not take for the bench's.
  until [ -s "$W/ns" ]; do kill -0 $inner 2>/dev/null || break; sleep 0.05; done
  exec 8<"/proc/$inner/ns/net" 9<"/proc/$inner/ns/mnt"
  [ "$(readlink /proc/self/fd/8) $(readlink /proc/self/fd/9)" = "$(cat "$W/ns")" ] ||
    { echo "bench: the bench's namespaces went away before they were pinned" >&2; exit 1; }
  touch "$W/pinned"
  wait $inner
  exit 0
fi

# ----------------------------------------------------------------- inside --
W=$2 NSBOX=$3 CGP=$4 PODMAN_CG=$5
echo "$(readlink /proc/self/ns/net) $(readlink /proc/self/ns/mnt)" > "$W/ns.tmp"
mv "$W/ns.tmp" "$W/ns"
until [ -e "$W/pinned" ]; do sleep 0.05; done
ip link set lo up
mount -t tmpfs -o mode=0755 nsbox-bench-run /run
mount -t tmpfs -o mode=0700 nsbox-bench-containers /var/lib/containers
mount -t tmpfs -o mode=0755 nsbox-bench-cni /var/lib/cni
mkdir -p "$W/bin"
ln -s "$NSBOX" "$W/bin/nsbox"
export PATH=$W/bin:$PATH

# The busybox root, and a tarball of it for the engines.
rootfs=$W/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$rootfs/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
tar --numeric-owner -C "$rootfs" -cf "$W/busybox.tar" .

# overlay for both engines (their default) where it mounts here.
mkdir -p "$W/probe"/{l,u,w,m}
if mount -t overlay overlay -o "lowerdir=$W/probe/l,upperdir=$W/probe/u,workdir=$W/probe/w" "$W/probe/m" 2>/dev/null; then
  umount "$W/probe/m"; PODMAN_DRIVER=overlay DOCKER_DRIVER=overlay2
else
  PODMAN_DRIVER=vfs DOCKER_DRIVER=vfs
fi
rm -rf "$W/probe"

# --- podman: private config and storage (CONTAINERS_* for every podman)
P=$W/podman
mkdir -p "$P"/{tmp,cni}
cat > "$P/containers.conf" <<EOF
[containers]
cgroups = "no-conmon"
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[network]
network_backend = "cni"
network_config_dir = "$P/cni"
cni_plugin_dirs = ["/usr/lib/cni"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/events.log"
runtime_supports_json = ["crun", "runc"]
tmp_dir = "/run/libpod"
volume_path = "$P/volumes"
image_copy_tmp_dir = "$P/tmp"
EOF
printf '[storage]\ndriver = "%s"\nrunroot = "/run/containers/storage"\ngraphroot = "%s/graph"\n' \
  "$PODMAN_DRIVER" "$P" > "$P/storage.conf"
echo 'unqualified-search-registries = []' > "$P/registries.conf"
export CONTAINERS_CONF=$P/containers.conf CONTAINERS_STORAGE_CONF=$P/storage.conf
export CONTAINERS_REGISTRIES_CONF=$P/registries.conf TMPDIR=$P/tmp

# --- dockerd: private everything, in these namespaces
D=$W/docker
mkdir -p "$D/cli"
cat > "$D/daemon.json" <<EOF
{
  "data-root": "$D/data",
  "exec-root": "/run/docker-bench",
  "pidfile": "/run/docker-bench.pid",
  "hosts": ["unix://$D/docker.sock"],
  "deprecated-key-path": "$D/key.json",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "cgroup-parent": "$CGP",
  "storage-driver": "$DOCKER_DRIVER",
  "default-ulimits": {
    "nofile": {"Name": "nofile", "Hard": 1024, "Soft": 1024},
    "nproc": {"Name": "nproc", "Hard": 4096, "Soft": 4096}
  },
  "shutdown-timeout": 1
}
EOF
docker() { $DOCKER --config "$D/cli" -H "unix://$D/docker.sock" "$@"; }

inner_cleanup() {
  set +e
  nsbox rm -f nsbox-bench-keep >/dev/null 2>&1
  if [ -n "${dockerd_pid:-}" ]; then
    ids=$(docker ps -aq)
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  podman rm --all --force --time 0 >/dev/null 2>&1
  podman system reset --force >/dev/null 2>&1
  # the outer script kills what is left in these namespaces and removes $W
}
trap inner_cleanup EXIT

dockerd --config-file "$D/daemon.json" >"$D/dockerd.log" 2>&1 </dev/null &
dockerd_pid=$!
for i in $(seq 300); do
  [ -S "$D/docker.sock" ] && docker version >/dev/null 2>&1 && break
  kill -0 $dockerd_pid 2>/dev/null || { echo "bench: dockerd exited: $(tail -20 "$D/dockerd.log")" >&2; exit 1; }
  [ "$i" = 300 ] && { echo "bench: dockerd did not serve in 30 s: $(tail -20 "$D/dockerd.log")" >&2; exit 1; }
  sleep 0.1
done
docker import "$W/busybox.tar" "$IMAGE" >/dev/null
podman import -q "$W/busybox.tar" "$IMAGE" >/dev/null

nsbox_cmd="nsbox run --rootfs $rootfs --net %s -- true"
podman_cmd="podman --runtime crun run --rm --cgroup-parent $PODMAN_CG %s$IMAGE true"
docker_cmd="$DOCKER --config $D/cli -H unix://$D/docker.sock run --rm --runtime runc %s$IMAGE true"
# Each tool's two modes next to each other, so that the machine's drift
# lands on both.
# shellcheck disable=SC2059 # the formats above are ours
cmds=(
  "$(printf "$nsbox_cmd" none)" "$(printf "$nsbox_cmd" bridge)"
  "$(printf "$podman_cmd" "--network none ")" "$(printf "$podman_cmd" "")"
  "$(printf "$docker_cmd" "--network none ")" "$(printf "$docker_cmd" "")"
)

# Every command once, untimed; a failure stops the bench with its output.
for c in "${cmds[@]}"; do
  # shellcheck disable=SC2086 # split into words, as hyperfine -N does
  $c >"$W/check.out" 2>&1 </dev/null || { echo "bench: failed: $c: $(cat "$W/check.out")" >&2; exit 1; }
done
# ... and each network as the container sees it.
nsbox run --rootfs "$rootfs" --net bridge -- ip -4 -o addr show eth0 | awk '{print "nsbox bridge: eth0 " $4}' >&2
podman run --rm --cgroup-parent "$PODMAN_CG" "$IMAGE" ip -4 -o addr show eth0 | awk '{print "podman default network: eth0 " $4}' >&2
docker run --rm "$IMAGE" ip -4 -o addr show eth0 | awk '{print "docker default bridge: eth0 " $4}' >&2

RUNS=${RUNS:-40}
hyperfine -N --warmup "${WARMUP:-5}" --runs "$RUNS" --export-json "$RESULTS/run-net.json" "${cmds[@]}" >/dev/null

# nsbox's bridge with the table kept: another container stays on nsbox0.
nsbox run -d --name nsbox-bench-keep --rootfs "$rootfs" --net bridge -- sleep 1000000 >/dev/null
hyperfine -N --warmup "${WARMUP:-5}" --runs "$RUNS" --export-json "$RESULTS/run-net-kept.json" \
  "$(printf "$nsbox_cmd" none)" "$(printf "$nsbox_cmd" bridge)" >/dev/null
nsbox rm -f nsbox-bench-keep >/dev/null

python3 - "$RESULTS/run-net.json" "$RESULTS/run-net-kept.json" <<'PY'
import json, sys
def load(path, key):
    return [x[key] * 1e3 if key != "min" else min(x["times"]) * 1e3
            for x in json.load(open(path))["results"]]
print("| benchmark | nsbox | podman (crun) | docker (runc) | podman / nsbox | docker / nsbox |")
print("|---|---|---|---|---|---|")
for key, label in (("median", "median"), ("min", "fastest")):
    r = load(sys.argv[1], key)
    none, bridge = r[0::2], r[1::2]
    cost = [b - n for b, n in zip(bridge, none)]
    for name, row in ((f"{label}: `run --rm … true`, no network", none),
                      (f"{label}: `run --rm … true`, default bridge", bridge),
                      (f"{label}: bridge cost (bridge − none)", cost)):
        ratios = " | ".join(f"{v / row[0]:.2f}x" if row[0] > 0 else "" for v in row[1:])
        print(f"| {name} | " + " | ".join(f"{v:.1f} ms" for v in row) + f" | {ratios} |")
k = load(sys.argv[2], "median")
print()
print(f"nsbox with another container on nsbox0 (its nftables table kept), medians: "
      f"none {k[0]:.1f} ms, bridge {k[1]:.1f} ms, bridge cost {k[1] - k[0]:.1f} ms")
PY
echo
echo "($(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); nsbox $(git -C "$REPO" rev-parse --short HEAD)," \
  "$(podman --version), crun $(crun --version | awk 'NR==1 {print $3}')," \
  "docker $(docker version --format '{{.Server.Version}}'), runc $(runc --version | awk 'NR==1 {print $3}')," \
  "containerd $(containerd --version | awk '{print $3}'); storage $PODMAN_DRIVER/$DOCKER_DRIVER; $RUNS runs each)"
