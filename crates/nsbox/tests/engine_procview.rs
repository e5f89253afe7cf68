//! The /proc view under other engines, as docs/proc-view.md tells their
//! users: `nsbox proc-view start`, then the view's files bound with `-v`
//! over the container's `/proc/...` and `/sys/devices/system/cpu/online`.
//! Docker (a private dockerd, `engine_support::docker`) and podman (a
//! private store, as engine_podman.rs sets one up), both running nsbox as
//! their OCI runtime; the numbers come from the cgroup the engine asked
//! for (`-m 256m --cpus 1`), read from the files (busybox's `free` asks
//! sysinfo(2), which no file view changes).

mod engine_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use engine_support::docker::{Dockerd, IMAGE};
use engine_support::{
    busybox_tarball, cgroup_parent, podman_storage, remove_cgroup, require_tool, run_timed,
};
use engine_support::{scratch, NSBOX};
use nsbox_testutil::{Output, TempDir};

/// The files the documented `-v` list binds (the host has them all).
const FILES: [&str; 8] = [
    "proc/meminfo",
    "proc/cpuinfo",
    "proc/stat",
    "proc/uptime",
    "proc/loadavg",
    "proc/swaps",
    "proc/diskstats",
    "sys/devices/system/cpu/online",
];

/// What the container prints: its MemTotal line, its processors, its
/// online CPUs, its uptime.
const SCRIPT: &str = "grep ^MemTotal: /proc/meminfo; grep -c ^processor /proc/cpuinfo; \
                      cat /sys/devices/system/cpu/online; cat /proc/uptime";

/// A view on a directory of the test's own; stopped (its processes and
/// mount gone) when dropped.
struct View {
    dir: TempDir,
}

impl View {
    fn start(tag: &str) -> View {
        let dir = TempDir::new(tag);
        let view = View { dir };
        let out = view.nsbox(&["proc-view", "start", "--mount-point"], Some(&view.mnt()));
        assert!(
            out.status.success(),
            "proc-view start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        view
    }

    fn mnt(&self) -> PathBuf {
        self.dir.join("mnt")
    }

    fn nsbox(&self, args: &[&str], last: Option<&Path>) -> std::process::Output {
        let mut c = Command::new(NSBOX);
        c.arg("--root").arg(self.dir.join("root")).args(args);
        if let Some(p) = last {
            c.arg(p);
        }
        c.output().expect("run nsbox")
    }

    /// The documented `-v SOURCE:DEST:ro` flags.
    fn volumes(&self) -> Vec<String> {
        FILES
            .iter()
            .flat_map(|f| {
                [
                    "-v".to_owned(),
                    format!("{}/{f}:/{f}:ro", self.mnt().display()),
                ]
            })
            .collect()
    }
}

impl Drop for View {
    fn drop(&mut self) {
        let _ = self.nsbox(&["proc-view", "stop"], None);
        // TempDir detaches what is left beneath it.
    }
}

/// The container's output as the host's limits say it should be: 256 MiB,
/// one CPU, started a moment ago.
fn assert_limited(out: &Output, log: &str) {
    assert_eq!(out.code, 0, "{out:?}\n{log}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{out:?}");
    let mem: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(mem, ["MemTotal:", "262144", "kB"], "{out:?}");
    assert_eq!(lines[1], "1", "one processor in cpuinfo: {out:?}");
    assert_eq!(lines[2], "0", "cpu/online: {out:?}");
    let up: f64 = lines[3].split(' ').next().unwrap().parse().unwrap();
    assert!(up < 30.0, "uptime of a container started now: {out:?}");
}

#[test]
fn docker_run_with_the_documented_volumes_sees_its_limits() {
    // Started before dockerd, whose private mount namespace copies the
    // view's mount when it is made.
    let view = View::start("pv-docker");
    let d = Dockerd::start("pv-docker", false);
    let mut args: Vec<String> = ["--rm", "-m", "256m", "--cpus", "1"]
        .map(String::from)
        .to_vec();
    args.extend(view.volumes());
    args.extend([IMAGE, "sh", "-c", SCRIPT].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = d.run(&args);
    assert_limited(&out, &d.log());
    d.finish();
}

#[test]
fn podman_run_with_the_documented_volumes_sees_its_limits() {
    let view = View::start("pv-podman");
    let p = Podman::new("pv-podman");
    let mut args: Vec<String> = [
        "run",
        "--cgroup-parent",
        &p.cgroup_parent,
        "--rm",
        "-m",
        "256m",
        "--cpus",
        "1",
    ]
    .map(String::from)
    .to_vec();
    args.extend(view.volumes());
    args.extend([PODMAN_IMAGE, "sh", "-c", SCRIPT].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = p.podman(&args);
    assert_limited(&out, "");
}

const PODMAN_IMAGE: &str = "localhost/nsbox-test-busybox:latest";

/// A private podman (its own containers.conf, vfs storage and tmp dir under
/// a TempDir, no network, a relative cgroup parent), set up as
/// engine_podman.rs does (see there why each setting).
struct Podman {
    dir: TempDir,
    podman: PathBuf,
    cgroup_parent: String,
}

impl Podman {
    fn new(tag: &str) -> Podman {
        let dir = scratch(tag);
        let podman = require_tool("podman", "podman");
        require_tool("conmon", "conmon");
        let d = dir.path().display().to_string();
        fs::write(
            dir.join("containers.conf"),
            format!(
                r#"[containers]
netns = "none"
cgroups = "no-conmon"
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[network]
network_config_dir = "{d}/cni"

[engine]
cgroup_manager = "cgroupfs"
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
        fs::create_dir_all(dir.join("cni")).unwrap();
        let p = Podman {
            podman,
            cgroup_parent: cgroup_parent(tag),
            dir,
        };
        let tar = busybox_tarball(p.dir.path());
        let out = p.podman(&["import", tar.to_str().unwrap(), PODMAN_IMAGE]);
        assert_eq!(out.code, 0, "podman import: {out:?}");
        p
    }

    /// `podman --runtime NSBOX ARGS...` with a deadline.
    fn podman(&self, args: &[&str]) -> Output {
        let mut c = Command::new(&self.podman);
        c.env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"))
            .env(
                "CONTAINERS_REGISTRIES_CONF",
                self.dir.join("registries.conf"),
            )
            .env("TMPDIR", self.dir.join("tmp"))
            .arg("--runtime")
            .arg(NSBOX)
            .args(args);
        run_timed(&mut c, None, 120, self.dir.path())
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // The store is private: everything in it is this test's.
        let _ = self.podman(&["rm", "--all", "--force", "--time", "0"]);
        let _ = self.podman(&["rmi", "--all", "--force"]);
        remove_cgroup(&self.cgroup_parent);
    }
}
