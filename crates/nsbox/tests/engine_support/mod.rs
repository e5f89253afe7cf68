//! Shared by the engine_* tests: real container engines (podman, containerd,
//! dockerd: [`docker`]) driving the built nsbox as their OCI runtime, offline.
//!
//! Images come from a busybox root file system (`nsbox_testutil::
//! busybox_rootfs`): a plain tarball for `podman import`, and an OCI image
//! archive built here by hand for `ctr image import`. Every command runs
//! with a deadline, its output in files (a detached engine process may
//! inherit our stdio and would keep a pipe open forever).
//!
//! Cgroups: both engines are given a *relative* cgroup path
//! ([`cgroup_parent`]), which nsbox places beneath the test's own cgroup in
//! every hierarchy (docs/ARCHITECTURE.md, "Placement"); [`remove_cgroup`]
//! takes away whatever is left of it.
#![allow(dead_code)]

pub mod docker;
pub mod snippets;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nsbox_testutil::{busybox_rootfs, Output, TempDir};
use serde_json::json;

pub const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

/// Where nsbox keeps container state when the engine passes no `--root`
/// (podman does not).
pub const NSBOX_DEFAULT_ROOT: &str = "/run/nsbox";

/// The absolute path of `name` on PATH; panics (never skips) when missing.
pub fn require_tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin")]) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} missing: apt-get install {package} (scripts/test.sh installs it)");
}

/// Runs `cmd` with `input` on its stdin (none: /dev/null) and kills it after
/// `secs` seconds (the test then fails with what it printed so far).
/// stdout/stderr go to files in `scratch`, so a daemon that inherits them
/// cannot make us wait.
pub fn run_timed(cmd: &mut Command, input: Option<&[u8]>, secs: u64, scratch: &Path) -> Output {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let out_path = scratch.join(format!("cmd-{n}.out"));
    let err_path = scratch.join(format!("cmd-{n}.err"));
    let out = fs::File::create(&out_path).unwrap();
    let err = fs::File::create(&err_path).unwrap();
    cmd.stdout(out).stderr(err);
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    if let Some(data) = input {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(data).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = Output {
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
    };
    let _ = fs::remove_file(&out_path);
    let _ = fs::remove_file(&err_path);
    assert!(
        status.is_some(),
        "timed out after {secs}s: {cmd:?}: {output:?}"
    );
    output
}

/// `script -qec 'ARGS...' /dev/null`: runs ARGS on a fresh pty (util-linux
/// script), typing `input` into it; the exit code is ARGS' own.
pub fn on_pty(args: &[&str], input: &[u8], secs: u64, scratch: &Path) -> Output {
    let line = args
        .iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    run_timed(
        Command::new("script").args(["-qec", &line, "/dev/null"]),
        Some(input),
        secs,
        scratch,
    )
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A tarball of a busybox root file system (what `podman import` takes).
pub fn busybox_tarball(dir: &Path) -> PathBuf {
    let root = dir.join("image-rootfs");
    busybox_rootfs(&root).expect("busybox rootfs");
    let tar = dir.join("busybox-rootfs.tar");
    let out = nsbox_testutil::run(
        "tar",
        [
            "--numeric-owner",
            "-C",
            root.to_str().unwrap(),
            "-cf",
            tar.to_str().unwrap(),
            ".",
        ],
    );
    assert_eq!(out.code, 0, "tar: {out:?}");
    fs::remove_dir_all(&root).unwrap();
    tar
}

fn sha256_file(path: &Path) -> String {
    let out = nsbox_testutil::run("sha256sum", [path]).success();
    out.stdout.split_whitespace().next().unwrap().to_string()
}

fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// An OCI image archive (image-layout as a tar) of the busybox root, one
/// uncompressed layer, named `name` (`io.containerd.image.name`), for
/// `ctr image import`.
pub fn busybox_oci_archive(dir: &Path, name: &str) -> PathBuf {
    let layer = busybox_tarball(dir);
    let layout = dir.join("oci-layout");
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let layer_digest = sha256_file(&layer);
    let layer_size = fs::metadata(&layer).unwrap().len();
    fs::rename(&layer, blobs.join(&layer_digest)).unwrap();

    let put = |value: serde_json::Value| -> (String, u64) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let tmp = layout.join("blob.tmp");
        fs::write(&tmp, &bytes).unwrap();
        let digest = sha256_file(&tmp);
        fs::rename(&tmp, blobs.join(&digest)).unwrap();
        (digest, bytes.len() as u64)
    };
    let (config_digest, config_size) = put(json!({
        "architecture": oci_arch(),
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
            "WorkingDir": "/"
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]}
    }));
    let (manifest_digest, manifest_size) = put(json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{config_digest}"),
            "size": config_size
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": format!("sha256:{layer_digest}"),
            "size": layer_size
        }]
    }));
    let tag = name.rsplit_once(':').map_or("latest", |(_, t)| t);
    fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": format!("sha256:{manifest_digest}"),
                "size": manifest_size,
                "platform": {"architecture": oci_arch(), "os": "linux"},
                "annotations": {
                    "io.containerd.image.name": name,
                    "org.opencontainers.image.ref.name": tag
                }
            }]
        }))
        .unwrap(),
    )
    .unwrap();
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let archive = dir.join("busybox-oci.tar");
    nsbox_testutil::run(
        "tar",
        [
            "-C",
            layout.to_str().unwrap(),
            "-cf",
            archive.to_str().unwrap(),
            "oci-layout",
            "index.json",
            "blobs",
        ],
    )
    .success();
    fs::remove_dir_all(&layout).unwrap();
    archive
}

/// A relative cgroup path unique to this test: nsbox puts it beneath the
/// test's own cgroup in every hierarchy.
pub fn cgroup_parent(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "nsbox-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every directory at `rel` beneath our own cgroup, one per hierarchy (v1
/// controllers and cgroup2), from /proc/self/cgroup and mountinfo.
pub fn cgroup_dirs(rel: &str) -> Vec<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup").unwrap();
    let info = fs::read("/proc/self/mountinfo").unwrap();
    let mut dirs = Vec::new();
    for (_, entry) in nsbox_ns::mountinfo::entries(&info) {
        let Ok(entry) = entry else { continue };
        let fstype = String::from_utf8_lossy(entry.fs_type);
        let opts = String::from_utf8_lossy(entry.super_options);
        let mount_root = entry.root();
        // Which /proc/self/cgroup line belongs to this mount.
        let own_path = own.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            let matches = match &*fstype {
                "cgroup2" => ctrls.is_empty(),
                "cgroup" => {
                    !ctrls.is_empty() && ctrls.split(',').all(|c| opts.split(',').any(|o| o == c))
                }
                _ => false,
            };
            matches.then(|| path.to_string())
        });
        let Some(own_path) = own_path else { continue };
        let Ok(inside) = Path::new(&own_path).strip_prefix(&mount_root) else {
            continue;
        };
        let base = entry.mount_point().join(inside);
        dirs.push(base.join(rel));
    }
    dirs
}

/// Removes what is left of cgroup `rel` (see [`cgroup_parent`]) in every
/// hierarchy, deepest first; returns the directories that were still there.
pub fn remove_cgroup(rel: &str) -> Vec<PathBuf> {
    let mut left = Vec::new();
    for top in cgroup_dirs(rel) {
        if !top.exists() {
            continue;
        }
        let mut all = Vec::new();
        collect_dirs(&top, &mut all);
        all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for d in all {
            let _ = fs::remove_dir(&d);
        }
        left.push(top);
    }
    left
}

fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                collect_dirs(&e.path(), out);
            }
        }
    }
}

/// Polls `f` until it returns Some, for at most `secs` seconds.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Our own network namespace, as `readlink /proc/self/ns/net` prints it.
pub fn host_netns() -> String {
    fs::read_link("/proc/self/ns/net")
        .unwrap()
        .display()
        .to_string()
}

/// A scratch directory for an engine test.
pub fn scratch(tag: &str) -> TempDir {
    nsbox_testutil::require_root();
    TempDir::new(tag)
}

/// A private podman's storage in `dir` (vfs: no overlay needed, the
/// run and graph roots inside it), no registry to search, and its `tmp`;
/// its containers.conf is the test's own.
pub fn podman_storage(dir: &Path) {
    let d = dir.display();
    fs::write(
        dir.join("storage.conf"),
        format!(
            "[storage]\ndriver = \"vfs\"\nrunroot = \"{d}/runroot\"\ngraphroot = \"{d}/graph\"\n"
        ),
    )
    .unwrap();
    fs::write(
        dir.join("registries.conf"),
        "unqualified-search-registries = []\n",
    )
    .unwrap();
    fs::create_dir_all(dir.join("tmp")).unwrap();
}

/// Pids of the processes whose namespace of `kind` (`mnt`, `net`, ...) is
/// `ns` (as `readlink /proc/PID/ns/KIND` prints it).
pub fn pids_in_ns(kind: &str, ns: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(link) = fs::read_link(e.path().join("ns").join(kind)) else {
            continue;
        };
        if link.as_os_str() == ns {
            pids.push(pid);
        }
    }
    pids
}

/// Pids in cgroup `rel` (see [`cgroup_parent`]) and beneath it, in every
/// hierarchy.
pub fn cgroup_pids(rel: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for top in cgroup_dirs(rel) {
        let mut all = Vec::new();
        collect_dirs(&top, &mut all);
        for d in all {
            let procs = fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
            pids.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Thaws whatever is frozen beneath cgroup `rel` (a paused container's
/// processes only die of SIGKILL once thawed), in the v1 freezer and in
/// cgroup2.
pub fn thaw_cgroup(rel: &str) {
    for top in cgroup_dirs(rel) {
        let mut all = Vec::new();
        collect_dirs(&top, &mut all);
        for d in all {
            let _ = fs::write(d.join("freezer.state"), "THAWED");
            let _ = fs::write(d.join("cgroup.freeze"), "0");
        }
    }
}

/// SIGKILLs `pids` (processes this test started, found a moment ago).
pub fn kill_all(pids: &[i32]) {
    for &pid in pids {
        // SAFETY: kill(2) with a valid signal; the pid names a process the
        // test's own engine started (found in its namespace or cgroup).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Whether `pid` still exists (a zombie counts as gone).
pub fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit_once(')').map(|(_, r)| r.trim_start());
            !matches!(state.and_then(|r| r.chars().next()), Some('Z') | Some('X'))
        })
        .unwrap_or(false)
}
