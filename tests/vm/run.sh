#!/usr/bin/env bash
# Runs nsbox-cgroups' tests and the runtime's cgroup tests (nsbox's
# tests/oci_cgroups.rs, with the nsbox binary and busybox for container root
# file systems) on every cgroup host kind, whatever the build machine is: a
# pure cgroup v2 kernel, a v1-only boot and a hybrid one, each a Debian
# kernel under qemu (TCG, no KVM needed; AppArmor on, as Debian boots it)
# with everything in an initramfs. See docs/ARCHITECTURE.md, "VM tests".
#
#   tests/vm/run.sh [v1] [v2] [v2-leaf] [hybrid] [systemd-v2] [systemd-hybrid]
#                   [-- TEST-ARGS...]  (default: all six)
#
# v2-leaf: pure v2 with the tests in a leaf cgroup that holds processes
# (as under systemd: a service or session scope) instead of the root cgroup.
# hybrid: v1 controllers each in its own hierarchy, cgroup2 (without them)
# at /sys/fs/cgroup/unified, as the build machine is laid out.
# systemd-v2, systemd-hybrid: systemd as PID 1 (Debian's, on a root file
# system built by debootstrap), on cgroup v2 and on a hybrid host
# (systemd.unified_cgroup_hierarchy=0); the tests run from a service and
# drive systemd's cgroup driver (`--systemd-cgroup`) over D-Bus.
#
# Needs qemu-system-x86, cpio, busybox-static and apt's package lists (the
# kernel .deb is fetched with `apt-get download`, never installed), and for
# the systemd modes debootstrap and a Debian mirror (NSBOX_VM_MIRROR,
# default deb.debian.org): without them those modes fail, they never skip.
# Caches the unpacked kernel in target/vm/kernel/<package>_<version>/ and
# the systemd root file system in target/vm/systemd-image/<suite>-<hash>/.
# Exits nonzero if a run fails, its result line is missing, or it takes more
# than NSBOX_VM_TIMEOUT seconds (default 900).
#
# NSBOX_VM_BENCH=1 (systemd modes only): instead of the tests, the VM runs
# `ONLY=create-start-delete-systemd bench/runtime.sh` with a release nsbox and the
# host's runc, crun, hyperfine, time and python3 (bench/README.md), under
# TCG as the tests (30 runs a row); NSBOX_VM_KVM=1 boots it with KVM.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
case "$target" in /*) ;; *) target=$repo/$target ;; esac
vm=$target/vm
timeout_s=${NSBOX_VM_TIMEOUT:-900}

# Modules loaded in the VM, as the build machine has them loaded: BFQ
# provides blkio.bfq.weight (v1) and io.bfq.weight (v2); fuse, /dev/fuse
# for the /proc view (proc_view).
modules=(kernel/block/bfq.ko kernel/fs/fuse/fuse.ko)

# Tests excluded per host kind, by exact name; each needs a comment naming
# the library bug it waits for. Keep these empty unless such a bug exists.
skip_v1=()
skip_v2=()
skip_v2_leaf=()
skip_hybrid=()
skip_systemd_v2=()
skip_systemd_hybrid=()

say() { echo "tests/vm: $*" >&2; }
fail() {
    say "$*"
    exit 1
}

modes=()
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; break ;;
        *) modes+=("$1"); shift ;;
    esac
done
# what follows `--` goes to every test binary: test names to run, --nocapture
test_args=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(v2 v1 v2-leaf hybrid systemd-v2 systemd-hybrid)
systemd_modes=
for m in "${modes[@]}"; do
    case "$m" in
        v1 | v2 | v2-leaf | hybrid) ;;
        systemd-v2 | systemd-hybrid) systemd_modes=1 ;;
        *) fail "unknown mode '$m' (want v1, v2, v2-leaf, hybrid, systemd-v2 or systemd-hybrid)" ;;
    esac
done
bench=${NSBOX_VM_BENCH:-}
if [ -n "$bench" ]; then
    for m in "${modes[@]}"; do
        case "$m" in systemd-*) ;; *) fail "NSBOX_VM_BENCH: only the systemd modes run the bench, not '$m'" ;; esac
    done
    for tool in hyperfine runc crun python3.11 time; do
        PATH=/usr/sbin:/usr/bin type -P "$tool" >/dev/null || fail "NSBOX_VM_BENCH: $tool not found (bench/runtime.sh needs it)"
    done
fi
for tool in qemu-system-x86_64 cpio gzip apt-get apt-cache dpkg-deb ldd; do
    command -v "$tool" >/dev/null || fail "$tool not found (scripts/test.sh installs what is needed)"
done
[ -x /bin/busybox ] || fail "/bin/busybox not found (Debian package busybox-static)"

# --- the kernel: Debian's linux-image-amd64, unpacked once per version ---
kernel_dir() {
    local meta pkg ver dir tmp deb
    meta=linux-image-amd64
    pkg=$(apt-cache depends "$meta" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
    [ -n "$pkg" ] || fail "cannot resolve $meta's kernel package (apt-cache depends $meta; run apt-get update)"
    ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || fail "no candidate version for $pkg"
    dir=$vm/kernel/${pkg}_$ver
    if [ -e "$dir/.complete" ]; then
        echo "$dir"
        return
    fi
    say "fetching $pkg $ver"
    rm -rf "$dir" "$dir.tmp"
    tmp=$dir.tmp
    mkdir -p "$tmp/deb" "$tmp/x"
    # apt-get download writes into the current directory; as root it would
    # warn that the _apt sandbox user cannot write there
    chown _apt "$tmp/deb" 2>/dev/null || true
    (cd "$tmp/deb" && apt-get download -q "$pkg=$ver") >&2 ||
        fail "apt-get download $pkg=$ver failed"
    deb=$(ls "$tmp"/deb/*.deb)
    dpkg -x "$deb" "$tmp/x"
    local kver=${pkg#linux-image-}
    mkdir -p "$tmp/modules"
    cp "$tmp/x/boot/vmlinuz-$kver" "$tmp/vmlinuz"
    cp "$tmp/x/boot/config-$kver" "$tmp/config"
    for m in "${modules[@]}"; do
        cp "$tmp/x/lib/modules/$kver/$m" "$tmp/modules/" ||
            fail "$pkg has no $m"
    done
    rm -rf "$tmp/deb" "$tmp/x"
    touch "$tmp/.complete"
    mv "$tmp" "$dir"
    # older versions are of no further use
    find "$vm/kernel" -mindepth 1 -maxdepth 1 ! -path "$dir" -exec rm -rf {} +
    echo "$dir"
}

# --- the systemd modes' root file system: Debian with systemd and dbus ---
# debootstrap's minbase plus these packages, trimmed of documentation and
# apt's caches, with getty, timers and first-boot units masked (nothing
# may wait on the console or wake during the tests). Packed once as a
# cpio archive; each run appends its own small archive (init, the test
# service, the binaries) and the kernel unpacks both, the second on top.
debian_suite=bookworm
debian_mirror=${NSBOX_VM_MIRROR:-http://deb.debian.org/debian}
# dbus-user-session: the session bus of a user's own manager (the rootless
# test's); systemd's user manager starts for user 1000 by lingering
# podman, containerd: engines with their systemd cgroup driver, nsbox as
# runtime (crates/nsbox/tests/engine_systemd.rs); containerd runs as the
# service its package enables; containernetworking-plugins provides the
# container-network-stack podman needs (debootstrap resolves no virtuals)
systemd_packages=systemd,systemd-sysv,dbus,dbus-user-session,busybox-static,podman,containernetworking-plugins,containerd

# $1: the root directory debootstrap made
configure_systemd_root() {
    local r=$1 u
    rm -rf "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/usr/share/doc/* \
        "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/*
    for u in serial-getty@ttyS0.service getty@tty1.service getty.target \
        systemd-firstboot.service apt-daily.timer apt-daily-upgrade.timer \
        dpkg-db-backup.timer e2scrub_all.timer fstrim.timer e2scrub_reap.service \
        systemd-timesyncd.service; do
        ln -sfn /dev/null "$r/etc/systemd/system/$u"
    done
    echo nsbox-vm >"$r/etc/hostname"
}

systemd_image() {
    local key dir tmp
    # a new image when the suite, the packages or the configuration change
    key=$(printf '%s\n' "$debian_suite" "$systemd_packages" "$(declare -f configure_systemd_root)" |
        sha256sum | cut -c1-12)
    dir=$vm/systemd-image/$debian_suite-$key
    if [ -e "$dir/.complete" ]; then
        echo "$dir"
        return
    fi
    command -v debootstrap >/dev/null ||
        fail "debootstrap not found: the systemd modes build their root file system with it (apt-get install debootstrap)"
    say "building the systemd image ($debian_suite, $systemd_packages) from $debian_mirror"
    rm -rf "$vm/systemd-image"
    tmp=$dir.tmp
    mkdir -p "$tmp"
    debootstrap --variant=minbase --include="$systemd_packages" "$debian_suite" \
        "$tmp/root" "$debian_mirror" >"$tmp/debootstrap.log" 2>&1 ||
        fail "debootstrap $debian_suite from $debian_mirror failed (the systemd modes need it; log: $tmp/debootstrap.log)"
    configure_systemd_root "$tmp/root"
    (cd "$tmp/root" && find . -print0 | sort -z |
        cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$tmp/root.cpio.gz"
    rm -f "$tmp/debootstrap.log"
    touch "$tmp/.complete"
    mv "$tmp" "$dir"
    say "systemd image: $(du -sh "$dir/root" | cut -f1) in $dir"
    echo "$dir"
}

# --- the test binaries ---
# Every test binary of nsbox-cgroups (unit tests and tests/real_kernel.rs),
# nsbox's integration tests named in $runtime_tests, and the nsbox binary
# those run; written to $vm/binaries as `cgroups PATH`, `runtime PATH MODES`
# and `nsbox PATH` lines.
#
# A runtime test is NAME (run in every busybox mode: v1, v2, v2-leaf,
# hybrid) or NAME:MODE,MODE (only there; the systemd modes run only the
# tests that name them). oci_seccomp holds the LSM tests: AppArmor is on in
# every mode, and the seccomp tests do not depend on the cgroup kind, so
# one mode proves them. proc_view: the /proc view reads each kind's files
# (v2-leaf adds nothing for it: the readers' cgroups are the test's own).
# oci_systemd and engine_systemd need systemd as PID 1.
runtime_tests=(oci_cgroups oci_seccomp:v2 oci_rdt_affinity proc_view:v2,v1,hybrid
    oci_systemd:systemd-v2,systemd-hybrid engine_systemd:systemd-v2,systemd-hybrid)

# cargo's JSON messages on stdin -> the executables of the artifacts whose
# message contains every string given
executables() {
    local line p ok
    while IFS= read -r line; do
        [[ $line == *'"reason":"compiler-artifact"'* ]] || continue
        [[ $line == *'"executable":"/'* ]] || continue
        ok=1
        for p in "$@"; do
            [[ $line == *"$p"* ]] || ok=
        done
        [ -n "$ok" ] || continue
        line=${line#*'"executable":"'}
        echo "${line%%'"'*}"
    done
}

test_binaries() {
    local spec t only json found
    json=$(cd "$repo" && cargo test -p nsbox-cgroups --no-run --message-format=json-render-diagnostics) ||
        fail "cargo test -p nsbox-cgroups --no-run failed"
    # a test harness build: "test":true in its profile (which precedes
    # "features"; the target object has a "test" field too)
    found=$(executables '"test":true},"features"' <<<"$json")
    [ -n "$found" ] || fail "cargo built no nsbox-cgroups test binary"
    sed 's/^/cgroups /' <<<"$found"
    for spec in "${runtime_tests[@]}"; do
        t=${spec%%:*}
        only=all
        [ "$t" = "$spec" ] || only=${spec#*:}
        json=$(cd "$repo" && cargo test -p nsbox --test "$t" --no-run --message-format=json-render-diagnostics) ||
            fail "cargo test -p nsbox --test $t --no-run failed"
        found=$(executables '"kind":["test"]' "\"name\":\"$t\"" <<<"$json")
        [ -n "$found" ] || fail "cargo built no test binary for nsbox's tests/$t.rs"
        sed "s/^/runtime /; s/\$/ $only/" <<<"$found"
    done
    # the binary the runtime tests run (env!("CARGO_BIN_EXE_nsbox"))
    found=$(executables '"kind":["bin"]' '"name":"nsbox"' <<<"$json")
    [ -n "$found" ] || fail "cargo built no nsbox binary"
    echo "nsbox $found"
}

# A binary and what it needs, at the paths it asks for, into the image:
# $1 the binary, $2 where it goes in the image (under $root).
install_binary() {
    local bin=$1 dest=$2 lib
    mkdir -p "$(dirname "$dest")"
    # debug info is of no use in the VM and triples the image
    strip --strip-debug -o "$dest" "$bin" 2>/dev/null || cp "$bin" "$dest"
    # shared libraries and the loader, at the paths the binary asks for
    # (for the systemd image: those it lacks, under /usr, since its /lib
    # and /lib64 are links an archive entry would replace)
    for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
        [ -e "$root$lib" ] && continue
        if [ -n "${image_root:-}" ]; then
            [ -e "$image_root$lib" ] && continue
            case "$lib" in /lib/* | /lib64/*) lib=/usr$lib ;; esac
        fi
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
}

# --- the initramfs: busybox, the binaries and their libraries, init ---
# $1: the kernel directory, $2: the list from test_binaries.
build_initramfs() {
    local kdir=$1 list=$2 out=$vm/initramfs.cpio.gz kind bin only nsbox
    root=$vm/root
    rm -rf "$root"
    mkdir -p "$root"/{bin,dev,newroot,proc,sys,tests/bin,tests/modes,modules}
    # busybox: the VM's shell and tools, the source of the runtime tests'
    # container root file systems (nsbox_testutil::busybox_rootfs copies
    # /bin/busybox), and the `sleep` those tests start on the host
    cp /bin/busybox "$root/bin/busybox"
    cp "$here/init" "$root/init"
    chmod 0755 "$root/init"
    # the kernel opens /dev/console for init's stdio before anything mounts
    mknod -m 0600 "$root/dev/console" c 5 1
    cp "$kdir"/modules/*.ko "$root/modules/"
    nsbox=$(sed -n 's/^nsbox //p' "$list")
    while read -r kind bin only; do
        case "$kind" in
            cgroups) install_binary "$bin" "$root/tests/bin/$(basename "$bin")" ;;
            runtime)
                # it runs nsbox at the absolute path compiled into it
                # (env!("CARGO_BIN_EXE_nsbox")), where nsbox goes below
                grep -qF "$nsbox" "$bin" ||
                    fail "$bin does not name $nsbox (its CARGO_BIN_EXE_nsbox is elsewhere)"
                install_binary "$bin" "$root/tests/bin/$(basename "$bin")"
                # the modes it runs in, when not all: one a line
                [ "$only" = all ] || tr , '\n' <<<"$only" >"$root/tests/modes/$(basename "$bin")"
                ;;
            nsbox) install_binary "$bin" "$root$bin" ;;
        esac
    done <"$list"
    printf '%s\n' ${test_args[@]+"${test_args[@]}"} >"$root/tests/args"
    printf '%s\n' ${skip_v1[@]+"${skip_v1[@]}"} >"$root/tests/skip-v1"
    printf '%s\n' ${skip_v2[@]+"${skip_v2[@]}"} >"$root/tests/skip-v2"
    printf '%s\n' ${skip_v2_leaf[@]+"${skip_v2_leaf[@]}"} >"$root/tests/skip-v2-leaf"
    printf '%s\n' ${skip_hybrid[@]+"${skip_hybrid[@]}"} >"$root/tests/skip-hybrid"
    (cd "$root" && find . -print0 | sort -z |
        cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$out.tmp"
    mv "$out.tmp" "$out"
    echo "$out"
}

# --- the systemd modes' initramfs: the image, then the tests on top ---
# $1: the image directory (systemd_image), $2: the list from test_binaries.
# The second archive holds /init (tests/vm/init-systemd: onto a tmpfs,
# then systemd), the service that runs the tests (tests/vm/systemd-tests)
# and the runtime tests that name a systemd mode, with nsbox.
build_systemd_initramfs() {
    local image=$1 list=$2 out=$vm/initramfs-systemd.cpio.gz kind bin only nsbox wants
    root=$vm/systemd-overlay
    image_root=$image/root
    rm -rf "$root"
    mkdir -p "$root"/{newroot,tests/bin,tests/modes,usr/local/sbin,etc/systemd/system}
    cp "$here/init-systemd" "$root/init"
    cp "$here/systemd-tests" "$root/usr/local/sbin/nsbox-vm-tests"
    chmod 0755 "$root/init" "$root/usr/local/sbin/nsbox-vm-tests"
    cat >"$root/etc/systemd/system/nsbox-vm-tests.service" <<'UNIT'
[Unit]
Description=nsbox VM tests
Wants=dbus.service
After=dbus.service systemd-logind.service basic.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/nsbox-vm-tests
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
    wants=$root/etc/systemd/system/multi-user.target.wants
    mkdir -p "$wants"
    ln -s ../nsbox-vm-tests.service "$wants/nsbox-vm-tests.service"
    nsbox=$(sed -n 's/^nsbox //p' "$list")
    while read -r kind bin only; do
        case "$kind" in
            runtime)
                [[ ,$only, == *,systemd-* ]] || continue
                install_binary "$bin" "$root/tests/bin/$(basename "$bin")"
                tr , '\n' <<<"$only" >"$root/tests/modes/$(basename "$bin")"
                ;;
            nsbox) install_binary "$bin" "$root$bin" ;;
        esac
    done <"$list"
    if [ -n "$bench" ]; then
        # the bench instead of the tests: its scripts, a release nsbox and
        # the host's tools (Debian 12, as the image) with their libraries
        mkdir -p "$root/bench"
        cp "$repo/bench/runtime.sh" "$repo/bench/lib.sh" "$root/bench/"
        install_binary "$target/release/nsbox" "$root/bench/nsbox"
        # Debian's, from /usr (a python3.11 earlier in PATH may be a shim)
        for t in hyperfine runc crun python3.11 time; do
            t=$(PATH=/usr/sbin:/usr/bin type -P "$t")
            install_binary "$t" "$root$t"
        done
        ln -s python3.11 "$root/usr/bin/python3"
        mkdir -p "$root/usr/lib"
        tar -C /usr/lib --exclude=test --exclude=__pycache__ --exclude=site-packages \
            --exclude=dist-packages -cf - python3.11 | tar -C "$root/usr/lib" -xf -
    fi
    printf '%s\n' ${test_args[@]+"${test_args[@]}"} >"$root/tests/args"
    printf '%s\n' ${skip_systemd_v2[@]+"${skip_systemd_v2[@]}"} >"$root/tests/skip-systemd-v2"
    printf '%s\n' ${skip_systemd_hybrid[@]+"${skip_systemd_hybrid[@]}"} >"$root/tests/skip-systemd-hybrid"
    unset image_root
    {
        cat "$image/root.cpio.gz"
        (cd "$root" && find . -print0 | sort -z |
            cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1
    } >"$out.tmp"
    mv "$out.tmp" "$out"
    echo "$out"
}

# --- one boot ---
run_vm() {
    local mode=$1 kdir=$2 initrd=$3 log=$vm/console-$1.log append rc code start mem=1G accel
    append="console=ttyS0 panic=-1 quiet nsbox.cgroup=$mode"
    case "$mode" in
        v2*) append="$append cgroup_no_v1=all" ;;
        # the image and its copy on a tmpfs take ~600 MB more
        systemd-v2) append="$append systemd.unified_cgroup_hierarchy=1" mem=3G ;;
        systemd-hybrid) append="$append systemd.unified_cgroup_hierarchy=0" mem=3G ;;
    esac
    append="$append systemd.show_status=false"
    # TCG (no KVM needed); NSBOX_VM_KVM=1 asks for KVM
    accel=tcg
    [ -z "${NSBOX_VM_KVM:-}" ] || accel=kvm
    say "booting $(basename "$kdir") for cgroup $mode (log: $log)"
    start=$(date +%s)
    set +e
    # stdin from /dev/null: -nographic would otherwise put a terminal in raw
    # mode and take keys for its monitor
    timeout -k 10 "$timeout_s" qemu-system-x86_64 \
        -accel "$accel" -m "$mem" -smp 2 -nographic -no-reboot \
        -nic none -kernel "$kdir/vmlinuz" -initrd "$initrd" -append "$append" \
        </dev/null 2>&1 | tr -d '\r' | sed -u 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    say "cgroup $mode: VM ran $(($(date +%s) - start)) s"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        say "cgroup $mode: FAILED: no result within ${timeout_s} s"
        return 1
    fi
    code=$(sed -n "s/^NSBOX-VM-RESULT $mode exit=\([0-9][0-9]*\).*/\1/p" "$log" | tail -n1)
    if [ -z "$code" ]; then
        say "cgroup $mode: FAILED: the VM ended (qemu status $rc) without a result line"
        return 1
    fi
    if [ "$code" != 0 ]; then
        say "cgroup $mode: FAILED: $(grep "^NSBOX-VM-RESULT $mode" "$log" | tail -n1)"
        return 1
    fi
    say "cgroup $mode: passed"
}

mkdir -p "$vm"
kdir=$(kernel_dir)
test_binaries >"$vm/binaries"
if [ -n "$bench" ]; then
    (cd "$repo" && cargo build --release -q -p nsbox) || fail "cargo build --release -p nsbox failed"
fi
say "test binaries: $(sed -n 's/^[cr][a-z]* \([^ ]*\).*/\1/p' "$vm/binaries" | xargs -n1 basename | tr '\n' ' ')"
initrd=$(build_initramfs "$kdir" "$vm/binaries")
say "initramfs: $(($(stat -c %s "$initrd") / 1024)) KiB"
if [ -n "$systemd_modes" ]; then
    image=$(systemd_image)
    initrd_systemd=$(build_systemd_initramfs "$image" "$vm/binaries")
    say "systemd initramfs: $(($(stat -c %s "$initrd_systemd") / 1024)) KiB"
fi
status=0
for m in "${modes[@]}"; do
    case "$m" in
        systemd-*) run_vm "$m" "$kdir" "$initrd_systemd" || status=1 ;;
        *) run_vm "$m" "$kdir" "$initrd" || status=1 ;;
    esac
done
exit $status
