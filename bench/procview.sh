#!/usr/bin/env bash
# nsbox's /proc view against Debian's lxcfs, side by side in one run:
#   read time   one open + read + close of meminfo, cpuinfo and stat by a
#               process in a container (nsbox run -m 256m --cpus 1, the view
#               not bound: it reads each source by path), from the host's
#               /proc, through nsbox's view and through lxcfs; medians of
#               READS reads each (default 2000; the three sources in turn,
#               so the machine's load weighs on each alike), and each view's
#               ratio to the host's own read
#   values      what each shows that container for the same limits: MemTotal,
#               processors in cpuinfo, cpu/online, uptime
# Both views are mounted on directories of a temporary directory (under
# /var/tmp: a container of nsbox run gets a /tmp of its own) and stopped at
# the end; lxcfs runs as Debian ships it (no --enable-cfs: CPUs follow the
# cpuset only), its pid file there too. Needs python3 (the reader) and
# lxcfs (apt-get install -y lxcfs). Prints two markdown tables (see
# bench/README.md).
#
# Run as root: bash bench/procview.sh
source "$(dirname "$0")/lib.sh"
need python3 python3
need lxcfs lxcfs
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -e /dev/fuse ] || { echo "bench: no /dev/fuse (modprobe fuse)" >&2; exit 1; }
build_nsbox

T=$(mktemp -d -p /var/tmp nsbox-bench-procview.XXXXXX)
LXCFS_PID=
cleanup() {
  "$NSBOX" --root "$T/root" proc-view stop >/dev/null 2>&1 || true
  if [ -n "$LXCFS_PID" ]; then
    kill "$LXCFS_PID" 2>/dev/null || true
    wait "$LXCFS_PID" 2>/dev/null || true
  fi
  umount -l "$T/lxcfs" 2>/dev/null || true
  umount -l "$T/nsbox" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

"$NSBOX" --root "$T/root" proc-view start --mount-point "$T/nsbox"
mkdir -p "$T/lxcfs"
lxcfs -f -p "$T/lxcfs.pid" "$T/lxcfs" >"$T/lxcfs.log" 2>&1 &
LXCFS_PID=$!
for _ in $(seq 100); do
  [ -e "$T/lxcfs/proc/meminfo" ] && break
  sleep 0.05
done
[ -e "$T/lxcfs/proc/meminfo" ] || { echo "bench: lxcfs did not mount: $(cat "$T/lxcfs.log")" >&2; exit 1; }

cat >"$T/read.py" <<'PY'
import sys, time
base, reads = sys.argv[1], int(sys.argv[2])
sources = [("host", ""), ("nsbox", base + "/nsbox"), ("lxcfs", base + "/lxcfs")]

def medians_us(paths):
    # interleaved, so that the machine's load changes weigh on each alike
    times = [[] for _ in paths]
    for _ in range(reads):
        for i, path in enumerate(paths):
            t = time.perf_counter_ns()
            with open(path, "rb") as f:
                f.read()
            times[i].append(time.perf_counter_ns() - t)
    return [sorted(ts)[len(ts) // 2] / 1000 for ts in times]

print("| source | MemTotal | processors in cpuinfo | cpu/online | uptime |")
print("|---|---|---|---|---|")
for name, root in sources:
    read = lambda p: open(root + p).read()
    mem = next(l for l in read("/proc/meminfo").splitlines() if l.startswith("MemTotal:"))
    cpus = sum(l.startswith("processor") for l in read("/proc/cpuinfo").splitlines())
    online = read("/sys/devices/system/cpu/online").strip()
    up = read("/proc/uptime").split()[0]
    print(f"| {name} | {' '.join(mem.split()[1:])} | {cpus} | {online} | {up} s |")
print()
print("| file | host /proc | nsbox view | lxcfs | nsbox / host | lxcfs / host |")
print("|---|---|---|---|---|---|")
for f in ["meminfo", "cpuinfo", "stat"]:
    m = medians_us([f"{root}/proc/{f}" for _, root in sources])
    t = {name: m[i] for i, (name, _) in enumerate(sources)}
    print(f"| {f} | {t['host']:.1f} µs | {t['nsbox']:.1f} µs | {t['lxcfs']:.1f} µs "
          f"| {t['nsbox'] / t['host']:.1f}x | {t['lxcfs'] / t['host']:.1f}x |")

PY

# A container started a second ago, limited as the issue's docker run.
"$NSBOX" --root "$T/root" run --no-proc-view -m 256m --cpus 1 --net none -- \
  sh -c "sleep 1; exec python3 $T/read.py $T ${READS:-2000}"
