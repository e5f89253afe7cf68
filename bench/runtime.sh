#!/usr/bin/env bash
# nsbox's OCI runtime against runc and crun (Debian's), side by side in one run:
#   run            RT run of /bin/true (busybox bundle, runc spec's config,
#                  no terminal)
#   create-start-delete
#                  csd.sh RT: create, start, delete --force (one small
#                  script, the same for every runtime)
#   exec           RT exec of /bin/true into a running container
#   run-100        loop.sh RT: 100 containers one after another (`run`)
#   peak memory    /usr/bin/time -f %M of `RT run` (max RSS of the runtime
#                  and the processes it waited for), median of 20
#   create-delete-limits
#                  cdl.sh RT: create + delete --force of a container with a
#                  memory (64 MiB), cpu (0.5) and pids (64) limit
#   events-stats   RT events --stats of a running container (nsbox and
#                  runc; crun has no `events`)
#   create-start-delete-systemd
#                  csd.sh as above with each runtime's systemd cgroup
#                  driver (`--systemd-cgroup`, cgroupsPath
#                  system.slice:nsbox-bench:RT: a transient scope over
#                  D-Bus): only where systemd is PID 1, so measured in
#                  tests/vm's systemd-v2 mode (NSBOX_VM_BENCH=1,
#                  bench/README.md); elsewhere the row is left out, saying so
#
# ONLY=create-start-delete times those two rows alone,
# ONLY=create-start-delete-systemd the systemd one alone (as the VM does:
# beneath its test service crun cannot make a cgroupfs cgroup); RUNS=N
# times them N times instead of 100.
# NSBOX=PATH uses that nsbox binary instead of building one.
# Every runtime gets the same config apart from its cgroupsPath, its own
# --root, and runs as root. Prints a markdown table (see bench/README.md).
#
# Seccomp: every bundle carries nsbox's default profile (the
# `linux.seccomp` that `nsbox spec` writes, docs/seccomp.md), the same JSON
# for nsbox, runc and crun, so create/start include compiling (or finding
# in a cache: nsbox and crun keep one) and loading the filter, as a default
# container pays. SECCOMP=0 leaves it out (runc spec's config as it is).
#
# Cgroups: each container's cgroupsPath is absolute, beneath this script's
# own cgroup (the deepest path in /proc/self/cgroup), so nothing is placed
# outside the cgroup the machine put us in; what is left there is removed
# on exit, in every hierarchy.
#
# crun on a hybrid host needs hugetlb as a mounted v1 hierarchy: it fails
# to find it when hugetlb is a v1 hierarchy that is not mounted (listed in
# /proc/self/cgroup, absent from the mount table), and refuses the host
# ("cgroups in hybrid mode not supported") when hugetlb sits on the unified
# hierarchy instead (unused there, the kernel lets a v1 mount take it). The
# script then mounts it at /sys/fs/cgroup/hugetlb, and leaves it mounted: unmounting a v1 hierarchy that still has child cgroups
# (another tool may have made some) does not destroy it but hides it, which
# is how it got lost in the first place.
#
# Run as root: bash bench/runtime.sh   (BASELINE=/path/to/old/nsbox adds a row each)
source "$(dirname "$0")/lib.sh"
need hyperfine hyperfine
need runc runc
need crun crun
need python3 python3
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install -y time)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
build_nsbox

RUNTIMES=(nsbox runc crun)
# BASELINE=PATH (another nsbox binary, e.g. a release build of an older
# commit) is timed too, as `nsbox-base` in every row: a before/after
# comparison within one run, where the machine's drift between two runs
# cannot pass for a change.
if [ -n "${BASELINE:-}" ]; then
  [ -x "$BASELINE" ] || { echo "bench: BASELINE=$BASELINE is not an executable" >&2; exit 1; }
  RUNTIMES=(nsbox nsbox-base runc crun)
fi

# --- hugetlb for crun (see the top) ------------------------------------------
crun_hugetlb

# --- scratch: bundles, state dirs, PATH ----------------------------------------
W=$(mktemp -d /tmp/nsbox-rt.XXXXXX)
mkdir -p "$W/bin"
ln -s "$NSBOX" "$W/bin/nsbox"
ln -s "$(command -v runc)" "$W/bin/runc"
ln -s "$(command -v crun)" "$W/bin/crun"
[ -z "${BASELINE:-}" ] || ln -s "$(realpath "$BASELINE")" "$W/bin/nsbox-base"
export PATH=$W/bin:$PATH

# Our own cgroup: the deepest path in /proc/self/cgroup (on a hybrid host the
# other hierarchies have us at a prefix of it, usually /).
OWN_CG=$(awk -F: '{ if (length($3) > length(best)) best = $3 } END { print best }' /proc/self/cgroup)
BENCH_CG=${OWN_CG%/}/nsbox-bench-$$

# Directories of $BENCH_CG's path that do not exist yet, in every mounted
# hierarchy: on a hybrid host a runtime makes the whole path (say
# /process_api/ID beneath the cpu hierarchy's root), and cleanup takes back
# exactly those, deepest first, once empty.
made_cgroups=()
for mnt in $(awk '$0 ~ / - cgroup2? / {print $5}' /proc/self/mountinfo); do
  p=""
  IFS=/ read -ra parts <<< "${BENCH_CG#/}"
  for part in "${parts[@]}"; do
    p=$p/$part
    [ -d "$mnt$p" ] || made_cgroups=("$mnt$p" "${made_cgroups[@]}")
  done
done

cleanup() {
  set +e
  for rt in "${RUNTIMES[@]}"; do
    [ -d "$W/state-$rt" ] || continue
    for id in $("$rt" --root "$W/state-$rt" list -q 2>/dev/null); do
      "$rt" --root "$W/state-$rt" delete --force "$id" >/dev/null 2>&1
    done
  done
  # Cgroups the runs left beneath $BENCH_CG, then its own path where we made it.
  for d in "${made_cgroups[@]}"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$W"
}
trap cleanup EXIT

rootfs=$W/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$rootfs/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"

# The default seccomp profile, once, from nsbox spec (see the top).
mkdir -p "$W/profile"
"$NSBOX" spec --bundle "$W/profile"
python3 - "$W/profile/config.json" "$W/seccomp.json" "${SECCOMP:-1}" <<'PY'
import json, sys
src, dst, on = sys.argv[1], sys.argv[2], sys.argv[3] != "0"
json.dump(json.load(open(src))["linux"]["seccomp"] if on else None, open(dst, "w"))
PY

# bundle RT NAME ARGS...: $W/RT-NAME with runc spec's config, no terminal,
# running ARGS in $rootfs, cgroupsPath $BENCH_CG/RT-NAME, nsbox's default
# seccomp profile.
bundle() {
  local rt=$1 name=$2; shift 2
  local b=$W/$rt-$name
  mkdir -p "$b"
  runc spec --bundle "$b"
  python3 - "$b/config.json" "$rootfs" "$BENCH_CG/$rt-$name" "$W/seccomp.json" "$@" <<'PY'
import json, sys
path, rootfs, cg, seccomp, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = args
c["root"] = {"path": rootfs, "readonly": True}
c["linux"]["cgroupsPath"] = cg
profile = json.load(open(seccomp))
if profile is not None:
    c["linux"]["seccomp"] = profile
json.dump(c, open(path, "w"), indent=1)
PY
}

cat > "$W/bin/csd.sh" <<'EOF'
#!/bin/sh
# csd.sh RT ROOT BUNDLE: create, start, delete --force one container.
set -e
"$1" --root "$2" create --bundle "$3" csd
"$1" --root "$2" start csd
"$1" --root "$2" delete --force csd
EOF
cat > "$W/bin/csd-systemd.sh" <<'EOF'
#!/bin/sh
# csd-systemd.sh RT ROOT BUNDLE: csd.sh through RT's systemd cgroup driver.
set -e
"$1" --systemd-cgroup --root "$2" create --bundle "$3" csd
"$1" --systemd-cgroup --root "$2" start csd
"$1" --systemd-cgroup --root "$2" delete --force csd
EOF
cat > "$W/bin/loop.sh" <<'EOF'
#!/bin/sh
# loop.sh RT ROOT BUNDLE: 100 containers one after another.
set -e
i=0
while [ $i -lt 100 ]; do
  "$1" --root "$2" run --bundle "$3" "loop$i"
  i=$((i + 1))
done
EOF
cat > "$W/bin/cdl.sh" <<'EOF'
#!/bin/sh
# cdl.sh RT ROOT BUNDLE: create and delete one container (its limits applied).
set -e
"$1" --root "$2" create --bundle "$3" cdl
"$1" --root "$2" delete --force cdl
EOF
chmod +x "$W/bin/csd.sh" "$W/bin/csd-systemd.sh" "$W/bin/loop.sh" "$W/bin/cdl.sh"

# systemd as PID 1: the row with each runtime's systemd cgroup driver.
SYSTEMD=
[ -d /run/systemd/system ] && SYSTEMD=1

# limits BUNDLE: memory 64 MiB, cpu 0.5, pids 64 in linux.resources.
limits() {
  python3 - "$1/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
r = c["linux"].setdefault("resources", {})
r["memory"] = {"limit": 64 << 20}
r["cpu"] = {"quota": 50000, "period": 100000}
r["pids"] = {"limit": 64}
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
}

for rt in "${RUNTIMES[@]}"; do
  mkdir -p "$W/state-$rt"
  bundle "$rt" true true
  bundle "$rt" csd true
  bundle "$rt" loop true
  bundle "$rt" sleep sleep 1000000
  bundle "$rt" cdl true
  limits "$W/$rt-cdl"
  if [ -n "$SYSTEMD" ]; then
    bundle "$rt" csd-systemd true
    # slice:prefix:name: the scope nsbox-bench-RT.scope in system.slice
    sed -i "s|\"cgroupsPath\": \"[^\"]*\"|\"cgroupsPath\": \"system.slice:nsbox-bench:$rt\"|" \
      "$W/$rt-csd-systemd/config.json"
  fi
  # Every runtime must run the bundle before it is timed.
  [ "${ONLY:-}" != create-start-delete-systemd ] || continue
  "$rt" --root "$W/state-$rt" run --bundle "$W/$rt-true" check >"$W/check.out" 2>&1 </dev/null ||
    { echo "bench: $rt cannot run the bundle: $(cat "$W/check.out")" >&2; exit 1; }
done

# Absolute paths: crun resolves a relative --root after entering the bundle.
cd "$W"
cmds() { # cmds FORMAT: one command per runtime; %r runtime, %w $W
  local f
  for rt in "${RUNTIMES[@]}"; do f=${1//%r/$rt}; printf '%s\n' "${f//%w/$W}"; done
}
mapfile -t run_cmds < <(cmds "%r --root %w/state-%r run --bundle %r-true bench")
mapfile -t csd_cmds < <(cmds "csd.sh %r %w/state-%r %r-csd")
mapfile -t csd_systemd_cmds < <(cmds "csd-systemd.sh %r %w/state-%r %r-csd-systemd")
mapfile -t exec_cmds < <(cmds "%r --root %w/state-%r exec sleeper true")
mapfile -t loop_cmds < <(cmds "loop.sh %r %w/state-%r %r-loop")
mapfile -t cdl_cmds < <(cmds "cdl.sh %r %w/state-%r %r-cdl")
# crun has no `events`: nsbox and runc only.
events_cmds=("nsbox --root $W/state-nsbox events --stats sleeper")
[ -z "${BASELINE:-}" ] || events_cmds+=("nsbox-base --root $W/state-nsbox-base events --stats sleeper")
events_cmds+=("runc --root $W/state-runc events --stats sleeper")

# check CMD...: each command once, untimed; a failure stops the bench with
# what the command printed (hyperfine would only say "non-zero exit code").
check() {
  local c
  for c in "$@"; do
    # shellcheck disable=SC2086 # the command is split into words, as hyperfine -N does
    # (output to a file: a container left behind would hold a pipe open)
    $c >"$W/check.out" 2>&1 </dev/null ||
      { echo "bench: failed: $c: $(cat "$W/check.out")" >&2; exit 1; }
  done
}

footer() {
  echo
  echo "($(nproc) cores, $(uname -r); runc $(runc --version | awk 'NR==1 {print $3}'), crun $(crun --version | awk 'NR==1 {print $3}'), nsbox $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || "$NSBOX" --version | sed -n "s/^commit: \(.......\).*/\1/p")${BASELINE:+, nsbox-base $BASELINE}; seccomp: $([ "${SECCOMP:-1}" = 0 ] && echo none || echo "nsbox's default profile")${SYSTEMD:+; $(systemctl --version | head -n1), cgroup fs $(stat -fc %T /sys/fs/cgroup)})"
}

case "${ONLY:-}" in
  "" | create-start-delete | create-start-delete-systemd) ;;
  *) echo "bench: ONLY=$ONLY: want create-start-delete or create-start-delete-systemd" >&2; exit 1 ;;
esac
if [ "${ONLY:-}" = create-start-delete-systemd ] && [ -z "$SYSTEMD" ]; then
  echo "bench: ONLY=create-start-delete-systemd: systemd is not PID 1 here" >&2
  exit 1
fi
table_header
if [ -z "${ONLY:-}" ]; then
  check "${run_cmds[@]}"
  compare run 100 "${run_cmds[@]}"
fi
if [ "${ONLY:-}" != create-start-delete-systemd ]; then
  check "${csd_cmds[@]}"
  compare create-start-delete "${RUNS:-100}" "${csd_cmds[@]}"
fi
if [ -n "$SYSTEMD" ]; then
  check "${csd_systemd_cmds[@]}"
  compare create-start-delete-systemd "${RUNS:-100}" "${csd_systemd_cmds[@]}"
else
  echo "bench: create-start-delete-systemd left out: systemd is not PID 1 here (NSBOX_VM_BENCH=1 tests/vm/run.sh systemd-v2 measures it)" >&2
fi
if [ -n "${ONLY:-}" ]; then
  footer
  exit 0
fi

for rt in "${RUNTIMES[@]}"; do
  "$rt" --root "$W/state-$rt" create --bundle "$rt-sleep" sleeper </dev/null >/dev/null 2>&1
  "$rt" --root "$W/state-$rt" start sleeper
done
check "${exec_cmds[@]}" "${events_cmds[@]}"
compare exec 100 "${exec_cmds[@]}"
compare events-stats 100 "${events_cmds[@]}"
for rt in "${RUNTIMES[@]}"; do "$rt" --root "$W/state-$rt" delete --force sleeper; done

check "${cdl_cmds[@]}"
compare create-delete-limits 100 "${cdl_cmds[@]}"
WARMUP=1 compare run-100 5 "${loop_cmds[@]}"

# Peak memory: the same measurement for every runtime.
base=""
for rt in "${RUNTIMES[@]}"; do
  kb=$(for _ in $(seq 20); do
         /usr/bin/time -f %M "$rt" --root "$W/state-$rt" run --bundle "$rt-true" mem 2>&1 >/dev/null | tail -1
       done | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
  [ -n "$base" ] || base=$kb
  awk -v rt="$rt" -v kb="$kb" -v base="$base" \
    'BEGIN { printf "| peak-rss | `%s run` | %.1f MiB | %.2fx |\n", rt, kb / 1024, kb / base }'
done

footer
