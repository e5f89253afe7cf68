//! Churn (issue 12): many containers created, started, exec'd into and
//! deleted, four at a time, with limits; and many `nsbox run` containers
//! on a bridge reading the /proc view. Before and after, the test counts
//! what the kernel holds for them (mounts under the test's directory,
//! cgroups named after its containers, their processes, veths, leases,
//! nftables rules) and the open descriptors of the long-running nsbox
//! processes (an `events` stream and the /proc view server): every count
//! returns to where it started. The counts are printed.
//!
//! Knob: `NSBOX_CHURN` (default 1000 OCI containers, and a quarter as many
//! bridge runs; about two minutes here).

mod oci_common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oci_common::{base_config, cgroups_named, live_processes_with, Oci, NSBOX};
use serde_json::json;

fn churn_count() -> usize {
    std::env::var("NSBOX_CHURN")
        .map(|s| s.parse().expect("NSBOX_CHURN is a number"))
        .unwrap_or(1000)
}

/// What the kernel holds that the test's containers could leak.
#[derive(Debug, PartialEq)]
struct Counts {
    mounts: usize,
    cgroups: usize,
    processes: usize,
    fds: Vec<(String, usize)>,
}

/// Mount entries that mention `dir` (containers' mounts live in their own
/// mount namespaces; one left on the host names the test's directory).
fn mounts_under(dir: &Path) -> usize {
    let needle = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&needle))
        .count()
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("process {pid} is gone: {e}"))
        .count()
}

/// Kills and reaps a spawned process on drop.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn quiet(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(NSBOX);
    c.arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// `nsbox --root ROOT ARGS`, which must succeed. Its stderr goes to a
/// file, not a pipe: a created container's init holds its stdio open.
fn must(root: &Path, args: &[&str]) {
    let log = root.with_file_name(format!("stderr-{}", args.last().unwrap()));
    let file = std::fs::File::create(&log).unwrap();
    let status = quiet(root, args).stderr(file).status().unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(status.success(), "nsbox {args:?}: {text}");
}

#[test]
fn oci_churn_returns_every_count_to_its_start() {
    let n = churn_count();
    let oci = Oci::new("churn");
    let mut c = base_config(&["sleep", "1000"]);
    c["linux"]["resources"] = json!({
        "memory": {"limit": 64 << 20},
        "pids": {"limit": 50},
        "cpu": {"shares": 256}
    });
    oci.write_config(&c);
    let bundle = oci.bundle.display().to_string();
    let prefix = format!("ch{}-", std::process::id());

    // A long-lived container with an `events` stream on it.
    let keep = oci.id("keep");
    oci.create_detached(&keep);
    must(&oci.root, &["start", &keep]);
    let keep_pid = oci.state(&keep)["pid"].as_u64().unwrap() as u32;
    let events = Reaped(
        quiet(&oci.root, &["events", "--interval", "50ms", &keep])
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let events_pid = events.0.id();
    let root = oci.root.display().to_string();
    let count = || Counts {
        mounts: mounts_under(oci.dir.path()),
        cgroups: cgroups_named(&format!("nsbox-{prefix}*")).len(),
        processes: live_processes_with(&root, &[keep_pid, events_pid]).len(),
        fds: vec![("events".to_string(), fd_count(events_pid))],
    };
    let before = count();

    let started = Instant::now();
    std::thread::scope(|s| {
        for w in 0..4 {
            let (root, bundle, prefix) = (&oci.root, &bundle, &prefix);
            s.spawn(move || {
                for i in (w..n).step_by(4) {
                    let id = format!("{prefix}{i}");
                    must(root, &["create", "--bundle", bundle, &id]);
                    must(root, &["start", &id]);
                    must(root, &["exec", &id, "true"]);
                    must(root, &["delete", "--force", &id]);
                }
            });
        }
    });
    let took = started.elapsed();
    let after = count();
    eprintln!(
        "{n} containers created, started, exec'd, deleted (4 at a time) in {:.1} s\n  before: {before:?}\n  after:  {after:?}",
        took.as_secs_f64()
    );
    assert_eq!(before, after);
    let left: Vec<String> = std::fs::read_dir(&oci.root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".seccomp-cache")
        .collect();
    assert_eq!(
        left,
        std::slice::from_ref(&keep),
        "only `keep` is left in the state root"
    );
}

/// The test's network namespace, state root and /proc view.
struct BridgeHost {
    netns: String,
    dir: nsbox_testutil::TempDir,
    view_pid: u32,
}

impl BridgeHost {
    fn new() -> BridgeHost {
        nsbox_testutil::require_root();
        let netns = format!("nsbox-churn-{}", std::process::id());
        nsbox_testutil::run(NSBOX, ["netns", "add", &netns]).success();
        let dir = nsbox_testutil::TempDir::new("churn-br");
        let mut host = BridgeHost {
            netns,
            dir,
            view_pid: 0,
        };
        host.sh("ip link set lo up");
        let mnt = host.dir.join("view");
        let out = host.nsbox(&["proc-view", "start", "--mount-point", mnt.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status = host.nsbox(&["proc-view", "status", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        host.view_pid = v["pid"].as_u64().expect("the view's pid") as u32;
        host
    }

    fn root(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// `nsbox --root R ARGS` in the test's network namespace.
    fn nsbox(&self, args: &[&str]) -> std::process::Output {
        Command::new(NSBOX)
            .arg("enter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .args(["--", NSBOX, "--root"])
            .arg(self.root())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn sh(&self, script: &str) -> String {
        let net = format!("--net=/run/netns/{}", self.netns);
        nsbox_testutil::run(NSBOX, ["enter", &net, "--", "sh", "-c", script])
            .success()
            .stdout
    }

    fn veths(&self) -> usize {
        self.sh("ip -o link").matches("nsbx").count()
    }

    fn rules(&self) -> usize {
        self.sh("nft list ruleset").lines().count()
    }
}

impl Drop for BridgeHost {
    fn drop(&mut self) {
        let _ = self.nsbox(&["proc-view", "stop"]);
        let _ = Command::new("kill")
            .args(["-9", &self.view_pid.to_string()])
            .status();
        nsbox_testutil::unmount_beneath(self.dir.path());
        let _ = nsbox_testutil::run(NSBOX, ["netns", "delete", &self.netns]);
    }
}

#[test]
fn bridge_runs_reading_the_proc_view_return_every_count_to_its_start() {
    let n = churn_count() / 4;
    let host = BridgeHost::new();
    let root = host.root().display().to_string();
    let prefix = format!("b{}-", std::process::id());
    let count = || Counts {
        mounts: mounts_under(host.dir.path()),
        cgroups: cgroups_named(&format!("nsbox-{prefix}*")).len(),
        processes: live_processes_with(&root, &[host.view_pid]).len(),
        fds: vec![("proc-view".to_string(), fd_count(host.view_pid))],
    };
    // The first container makes the bridge; what stays after it (the
    // bridge itself) is the baseline.
    let first = host.nsbox(&["run", "--name", "br-first", "--net", "bridge", "--", "true"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = (count(), host.veths(), host.rules());

    let started = Instant::now();
    std::thread::scope(|s| {
        for w in 0..2 {
            let (host, prefix) = (&host, &prefix);
            s.spawn(move || {
                for i in (w..n).step_by(2) {
                    let name = format!("{prefix}{i}");
                    let out = host.nsbox(&[
                        "run",
                        "--name",
                        &name,
                        "--net",
                        "bridge",
                        "-m",
                        "64m",
                        "--",
                        "sh",
                        "-c",
                        "grep -q '^MemTotal: *65536 kB' /proc/meminfo",
                    ]);
                    assert!(
                        out.status.success(),
                        "{name}: {}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });
    let took = started.elapsed();
    let after = (count(), host.veths(), host.rules());
    eprintln!(
        "{n} bridge runs reading the /proc view (2 at a time) in {:.1} s\n  before: {before:?} (veths, rule lines)\n  after:  {after:?}",
        took.as_secs_f64()
    );
    assert_eq!(before, after);
    let leases = host.root().join(".net");
    assert!(!leases.exists(), "{} left", leases.display());
}
