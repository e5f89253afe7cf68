#!/usr/bin/env bash
# Rootless `run`: an ordinary user (nobody, 65534, with a subordinate range
# in /etc/subuid and /etc/subgid) runs containers, side by side in one run:
#   bundle-run   RT run --bundle B of /bin/true, one bundle for all:
#                `nsbox spec --rootless` as the user (its own id as root
#                inside, 1..65536 the range, mapped through newuidmap and
#                newgidmap; no cgroup: none may be made here), busybox
#                root, no terminal, ociVersion 1.0.2 (crun 1.8 knows no
#                later); nsbox, crun and runc (crun's and runc's rows
#                only where they run the bundle rootless: the script says
#                why when not)
#   cmd-run      nsbox run -- true (a user namespace with the range, the
#                host's root read-only), --rootfs BUSYBOX, and --net pasta
#                (a network namespace of its own with pasta's user-mode
#                network: pasta started and stopped per run)
# hyperfine itself runs as the user, so every timed command is the user's
# own (no setpriv in the timing). Each runtime has its own --root beneath
# the user's XDG_RUNTIME_DIR in a scratch directory.
#
# What it changes, and puts back on exit (on failure too): a line for
# nobody in /etc/subuid and /etc/subgid (the files as they were), and, for
# the pasta row, /dev/net/tun's mode (pasta opens it as the user: Debian's
# udev makes it 0666, a machine without udev keeps 0600; the row is made
# with 0666 and the mode found is restored). PASTA=0 leaves the pasta row
# and the device alone.
#
# Run as root: bash bench/rootless.sh   (RUNS=N, default 100; NSBOX=PATH
# times that binary instead of a fresh release build; prints a markdown
# table, hyperfine JSON in bench/results/rootless-*.json)
source "$(dirname "$0")/lib.sh"
need hyperfine hyperfine
need crun crun
need python3 python3
need setpriv util-linux
need newuidmap uidmap
[ "$(id -u)" = 0 ] || { echo "bench: run as root (it sets up the user's range, then runs as the user)" >&2; exit 1; }
if [ -n "${NSBOX:-}" ]; then
  [ -x "$NSBOX" ] || { echo "bench: NSBOX=$NSBOX is not an executable" >&2; exit 1; }
  NSBOX=$(realpath "$NSBOX")
else
  build_nsbox
fi
# crun refuses a hybrid host whose unified hierarchy holds a controller
# ("cgroups in hybrid mode not supported"; hugetlb sits there on some
# boots). Then every runtime is timed in a mount namespace of this script's
# own without the unified mount: a v1 host to all of them alike (none makes
# a cgroup here, rootless).
unified=/sys/fs/cgroup/unified
if [ -z "${NSBOX_BENCH_V1_VIEW:-}" ] && [ -n "$(cat "$unified/cgroup.subtree_control" 2>/dev/null)" ]; then
  echo "bench: the unified hierarchy holds $(cat "$unified/cgroup.subtree_control"), which crun refuses: every runtime runs in a mount namespace without $unified" >&2
  exec env NSBOX_BENCH_V1_VIEW=1 NSBOX="$NSBOX" unshare -m --propagation private \
    sh -c 'umount -l "$1" && shift && exec bash "$@"' sh "$unified" "$0" "$@"
fi
RUNS=${RUNS:-100}
UID_=65534
RANGE=${RANGE:-810000}
RUNTIMES=(nsbox crun)
command -v runc >/dev/null && RUNTIMES+=(runc)

W=$(mktemp -d /tmp/nsbox-rootless.XXXXXX)
chmod 755 "$W"
saved_ids=()
tun_mode=""

cleanup() {
  set +e
  for rt in "${RUNTIMES[@]}"; do
    [ -d "$W/xdg/state-$rt" ] || continue
    for id in $(as_user "$rt" --root "$W/xdg/state-$rt" list -q 2>/dev/null); do
      as_user "$rt" --root "$W/xdg/state-$rt" delete --force "$id" >/dev/null 2>&1
    done
  done
  for f in "${saved_ids[@]}"; do
    if [ -e "$W/saved$f" ]; then cat "$W/saved$f" >"$f"; else rm -f "$f"; fi
  done
  [ -z "$tun_mode" ] || chmod "$tun_mode" /dev/net/tun
  rm -rf "$W"
}
trap cleanup EXIT

# as_user CMD...: CMD as nobody, with only what a login would give.
as_user() {
  setpriv --reuid "$UID_" --regid "$UID_" --clear-groups \
    env -i PATH="$W/bin:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$W/home" \
    XDG_RUNTIME_DIR="$W/xdg" USER=nobody "$@"
}

# --- the user's range -----------------------------------------------------------
mkdir -p "$W/saved/etc"
for f in /etc/subuid /etc/subgid; do
  [ ! -e "$f" ] || cp -p "$f" "$W/saved$f"
  saved_ids+=("$f")
  grep -v '^nobody:' "$W/saved$f" 2>/dev/null >"$f.bench" || true
  echo "nobody:$RANGE:65536" >>"$f.bench"
  cat "$f.bench" >"$f" && rm -f "$f.bench"
done

# --- /dev/net/tun for pasta (see the top) -------------------------------------------
if [ "${PASTA:-1}" != 0 ]; then
  need pasta passt
  mode=$(stat -c %a /dev/net/tun)
  if [ "$mode" != 666 ]; then
    tun_mode=$mode
    chmod 666 /dev/net/tun
    echo "bench: /dev/net/tun $mode -> 666 for the pasta row (put back on exit)" >&2
  fi
fi

# --- scratch: the user's directories, binaries, bundle --------------------------------
mkdir -p "$W/bin" "$W/home" "$W/xdg" "$W/bundle/rootfs" "$W/out"
ln -s "$NSBOX" "$W/bin/nsbox"
ln -s "$(command -v crun)" "$W/bin/crun"
[ ! -x "$(command -v runc)" ] || ln -s "$(command -v runc)" "$W/bin/runc"
rootfs=$W/bundle/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$rootfs/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
chown -R "$UID_:$UID_" "$W/home" "$W/xdg" "$W/bundle" "$W/out"
chmod 700 "$W/xdg"

(cd "$W/bundle" && as_user nsbox spec --rootless)
python3 - "$W/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"] = {"path": "rootfs", "readonly": True}
# crun 1.8 refuses a version it does not know (nsbox spec writes 1.3.0);
# nothing here needs more than 1.0
c["ociVersion"] = "1.0.2"
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY

# rt_cmd RT: how RT is called. crun without a cgroup manager: rootless with
# no delegated cgroup it makes none anyway (as nsbox and runc); a hybrid
# host it refuses is hidden from every runtime (see the top).
rt_cmd() {
  case $1 in
    crun) echo "crun --cgroup-manager=disabled" ;;
    *) echo "$1" ;;
  esac
}

# Every runtime must run the bundle rootless before it is timed (runc left
# out, saying why, where it cannot).
cd "$W/bundle"
RAN=()
for rt in "${RUNTIMES[@]}"; do
  as_user mkdir -p "$W/xdg/state-$rt"
  # shellcheck disable=SC2046 # rt_cmd's words
  if ! as_user $(rt_cmd "$rt") --root "$W/xdg/state-$rt" run --bundle "$W/bundle" check >"$W/check.out" 2>&1 </dev/null; then
    if [ "$rt" != nsbox ]; then
      echo "bench: $rt cannot run the bundle rootless here, left out: $(tail -1 "$W/check.out")" >&2
      continue
    fi
    echo "bench: $rt cannot run the bundle rootless: $(cat "$W/check.out")" >&2
    exit 1
  fi
  RAN+=("$rt")
done

# compare_user NAME CMD...: `compare` (lib.sh) with hyperfine run as the user.
compare_user() {
  local name=$1; shift
  as_user hyperfine -N --warmup "${WARMUP:-10}" --runs "$RUNS" --export-json "$W/out/$name.json" "$@" >/dev/null
  cp "$W/out/$name.json" "$RESULTS/rootless-$name.json"
  python3 - "$RESULTS/rootless-$name.json" "$name" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))["results"]
base = data[0]["median"]
for r in data:
    print(f"| {sys.argv[2]} | `{r['command']}` | {r['median']*1e3:.2f} ms | {r['median']/base:.2f}x |")
PY
}

bundle_cmds=()
for rt in "${RAN[@]}"; do
  bundle_cmds+=("$(rt_cmd "$rt") --root $W/xdg/state-$rt run --bundle $W/bundle bench")
done
cmd_cmds=("nsbox run -- true" "nsbox run --rootfs $rootfs -- true")
[ "${PASTA:-1}" = 0 ] || cmd_cmds+=("nsbox run --rootfs $rootfs --net pasta -- true")
for c in "${cmd_cmds[@]}"; do
  # shellcheck disable=SC2086 # split into words, as hyperfine -N does
  (cd / && as_user $c) >"$W/check.out" 2>&1 </dev/null ||
    { echo "bench: failed as the user: $c: $(cat "$W/check.out")" >&2; exit 1; }
done

table_header
compare_user bundle-run "${bundle_cmds[@]}"
(cd / && compare_user cmd-run "${cmd_cmds[@]}")

others=""
[[ " ${RAN[*]} " != *" crun "* ]] || others+=", crun $(crun --version | awk 'NR==1 {print $3}')"
[[ " ${RAN[*]} " != *" runc "* ]] || others+=", runc $(runc --version | awk 'NR==1 {print $3}')"
echo
echo "(as uid $UID_ with $RANGE:65536 mapped; $(nproc) cores, $(uname -r)$others, pasta $(dpkg-query -W -f '${Version}' passt 2>/dev/null), nsbox $(git -C "$REPO" rev-parse --short HEAD); $RUNS runs each)"
