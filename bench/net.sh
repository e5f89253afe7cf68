#!/usr/bin/env bash
# nsbox's network verbs against iproute2's, side by side in one run:
#   veth-script   steps.sh TOOL: two named namespaces joined by a veth pair
#                 with an address at each end, both ends up, then both
#                 namespaces deleted (the articles' example, 9 commands; the
#                 same words for both tools: only the program name changes)
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
cleanup() {
  for n in a b; do ip netns delete "nsbox-bench-$n-$$" 2>/dev/null || true; done
  ip netns delete "$LIST_NS" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/bin"
cat > "$W/bin/steps.sh" <<STEPS
#!/bin/sh
# steps.sh TOOL: the veth example with TOOL (nsbox or ip), start to finish.
set -e
T=\$1 A=nsbox-bench-a-$$ B=nsbox-bench-b-$$
\$T netns add \$A
\$T netns add \$B
\$T -n \$A link add veth-a type veth peer name veth-b netns \$B
\$T -n \$A addr add 10.201.0.1/24 dev veth-a
\$T -n \$B addr add 10.201.0.2/24 dev veth-b
\$T -n \$A link set veth-a up
\$T -n \$B link set veth-b up
\$T netns delete \$A
\$T netns delete \$B
STEPS
chmod +x "$W/bin/steps.sh"

# both tools must get through the script before it is timed
for tool in "$NSBOX" ip; do "$W/bin/steps.sh" "$tool"; done

ip netns add "$LIST_NS"
for i in $(seq 20); do
  ip -n "$LIST_NS" link add "va$i" type veth peer name "vb$i"
  ip -n "$LIST_NS" addr add "10.202.$i.1/24" dev "va$i"
  ip -n "$LIST_NS" link set "va$i" up
done

table_header
compare veth-script "${RUNS:-200}" "$W/bin/steps.sh $NSBOX" "$W/bin/steps.sh ip"
compare link-list "${RUNS:-200}" "$NSBOX -n $LIST_NS link show" "ip -n $LIST_NS link show"
compare addr-list "${RUNS:-200}" "$NSBOX -n $LIST_NS addr show" "ip -n $LIST_NS addr show"

echo
echo "($(nproc) cores, $(uname -r), $(ip -V))"
