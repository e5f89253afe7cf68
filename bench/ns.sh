#!/usr/bin/env bash
# nsbox's namespace tools against util-linux, side by side in one run:
#   1. nsbox unshare -fpimnu true   vs  unshare -fpimnu true
#   2. nsbox ns ls                  vs  lsns
#      with 1,000 extra namespaces present (200 processes x 5 new namespaces,
#      made with util-linux unshare and killed afterwards).
# Run as root: bash bench/ns.sh   (prints a markdown table)
source "$(dirname "$0")/lib.sh"
need hyperfine hyperfine
need unshare util-linux
need lsns util-linux
build_nsbox

pids=()
cleanup() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

table_header
compare unshare 300 "$NSBOX unshare -fpimnu true" "unshare -fpimnu true"

for _ in $(seq 200); do
  unshare --uts --ipc --net --mount --cgroup sleep 3600 &
  pids+=($!)
done
sleep 1
extra=$(( $(lsns -n -o NS | wc -l) ))
compare ns-ls 50 "$NSBOX ns ls" "lsns"
compare ns-ls-json 50 "$NSBOX ns ls -J" "lsns -J"
echo
echo "($extra namespaces listed by lsns during ns-ls; $(nproc) cores, $(uname -r))"
