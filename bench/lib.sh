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

# build_nsbox: release build, path in $NSBOX.
build_nsbox() {
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
