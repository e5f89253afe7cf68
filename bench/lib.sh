# Shared helpers for nsbox benchmarks: hyperfine runs exported to JSON, then
# summarised as medians and ratios in one markdown table.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
RESULTS=${RESULTS:-$BENCH_DIR/results}
mkdir -p "$RESULTS"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "bench: $1 missing (apt-get install -y $2)" >&2; exit 1; }
}

# build_nsbox: release build, path in $NSBOX (a given NSBOX is used as it is).
build_nsbox() {
  if [ -n "${NSBOX:-}" ]; then
    [ -x "$NSBOX" ] || { echo "bench: NSBOX=$NSBOX is not an executable" >&2; exit 1; }
    return
  fi
  (cd "$REPO" && cargo build --release -q -p nsbox)
  NSBOX=$REPO/target/release/nsbox
}

# compare NAME RUNS CMD_A CMD_B...: times each command with hyperfine (after
# warm-up) and appends one markdown row per command: median, and ratio to the
# first command. The first command is always nsbox's. WARMUP (default 10)
# sets hyperfine's warm-up runs.
compare() {
  local name=$1 runs=$2; shift 2
  local json=$RESULTS/$name.json
  local args=()
  for c in "$@"; do args+=("$c"); done
  hyperfine -N --warmup "${WARMUP:-10}" --runs "$runs" --export-json "$json" "${args[@]}" >/dev/null
  python3 - "$json" "$name" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))["results"]
base = data[0]["median"]
for r in data:
    print(f"| {sys.argv[2]} | `{r['command']}` | {r['median']*1e3:.2f} ms | {r['median']/base:.2f}x |")
PY
}

table_header() {
  echo "| benchmark | command | median | vs nsbox |"
  echo "|---|---|---|---|"
}

# crun_hugetlb: crun on a hybrid host needs hugetlb as a mounted v1
# hierarchy (bench/runtime.sh's header says why); mounts it at
# /sys/fs/cgroup/hugetlb when it is not, and leaves it mounted.
crun_hugetlb() {
  grep -q ' /sys/fs/cgroup/unified cgroup2 ' /proc/self/mounts || return 0
  grep -qw hugetlb /proc/cgroups || return 0
  awk '$0 ~ / - cgroup / && $NF ~ /(^|,)hugetlb(,|$)/ {f=1} END {exit !f}' /proc/self/mountinfo && return 0
  mkdir -p /sys/fs/cgroup/hugetlb
  if mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb; then
    echo "bench: mounted the hugetlb v1 hierarchy at /sys/fs/cgroup/hugetlb (left mounted)" >&2
  else
    echo "bench: hugetlb is not a mounted v1 hierarchy and cannot be made one: crun will fail here" >&2
  fi
}
