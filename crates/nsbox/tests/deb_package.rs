//! The Debian package (scripts/build-deb.sh) installed on a fresh Debian 12
//! root, as a person installs it: `apt-get install ./nsbox_*.deb` pulls
//! what it Depends on, then `nsbox run -- true`, `man nsbox-run` and Tab
//! completion of a running container's name work there.
//!
//! The fresh root is a `debootstrap --variant=minbase bookworm` tree
//! (made once, cached in target/deb-test/; needs debootstrap and apt's
//! mirror, as scripts/test.sh has them), never written to: each run mounts
//! an overlay on it with its upper layer on a tmpfs, in a mount namespace
//! of its own (util-linux unshare), with fresh /proc, /run and /tmp and the
//! host's /sys (cgroups) and /dev. Everything the run installs or mounts
//! goes with that namespace when the script ends, on failure too. The
//! package holds the binary under test (the debug build, stripped).

use std::path::{Path, PathBuf};
use std::process::Command;

use nsbox_testutil::{run, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The program's path; panics naming its package when missing.
fn require(tool: &str, package: &str) {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([PathBuf::from("/usr/sbin")])
        .any(|d| d.join(tool).is_file());
    assert!(
        found,
        "{tool} missing: apt-get install {package} (scripts/test.sh installs it)"
    );
}

/// A minbase Debian 12 root, made once and kept under the target dir.
fn fresh_debian_root() -> PathBuf {
    let target = Path::new(NSBOX).parent().unwrap().parent().unwrap();
    let dir = target.join("deb-test");
    let root = dir.join("bookworm-minbase");
    if root.join("usr/bin/apt-get").is_file() {
        return root;
    }
    require("debootstrap", "debootstrap");
    std::fs::create_dir_all(&dir).unwrap();
    let partial = dir.join(format!("bookworm-minbase.partial-{}", std::process::id()));
    let out = run(
        "debootstrap",
        [
            "--variant=minbase",
            "bookworm",
            partial.to_str().unwrap(),
            "http://deb.debian.org/debian",
        ],
    );
    if out.code != 0 {
        let _ = std::fs::remove_dir_all(&partial);
        panic!("debootstrap bookworm (needs deb.debian.org, as apt-get does): {out:?}");
    }
    // Another test run may have finished first: keep one.
    if std::fs::rename(&partial, &root).is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    root
}

/// Mounts the overlay (as root, in the mount namespace `unshare` made) and
/// runs the checks in it. $1: the fresh root, $2: a scratch dir, $3: the .deb.
const MOUNT_AND_CHECK: &str = r#"set -eu
base=$1 t=$2 deb=$3
mkdir -p "$t/rw" "$t/root"
mount -t tmpfs -o mode=0755 nsbox-deb-rw "$t/rw"
mkdir "$t/rw/upper" "$t/rw/work"
mount -t overlay nsbox-deb-root -o "lowerdir=$base,upperdir=$t/rw/upper,workdir=$t/rw/work" "$t/root"
r=$t/root
mount -t proc proc "$r/proc"
mount --rbind /sys "$r/sys"
mount --rbind /dev "$r/dev"
mount -t tmpfs -o mode=0755 nsbox-deb-run "$r/run"
mount -t tmpfs -o mode=1777 nsbox-deb-tmp "$r/tmp"
cp /etc/resolv.conf "$r/etc/resolv.conf"
# What Debian's installer writes on every machine (debootstrap does not).
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
cp "$deb" "$r/tmp/"
cp "$4" "$r/tmp/check.sh"
exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash /tmp/check.sh
"#;

/// Run inside the fresh root; each result on a line of its own.
const CHECK: &str = r#"set -u
# `nsbox run` starts the /proc view, which outlives the run: stop it
# whatever happens, or it keeps this mount namespace alive.
trap 'command -v nsbox >/dev/null && nsbox proc-view stop >/dev/null 2>&1' EXIT
echo "before: $(command -v nsbox || echo none)"
apt-get update -qq >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
apt-get install -y -qq --no-install-recommends /tmp/nsbox_*.deb man-db >>/tmp/apt.log 2>&1 ||
  { cat /tmp/apt.log; exit 1; }
echo "status: $(dpkg-query -W -f='${Status}' nsbox)"
for p in libseccomp2 uidmap nftables; do echo "dep $p: $(dpkg-query -W -f='${Status}' $p)"; done
echo "which: $(command -v nsbox)"
nsbox --version | head -1
nsbox run -- true; echo "run true: $?"
echo "pid in run: $(nsbox run -- sh -c 'echo $$')"
echo "cpus in run --cpus 1: $(nsbox run --cpus 1 -- grep -c ^processor /proc/cpuinfo)"
echo "view: $(nsbox proc-view status | cut -d: -f1)"
MANPAGER=cat MANWIDTH=200 man nsbox-run 2>&1 | sed 's/^/man-run: /'
for page in nsbox nsbox-unshare nsbox-enter nsbox-netns nsbox-ns-ls; do echo "man -w: $(man -w $page)"; done
echo "doc: $(ls /usr/share/doc/nsbox | tr '\n' ' ')"
# The installed pages are what the installed binary generates.
nsbox man /tmp/pages >/dev/null
for f in /tmp/pages/*; do
  s=${f##*.}; zcat "/usr/share/man/man$s/${f##*/}.gz" | cmp -s - "$f" || echo "page differs: ${f##*/}"
done
echo "pages: generated $(ls /tmp/pages | wc -l), installed $(ls /usr/share/man/man1/nsbox*.gz /usr/share/man/man8/nsbox*.gz | wc -l)"
# A running container's name completes with the installed bash completion
# (on a bridge network: nftables, a dependency, writes its rules; in a
# network namespace of its own, so the host's is untouched).
nsbox unshare --net -- bash -c '
  trap "nsbox rm -f web-in-deb >/dev/null 2>&1" EXIT
  nsbox run -d --name web-in-deb -- sleep 30 >/dev/null || exit 1
  source /usr/share/bash-completion/completions/nsbox
  spec=$(complete -p nsbox); fn=${spec#*-F }; fn=${fn%% *}
  COMP_WORDS=(nsbox stop web-); COMP_CWORD=2; COMP_LINE="nsbox stop web-"; COMP_POINT=${#COMP_LINE}
  "$fn" nsbox web- stop
  echo "complete: ${COMPREPLY[*]}"
'
nsbox proc-view stop >/dev/null; echo "view stop: $?"
echo "end"
"#;

#[test]
fn the_package_installs_on_fresh_debian_and_runs() {
    nsbox_testutil::require_root();
    require("dpkg-deb", "dpkg");
    require("dpkg-shlibdeps", "dpkg-dev");
    require("unshare", "util-linux");
    let base = fresh_debian_root();
    let dir = TempDir::new("deb-package");

    let out = run(
        "bash",
        [
            repo().join("scripts/build-deb.sh").to_str().unwrap(),
            "--binary",
            NSBOX,
            "--out",
            dir.join("out").to_str().unwrap(),
        ],
    )
    .success();
    let deb = PathBuf::from(out.stdout.trim());
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("nsbox_{}-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );
    let info = run("dpkg-deb", ["--field", deb.to_str().unwrap(), "Depends"]).success();
    for dep in ["libc6", "libseccomp2", "uidmap", "nftables"] {
        assert!(
            info.stdout.contains(dep),
            "Depends lacks {dep}: {}",
            info.stdout
        );
    }

    let script = dir.join("mount-and-check.sh");
    std::fs::write(&script, MOUNT_AND_CHECK).unwrap();
    let check = dir.join("check.sh");
    std::fs::write(&check, CHECK).unwrap();
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh"])
        .arg(&script)
        .arg(&base)
        .arg(dir.join("mnt"))
        .arg(&deb)
        .arg(&check)
        .output()
        .expect("unshare");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n{err}");
    let has = |line: &str| {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}\n{err}"
        );
    };
    has("before: none");
    has("status: install ok installed");
    for p in ["libseccomp2", "uidmap", "nftables"] {
        has(&format!("dep {p}: install ok installed"));
    }
    has("which: /usr/bin/nsbox");
    has(&format!("nsbox version {}", env!("CARGO_PKG_VERSION")));
    has("run true: 0");
    has("pid in run: 1");
    // the /proc view, started by the first run
    has("cpus in run --cpus 1: 1");
    has("view: running");
    has("view stop: 0");
    has("man-run: EXAMPLES");
    assert!(
        text.contains(
            "man-run:            $ nsbox run -d --name same --net container:test -- sleep infinity"
        ),
        "{text}"
    );
    has("man -w: /usr/share/man/man1/nsbox.1.gz");
    has("man -w: /usr/share/man/man1/nsbox-unshare.1.gz");
    has("man -w: /usr/share/man/man1/nsbox-enter.1.gz");
    has("man -w: /usr/share/man/man8/nsbox-netns.8.gz");
    has("man -w: /usr/share/man/man1/nsbox-ns-ls.1.gz");
    let doc = text.lines().find_map(|l| l.strip_prefix("doc: ")).unwrap();
    for f in ["changelog.Debian.gz", "copyright", "engines.md", "engines"] {
        assert!(
            doc.split(' ').any(|d| d == f),
            "/usr/share/doc/nsbox lacks {f}: {doc}"
        );
    }
    let pages = text
        .lines()
        .find_map(|l| l.strip_prefix("pages: "))
        .unwrap();
    let count = |word: &str| -> usize {
        let n = pages.split(", ").find_map(|p| p.strip_prefix(word));
        n.and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{pages}"))
    };
    assert!(count("generated ") > 40, "{pages}");
    assert_eq!(count("generated "), count("installed "), "{pages}");
    assert!(!text.contains("page differs"), "{text}");
    has("complete: web-in-deb");
    has("end");
}
