#!/usr/bin/env bash
# Times `nsbox ns ls` against util-linux `lsns` with N extra namespaces, two ways:
#   held: N net namespaces held only by nsfs bind mounts (in a private mount
#         namespace, so nothing leaks; lsns 2.38 cannot see these, nsbox lists them);
#   procs: N sleeping processes, each in its own net+uts namespace (2N namespaces
#         that both tools list).
# Usage: bench/ns_ls.sh [N] (as root; needs hyperfine). Prints hyperfine's summary.
set -euo pipefail
N=${1:-1000}
NSBOX=${NSBOX:-$(cd "$(dirname "$0")/.." && pwd)/target/release/nsbox}
[ -x "$NSBOX" ] || { echo "build first: cargo build --release" >&2; exit 1; }

echo "== $N net namespaces held by bind mounts"
unshare -m --propagation private bash -c '
  set -e
  dir=$(mktemp -d /tmp/nsbox-bench.XXXXXX)
  mount -t tmpfs tmpfs "$dir"
  for i in $(seq 1 '"$N"'); do : > "$dir/n$i"; unshare --net="$dir/n$i" true; done
  hyperfine -N --warmup 5 --runs 40 lsns "'"$NSBOX"' ns ls" "'"$NSBOX"' ns ls -J"
'

echo "== $N processes, each in new net+uts namespaces"
pids=()
cleanup() { [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
for i in $(seq 1 "$N"); do unshare -n -u sleep 3600 & pids+=($!); done
sleep 1
hyperfine -N --warmup 3 --runs 20 lsns "$NSBOX ns ls" "$NSBOX ns ls -J"
