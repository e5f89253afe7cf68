#!/usr/bin/env bash
# nsbox's namespace tools against util-linux, side by side in one run:
#   unshare       nsbox unshare -fpimnu true  vs  unshare -fpimnu true
#   ns-ls-procs   nsbox ns ls  vs  lsns, with 1,000 extra namespaces: 500
#                 sleeping processes each in a new net and uts namespace
#   ns-ls-held    the same plus 1,000 net namespaces held only by bind mounts
#                 (lsns 2.38 does not see these; nsbox lists them, so it does
#                 more work than lsns here)
# Everything made is removed on exit (processes killed, mounts detached).
# Run as root: bash bench/ns.sh   (prints a markdown table)
source "$(dirname "$0")/lib.sh"
need hyperfine hyperfine
need unshare util-linux
need lsns util-linux
build_nsbox

pids=()
held=""
cleanup() {
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -z "$held" ] || { umount -R "$held" 2>/dev/null || umount -l "$held"; rmdir "$held"; }
}
trap cleanup EXIT

table_header
compare unshare 300 "$NSBOX unshare -fpimnu true" "unshare -fpimnu true"

for _ in $(seq 500); do
  unshare --net --uts sleep 3600 &
  pids+=($!)
done
sleep 2
compare ns-ls-procs 40 "$NSBOX ns ls" "lsns"
compare ns-ls-procs-json 40 "$NSBOX ns ls -J" "lsns -J"

held=$(mktemp -d /tmp/nsbox-bench-held.XXXXXX)
mount -t tmpfs -o mode=0700 nsbox-bench "$held"
mount --make-private "$held"
for i in $(seq 1000); do : > "$held/n$i"; unshare --net="$held/n$i" true; done
compare ns-ls-held 40 "$NSBOX ns ls" "lsns"

echo
echo "($(nproc) cores, $(uname -r), util-linux $(lsns --version | awk '{print $NF}'))"
