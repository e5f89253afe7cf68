//! Engines with their systemd cgroup driver, nsbox as the OCI runtime:
//! podman with `cgroup_manager = "systemd"` (it passes `--systemd-cgroup`
//! and `machine.slice:libpod:<id>`) and containerd's `ctr run
//! --runc-systemd-cgroup --cgroup system.slice:containerd:<id>` (the shim
//! passes `--systemd-cgroup`), each with a memory limit checked by
//! effect: a 128 MiB allocation is OOM-killed at 64 MiB. systemd must be
//! PID 1 (podman and containerd as Debian installs them: containerd runs
//! as its service), so these run in the tests/vm modes systemd-v2 and
//! systemd-hybrid; elsewhere each says so (engine_podman.rs and
//! engine_containerd.rs test the engines with cgroupfs on any host).

mod engine_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use engine_support::{
    busybox_oci_archive, busybox_tarball, podman_storage, require_tool, run_timed, scratch, NSBOX,
};
use nsbox_testutil::{Output, TempDir};

const RUNS_IN: &[&str] = &["systemd-v2", "systemd-hybrid"];
const IMAGE: &str = "localhost/nsbox-test-busybox:latest";
/// A 128 MiB buffer filled at a 64 MiB limit: dd is OOM-killed (137).
const ALLOC: &str = "dd if=/dev/zero of=/dev/null bs=128M count=1 2>/dev/null; echo dd=$?";

fn systemd_here() -> bool {
    if Path::new("/run/systemd/system").exists() {
        return true;
    }
    nsbox_testutil::skip_here("systemd is not PID 1", RUNS_IN);
    false
}

/// The units systemd has loaded whose names match `pattern`.
fn units(pattern: &str) -> Vec<String> {
    let out = Command::new("systemctl")
        .args(["list-units", "--all", "--plain", "--no-legend", pattern])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// A private podman (config, vfs storage, tmp under a TempDir) whose
/// cgroup manager is systemd.
struct Podman {
    dir: TempDir,
}

impl Podman {
    fn new(tag: &str) -> Podman {
        require_tool("podman", "podman");
        require_tool("conmon", "conmon");
        let dir = scratch(tag);
        let d = dir.path().display().to_string();
        fs::write(
            dir.join("containers.conf"),
            format!(
                r#"[containers]
netns = "none"

[engine]
cgroup_manager = "systemd"
events_logger = "file"
events_logfile_path = "{d}/events.log"
runtime_supports_json = ["nsbox", "crun", "runc"]
tmp_dir = "{d}/libpod-tmp"
volume_path = "{d}/volumes"
image_copy_tmp_dir = "{d}/tmp"
"#
            ),
        )
        .unwrap();
        podman_storage(dir.path());
        let p = Podman { dir };
        let tar = busybox_tarball(p.dir.path());
        let out = p.podman(&["import", tar.to_str().unwrap(), IMAGE]);
        assert_eq!(out.code, 0, "podman import: {out:?}");
        p
    }

    fn podman(&self, args: &[&str]) -> Output {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"))
            .env(
                "CONTAINERS_REGISTRIES_CONF",
                self.dir.join("registries.conf"),
            )
            .env("TMPDIR", self.dir.join("tmp"))
            .args(["--runtime", NSBOX])
            .args(args);
        run_timed(&mut c, None, 180, self.dir.path())
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "--all", "--force", "--time", "0"]);
        let _ = self.podman(&["rmi", "--all", "--force"]);
    }
}

#[test]
fn podman_with_the_systemd_cgroup_manager_limits_memory() {
    if !systemd_here() {
        return;
    }
    let p = Podman::new("sd-podman");
    let out = p.podman(&[
        "run",
        "--rm",
        "--memory",
        "64m",
        "--memory-swap",
        "64m",
        IMAGE,
        "sh",
        "-c",
        ALLOC,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.ends_with("dd=137\n"), "not OOM-killed: {out:?}");
    let left = units("libpod-*");
    assert!(
        left.iter().all(|u| u.starts_with("libpod-conmon")),
        "{left:?}"
    );
}

#[test]
fn ctr_run_with_runc_systemd_cgroup_limits_memory() {
    if !systemd_here() {
        return;
    }
    require_tool("ctr", "containerd");
    let dir = scratch("sd-ctr");
    let ctr = |args: &[&str]| {
        let mut c = Command::new("ctr");
        c.args(["--namespace", "nsbox-test"]).args(args);
        run_timed(&mut c, None, 180, dir.path())
    };
    let archive = busybox_oci_archive(dir.path(), IMAGE);
    // the native snapshotter: the VM's kernel has no overlay module
    // loaded (ctr would fail to mount with ENODEV)
    let out = ctr(&[
        "image",
        "import",
        "--snapshotter",
        "native",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "ctr image import: {out:?}");
    let id = format!("nsbox-test-ctr-{}", std::process::id());
    let out = ctr(&[
        "run",
        "--rm",
        "--snapshotter",
        "native",
        "--runc-binary",
        NSBOX,
        "--runc-systemd-cgroup",
        // ctr 1.6 wants the path spelled out with that flag
        "--cgroup",
        &format!("system.slice:containerd:{id}"),
        "--memory-limit",
        &(64u64 << 20).to_string(),
        IMAGE,
        &id,
        "sh",
        "-c",
        ALLOC,
    ]);
    let _ = ctr(&["image", "rm", IMAGE]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.ends_with("dd=137\n"), "not OOM-killed: {out:?}");
    assert!(units(&format!("containerd-{id}.scope")).is_empty());
}
