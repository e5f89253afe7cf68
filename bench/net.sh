#!/usr/bin/env bash
# nsbox's network verbs against iproute2's, side by side in one run:
#   veth-script   steps.sh TOOL: two named namespaces joined by a veth pair
#                 with an address at each end, both ends up, then both
#                 namespaces deleted (the articles' example, 9 commands; the
#                 same words for both tools: only the program name changes),
#                 and the same 9 lines as one `nsbox batch` (one process;
#                 `ip -batch` has no per-line `-n`, so ip has no such row)
#   link-list     TOOL -n NS link show, in a namespace with 20 veth pairs
#   addr-list     TOOL -n NS addr show, same namespace
# Every link lives in namespaces the script makes (`-n`), never in the
# machine's; they are deleted on exit.
# Run as root: bash bench/net.sh   (prints a markdown table)
source "$(dirname "$0")/lib.sh"
need hyperfine hyperfine
need ip iproute2
build_nsbox

W=$(mktemp -d /tmp/nsbox-bench-net.XXXXXX)
LIST_NS=nsbox-bench-list-$$
A=nsbox-bench-a-$$ B=nsbox-bench-b-$$
cleanup() {
  for n in "$A" "$B" "$LIST_NS"; do ip netns delete "$n" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

cat > "$W/steps.txt" <<STEPS
netns add $A
netns add $B
-n $A link add veth-a type veth peer name veth-b netns $B
-n $A addr add 10.201.0.1/24 dev veth-a
-n $B addr add 10.201.0.2/24 dev veth-b
-n $A link set veth-a up
-n $B link set veth-b up
netns delete $A
netns delete $B
STEPS
mkdir -p "$W/bin"
cat > "$W/bin/steps.sh" <<STEPS
#!/bin/sh
# steps.sh TOOL: the lines of steps.txt, each one run as TOOL LINE.
set -e
while read -r line; do "\$1" \$line; done < "$W/steps.txt"
STEPS
chmod +x "$W/bin/steps.sh"

# both tools must get through the script before it is timed
for tool in "$NSBOX" ip; do "$W/bin/steps.sh" "$tool"; done
"$NSBOX" batch "$W/steps.txt"

ip netns add "$LIST_NS"
for i in $(seq 20); do
  ip -n "$LIST_NS" link add "va$i" type veth peer name "vb$i"
  ip -n "$LIST_NS" addr add "10.202.$i.1/24" dev "va$i"
  ip -n "$LIST_NS" link set "va$i" up
done

table_header
compare veth-script "${RUNS:-200}" "$NSBOX batch $W/steps.txt" "$W/bin/steps.sh $NSBOX" "$W/bin/steps.sh ip"
compare link-list "${RUNS:-200}" "$NSBOX -n $LIST_NS link show" "ip -n $LIST_NS link show"
compare addr-list "${RUNS:-200}" "$NSBOX -n $LIST_NS addr show" "ip -n $LIST_NS addr show"

echo
echo "($(nproc) cores, $(uname -r), $(ip -V))"
