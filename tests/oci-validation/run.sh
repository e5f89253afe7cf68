#!/usr/bin/env bash
# Runs the OCI runtime-tools validation suite against one runtime and prints,
# per test program, its TAP counts, then the totals.
#
#   tests/oci-validation/run.sh RUNTIME_TOOLS_DIR RUNTIME [FILTER]
#
# RUNTIME_TOOLS_DIR is a checkout of opencontainers/runtime-tools whose
# validation programs are built (`make runtimetest validation-executables`,
# with GOFLAGS=-mod=vendor GOPROXY=off; a 2025 commit whose go.mod says
# go 1.19 builds with Debian 12's golang-go). The suite is not vendored here.
# RUNTIME is a runtime binary (nsbox, runc, crun). FILTER is a regex on the
# test names. Results go to stdout; each program's full TAP goes to
# $OUT/NAME.tap (OUT defaults to a fresh temp dir).
set -uo pipefail
tools=$(cd "$1" && pwd); runtime=$2; filter=${3:-.}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
cd "$tools" || exit 1
total_ok=0; total_fail=0; programs_failed=0
for t in $(ls validation/*/*.t | sort); do
  name=$(basename "$(dirname "$t")")
  [[ $name =~ $filter ]] || continue
  RUNTIME=$runtime timeout 120 "$t" > "$out/$name.tap" 2>&1
  rc=$?
  ok=$(grep -cE '^ok ' "$out/$name.tap")
  bad=$(grep -cE '^not ok ' "$out/$name.tap")
  plan=$(grep -oE '^1\.\.[0-9]+' "$out/$name.tap" | head -1 | cut -d. -f3)
  status=pass
  if [ "$bad" -gt 0 ] || [ "$rc" -ne 0 ] || [ -z "$plan" ]; then status=FAIL; programs_failed=$((programs_failed+1)); fi
  printf '%-45s %s ok=%s not_ok=%s plan=%s rc=%s\n' "$name" "$status" "$ok" "$bad" "${plan:-none}" "$rc"
  total_ok=$((total_ok+ok)); total_fail=$((total_fail+bad))
done
echo "TOTAL $runtime: assertions ok=$total_ok not_ok=$total_fail, programs failed=$programs_failed (TAP in $out)"
