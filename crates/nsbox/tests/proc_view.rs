//! `nsbox proc-view` by effect on the real kernel: a server on a mount point
//! of the test's own, and readers placed in cgroups the test makes beneath
//! its own (memory and cpu limits set there), reading the view's files as
//! any program would. Every test stops its server, removes its mount and its
//! cgroups, pass or fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nsbox_cgroups::{Host, ProcCgroups};
use nsbox_testutil::{require_root, TempDir};
use serde_json::Value;

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

/// A running view on a test directory (its `--root` and mount point). Drop
/// stops it, kills its holder and server if still there, and unmounts what
/// is left.
struct View<'a> {
    dir: &'a TempDir,
    pid: u32,
    holder: u32,
}

impl<'a> View<'a> {
    fn start(dir: &'a TempDir) -> View<'a> {
        require_root();
        let out = nsbox(
            dir,
            &["proc-view", "start", "--mount-point"],
            Some(&dir.join("mnt")),
        );
        assert!(
            out.status.success(),
            "start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status = nsbox(dir, &["proc-view", "status", "--json"], None);
        let json: Value = serde_json::from_slice(&status.stdout).expect("status --json");
        let pid = json["pid"].as_u64().expect("a pid") as u32;
        let holder = json["holder"].as_u64().expect("a holder") as u32;
        View { dir, pid, holder }
    }

    /// The server's pid now (a new one after a restart).
    fn server(&self) -> Option<u32> {
        let status = self.nsbox(&["proc-view", "status", "--json"]);
        let json: Value = serde_json::from_slice(&status.stdout).expect("status --json");
        json["pid"].as_u64().map(|p| p as u32)
    }

    fn mnt(&self) -> PathBuf {
        self.dir.join("mnt")
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.mnt().join(rel)
    }

    fn nsbox(&self, args: &[&str]) -> Output {
        nsbox(self.dir, args, None)
    }
}

impl Drop for View<'_> {
    fn drop(&mut self) {
        let server = self.server();
        let _ = self.nsbox(&["proc-view", "stop"]);
        for pid in [Some(self.pid), server, Some(self.holder)]
            .into_iter()
            .flatten()
        {
            if !gone(pid) && is_view(pid) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
        nsbox_testutil::unmount_beneath(self.dir.path());
    }
}

/// The process has ended, every thread of it (a zombie its parent has not
/// reaped yet too; a zombie leader whose other threads still exit, and
/// still hold its descriptors, not).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let zombie = stat
                .rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'));
            let threads = std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count());
            zombie && threads <= 1
        }
        Err(_) => true,
    }
}

/// The process is one of the view's (not another that reused the pid).
fn is_view(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.windows(9).any(|w| w == b"proc-view"))
}

fn nsbox(dir: &TempDir, args: &[&str], last: Option<&Path>) -> Output {
    let mut c = Command::new(NSBOX);
    c.arg("--root").arg(dir.join("root")).args(args);
    if let Some(p) = last {
        c.arg(p);
    }
    c.output().expect("run nsbox")
}

/// Cgroups the test made beneath its own, one per hierarchy it needs;
/// removed at drop (their processes have ended by then).
struct Cgroups {
    dirs: Vec<PathBuf>,
}

impl Cgroups {
    /// Memory, cpu, cpuacct and unified cgroups beneath ours, with `memory`
    /// bytes and a quota of `quota` microseconds per 100 ms.
    fn new(tag: &str, memory: u64, quota: u64) -> Cgroups {
        let host = Host::detect().expect("detect cgroups");
        let own = ProcCgroups::own().expect("our cgroups");
        let name = format!("nsbox-test-{tag}-{}", std::process::id());
        let (Some(mem), Some(cpu)) = (host.v1_for("memory"), host.v1_for("cpu")) else {
            return Cgroups::new_v2(&host, &own, &name, memory, quota);
        };
        let mut cg = Cgroups { dirs: Vec::new() };
        let mut want = vec![
            (mem, vec![("memory.limit_in_bytes", memory.to_string())]),
            (
                cpu,
                vec![
                    ("cpu.cfs_period_us", "100000".to_owned()),
                    ("cpu.cfs_quota_us", quota.to_string()),
                ],
            ),
        ];
        // As an engine does: its CPU time accounted in a cgroup of its own,
        // and one in the unified hierarchy (its PSI files), the last.
        if let Some(acct) = host.v1_for("cpuacct").filter(|h| !h.has("cpu")) {
            want.push((acct, Vec::new()));
        }
        if let Some(unified) = &host.unified {
            want.push((unified, Vec::new()));
        }
        for (h, files) in want {
            let dir = h.dir_of(own.path_in(h).unwrap()).unwrap().join(&name);
            std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
            cg.dirs.push(dir.clone());
            for (f, v) in files {
                std::fs::write(dir.join(f), v).unwrap_or_else(|e| panic!("write {f}: {e}"));
            }
        }
        cg
    }

    /// Pure v2: one cgroup beneath ours with memory.max and cpu.max, the
    /// two controllers enabled in ours first when they are not (the VM
    /// runs the tests in the root cgroup, where that is allowed).
    fn new_v2(host: &Host, own: &ProcCgroups, name: &str, memory: u64, quota: u64) -> Cgroups {
        let unified = host
            .unified
            .as_ref()
            .expect("a v1 or a v2 memory controller");
        let parent = unified.dir_of(own.path_in(unified).unwrap()).unwrap();
        let enabled = std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap();
        for c in ["memory", "cpu"] {
            if !enabled.split_whitespace().any(|e| e == c) {
                std::fs::write(parent.join("cgroup.subtree_control"), format!("+{c}"))
                    .unwrap_or_else(|e| panic!("enable {c} for the test's cgroups: {e}"));
            }
        }
        let dir = parent.join(name);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let cg = Cgroups {
            dirs: vec![dir.clone()],
        };
        for (f, v) in [
            ("memory.max", memory.to_string()),
            ("cpu.max", format!("{quota} 100000")),
        ] {
            std::fs::write(dir.join(f), v).unwrap_or_else(|e| panic!("write {f}: {e}"));
        }
        cg
    }

    /// Runs `script` in a shell that first moves itself into these cgroups.
    fn sh(&self, script: &str) -> String {
        run_sh(&self.script(script))
    }

    /// `script` preceded by the moves into these cgroups.
    fn script(&self, script: &str) -> String {
        let mut enter = String::new();
        for d in &self.dirs {
            enter.push_str(&format!(
                "echo $$ > {}/cgroup.procs || exit 1; ",
                d.display()
            ));
        }
        format!("{enter}{script}")
    }
}

impl Drop for Cgroups {
    /// A killed process leaves its cgroup only once reaped: retried for a
    /// second.
    fn drop(&mut self) {
        for d in &self.dirs {
            for _ in 0..50 {
                if std::fs::remove_dir(d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

fn run_sh(script: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "sh -c {script:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, rest) = l.split_once(':')?;
        (k == key).then(|| rest.split_whitespace().next()?.parse().ok())?
    })
}

#[test]
fn a_reader_limited_to_64m_and_half_a_cpu_sees_its_limits() {
    let dir = TempDir::new("pv-limits");
    let view = View::start(&dir);
    let cg = Cgroups::new("pv-limits", 64 << 20, 50_000);
    let meminfo = cg.sh(&format!("cat {}", view.file("proc/meminfo").display()));
    assert_eq!(field(&meminfo, "MemTotal"), Some(65536), "{meminfo}");
    let free = field(&meminfo, "MemFree").unwrap();
    assert!(free > 0 && free < 65536, "{meminfo}");
    assert!(
        field(&meminfo, "MemAvailable").unwrap() <= 65536,
        "{meminfo}"
    );
    let cpuinfo = cg.sh(&format!("cat {}", view.file("proc/cpuinfo").display()));
    let processors: Vec<&str> = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .collect();
    assert_eq!(processors, ["processor\t: 0"], "{cpuinfo}");
    let online = cg.sh(&format!(
        "cat {}",
        view.file("sys/devices/system/cpu/online").display()
    ));
    assert_eq!(online, "0\n");
    // Busy for a moment first: the time shows on its one CPU.
    let stat = cg.sh(&format!(
        "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; cat {}",
        view.file("proc/stat").display()
    ));
    let cpu0: Vec<u64> = stat
        .lines()
        .find(|l| l.starts_with("cpu0 "))
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(cpu0[0] + cpu0[2] > 0, "no CPU time of its own: {stat}");
    let cpus: Vec<&str> = stat
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("cpu"))
        .collect();
    assert_eq!(cpus, ["cpu", "cpu0"], "{stat}");
    assert!(stat.contains("\nctxt "), "the host's other lines: {stat}");
    // No swap on this cgroup (memsw unset and the host's swap, if any, is
    // not shown as its own): the header, and a line only with a swap total.
    let swaps = cg.sh(&format!("cat {}", view.file("proc/swaps").display()));
    assert!(swaps.starts_with("Filename"), "{swaps}");
    let swap_total = field(&meminfo, "SwapTotal").unwrap();
    assert_eq!(
        swaps.lines().count(),
        1 + usize::from(swap_total > 0),
        "{swaps}"
    );
    // PSI from its own unified cgroup: an idle new cgroup did no IO. (A
    // v1-only host has no cgroup of the reader's with PSI files.)
    let unified = Host::detect().unwrap().unified.is_some();
    if Path::new("/proc/pressure/io").exists() && unified {
        let unified = cg.dirs.last().unwrap();
        let psi = cg.sh(&format!("cat {}", view.file("proc/pressure/io").display()));
        assert_eq!(
            psi,
            std::fs::read_to_string(unified.join("io.pressure")).unwrap()
        );
    }
}

#[test]
fn a_reader_in_the_hosts_own_cgroups_and_pid_namespace_sees_the_host() {
    let dir = TempDir::new("pv-host");
    let view = View::start(&dir);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(
        read(&view.file("sys/devices/system/cpu/online")),
        read(Path::new("/sys/devices/system/cpu/online"))
    );
    let cpu_lines = |t: String| t.lines().filter(|l| l.starts_with("cpu")).count();
    assert_eq!(
        cpu_lines(read(&view.file("proc/stat"))),
        cpu_lines(read(Path::new("/proc/stat")))
    );
    let ours: f64 = read(&view.file("proc/uptime"))
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let host: f64 = read(Path::new("/proc/uptime"))
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((host - ours).abs() < 2.0, "view {ours}, host {host}");
}

#[test]
fn uptime_in_a_new_pid_namespace_counts_from_its_init() {
    let dir = TempDir::new("pv-uptime");
    let view = View::start(&dir);
    let cg = Cgroups::new("pv-uptime", 256 << 20, 100_000);
    let out = cg.sh(&format!(
        "exec {NSBOX} unshare -fp -- sh -c 'sleep 1; cat {}'",
        view.file("proc/uptime").display()
    ));
    let up: f64 = out.split(' ').next().unwrap().parse().unwrap();
    assert!((0.9..5.0).contains(&up), "uptime {out:?}");
}

#[test]
fn start_twice_says_it_runs_stop_ends_it_and_unmounts() {
    let dir = TempDir::new("pv-life");
    let view = View::start(&dir);
    let again = nsbox(
        view.dir,
        &["proc-view", "start", "--mount-point"],
        Some(&view.mnt()),
    );
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(
        err.trim(),
        format!(
            "nsbox: proc-view start: the proc view runs already (pid {}, mounted on {})",
            view.pid,
            view.mnt().display()
        )
    );
    let json: Value =
        serde_json::from_slice(&view.nsbox(&["proc-view", "status", "--json"]).stdout).unwrap();
    assert_eq!(json["running"], true);
    assert_eq!(json["mount_point"], view.mnt().display().to_string());
    let stop = view.nsbox(&["proc-view", "stop"]);
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    assert!(gone(view.pid), "server still alive");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&view.mnt().display().to_string()),
        "still mounted"
    );
    let status = view.nsbox(&["proc-view", "status", "--json"]);
    let json: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json, serde_json::json!({"running": false}));
}

#[test]
fn nsbox_run_binds_the_view_and_free_shows_the_containers_memory() {
    let dir = TempDir::new("pv-run");
    let view = View::start(&dir);
    let out = view.nsbox(&[
        "run",
        "-m",
        "64m",
        "--cpus",
        "0.5",
        "--net",
        "none",
        "--",
        "sh",
        "-c",
        "grep ^MemTotal: /proc/meminfo; free -k; echo ---; cat /sys/devices/system/cpu/online; \
         grep -c ^processor /proc/cpuinfo; grep -c '^cpu[0-9]' /proc/stat; cat /proc/uptime",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (free, rest) = text.split_once("---\n").unwrap();
    assert_eq!(field(free, "MemTotal"), Some(65536), "{text}");
    // procps' free reads /proc/meminfo; busybox's (tests/vm has only
    // busybox) asks sysinfo(2), which no file view changes.
    let version = Command::new("free").arg("-V").output().unwrap();
    if String::from_utf8_lossy(&version.stdout).contains("procps") {
        let mem: Vec<&str> = free
            .lines()
            .find(|l| l.starts_with("Mem:"))
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(mem[1], "65536", "procps free reads the view: {free}");
    }
    let rest: Vec<&str> = rest.lines().collect();
    assert_eq!(rest[..3], ["0", "1", "1"], "{text}");
    let up: f64 = rest[3].split(' ').next().unwrap().parse().unwrap();
    assert!(up < 5.0, "uptime of a container started now: {}", rest[3]);

    // In a user namespace too (the server mounts with allow_other).
    let out = view.nsbox(&[
        "run",
        "--userns",
        "-m",
        "32m",
        "--net",
        "none",
        "--",
        "grep",
        "^MemTotal:",
        "/proc/meminfo",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(field(&text, "MemTotal"), Some(32768), "{text}");
}

#[test]
fn sigterm_unmounts_and_a_killed_servers_mount_is_replaced_by_the_next_start() {
    let dir = TempDir::new("pv-signals");
    let view = View::start(&dir);
    let meminfo = view.file("proc/meminfo");
    let kill = |sig: &str, pid: u32| {
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !gone(pid) {
            assert!(
                std::time::Instant::now() < end,
                "pid {pid} outlived kill {sig}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    kill("-TERM", view.pid);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&view.mnt().display().to_string()),
        "TERM left the mount"
    );
    assert!(
        !dir.join("root/proc-view/server.json").exists(),
        "TERM left the state file"
    );

    // kill -9 of the server: the holder keeps the mount's connection and
    // starts a new server after a pause; readers wait for it, then read.
    drop(view);
    let view = View::start(&dir);
    kill("-KILL", view.pid);
    let t = std::time::Instant::now();
    let text = std::fs::read_to_string(&meminfo).unwrap();
    assert!(field(&text, "MemTotal").is_some(), "{text}");
    assert!(t.elapsed().as_secs() < 5, "waited {:?}", t.elapsed());
    let new = view.server().expect("a new server");
    assert_ne!(new, view.pid);
    // kill -9 of it and `start`: a server at once, on the same connection.
    kill("-KILL", new);
    let start = view.nsbox(&["proc-view", "start"]);
    assert!(
        start.status.success(),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    let text = std::fs::read_to_string(&meminfo).unwrap();
    assert!(field(&text, "MemTotal").is_some(), "{text}");
    // kill -9 of the holder too: the view is gone (as LXCFS's), and the
    // next start mounts anew.
    let holder = view.holder;
    kill("-KILL", view.server().unwrap());
    kill("-KILL", holder);
    let status = view.nsbox(&["proc-view", "status", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&status.stdout).unwrap(),
        serde_json::json!({"running": false})
    );
    drop(view);
    let view = View::start(&dir);
    let text = std::fs::read_to_string(&meminfo).unwrap();
    assert!(field(&text, "MemTotal").is_some(), "{text}");
    drop(view);
}

/// `nsbox run` of `script` with `-m MIB`, reading through the view of
/// `dir`'s root, its output piped.
fn spawn_run(dir: &TempDir, mib: u64, script: &str) -> std::process::Child {
    Command::new(NSBOX)
        .arg("--root")
        .arg(dir.join("root"))
        .args(["run", "-m", &format!("{mib}m"), "--net", "none", "--"])
        .args(["sh", "-c", script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn nsbox run")
}

/// Waits for `children` to end, up to `secs` seconds in all: a reader that
/// hangs fails the test (and is killed) rather than hanging it.
fn wait_all(children: Vec<std::process::Child>, secs: u64) -> Vec<Output> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut children = children;
    while children
        .iter_mut()
        .any(|c| matches!(c.try_wait(), Ok(None)))
    {
        if std::time::Instant::now() > until {
            for c in &mut children {
                let _ = c.kill();
            }
            for c in children {
                let _ = c.wait_with_output();
            }
            panic!("readers still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

#[test]
fn containers_read_right_again_after_kill_9_of_the_server_without_a_restart_of_theirs() {
    let dir = TempDir::new("pv-restart");
    let view = View::start(&dir);
    // Two containers reading their MemTotal every 50 ms for about 4 s.
    // One line a read: grep may print the line and then fail on its next
    // read (the kill aborts it), which counts as one failed read.
    let script = "for i in $(seq 80); do l=$(grep ^MemTotal: /proc/meminfo) && echo \"$l\" \
                  || echo failed; sleep 0.05; done";
    let readers = vec![spawn_run(&dir, 64, script), spawn_run(&dir, 48, script)];
    std::thread::sleep(std::time::Duration::from_millis(1000));
    // kill -9, then start at once.
    let kill9 = |pid: u32| {
        let ok = Command::new("kill").args(["-9", &pid.to_string()]).status();
        assert!(ok.unwrap().success());
    };
    kill9(view.pid);
    let start = view.nsbox(&["proc-view", "start"]);
    assert!(
        start.status.success(),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    // kill -9 again, and nobody starts it: the holder does.
    std::thread::sleep(std::time::Duration::from_millis(500));
    kill9(view.server().expect("the server start started"));
    let outputs = wait_all(readers, 60);
    for (out, mib) in outputs.iter().zip([64u64, 48]) {
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}{err}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 80, "{text}{err}");
        // A read in progress at the kill may fail (ECONNABORTED), no other.
        let wrong: Vec<&&str> = lines
            .iter()
            .filter(|l| field(l, "MemTotal") != Some(mib * 1024))
            .collect();
        assert!(wrong.len() <= 2, "{mib} MiB: {text}{err}");
        assert!(wrong.iter().all(|l| **l == "failed"), "{text}{err}");
        assert_eq!(field(lines[79], "MemTotal"), Some(mib * 1024), "{text}");
    }
}

#[test]
fn a_hundred_containers_reading_at_once_each_get_their_own_numbers() {
    let dir = TempDir::new("pv-hundred");
    let _view = View::start(&dir);
    let script = "for i in 1 2 3; do grep ^MemTotal: /proc/meminfo; sleep 0.2; done";
    let readers: Vec<std::process::Child> =
        (0..100).map(|i| spawn_run(&dir, 16 + i, script)).collect();
    let outputs = wait_all(readers, 300);
    for (i, out) in outputs.iter().enumerate() {
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "container {i}: {text}{err}");
        let want = (16 + i as u64) * 1024;
        let got: Vec<Option<u64>> = text.lines().map(|l| field(l, "MemTotal")).collect();
        assert_eq!(got, [Some(want); 3], "container {i}: {text}{err}");
    }
}

#[test]
fn readers_in_many_cgroups_at_once_each_get_their_own_numbers() {
    let dir = TempDir::new("pv-many");
    let view = View::start(&dir);
    let file = view.file("proc/meminfo");
    let cgroups: Vec<(u64, Cgroups)> = (1..=8u64)
        .map(|i| {
            (
                i * 16,
                Cgroups::new(&format!("pv-many{i}"), (i * 16) << 20, 100_000),
            )
        })
        .collect();
    // Three readers per cgroup, each reading 30 times, all at once.
    let children: Vec<(u64, std::process::Child)> = cgroups
        .iter()
        .flat_map(|(mib, cg)| {
            let script = cg.script(&format!(
                "for i in $(seq 30); do grep ^MemTotal: {}; done",
                file.display()
            ));
            (0..3).map(move |_| {
                let child = Command::new("sh")
                    .args(["-c", &script])
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn sh");
                (*mib, child)
            })
        })
        .collect();
    // Every reader ends before anything is checked, so the cgroups are
    // empty for their removal even when a check fails.
    let outputs: Vec<(u64, Output)> = children
        .into_iter()
        .map(|(mib, child)| (mib, child.wait_with_output().unwrap()))
        .collect();
    for (mib, out) in outputs {
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.lines().count(), 30, "{text}");
        for line in text.lines() {
            assert_eq!(
                field(line, "MemTotal"),
                Some(mib * 1024),
                "cgroup of {mib} MiB: {line}"
            );
        }
    }
}

#[test]
fn loadavg_counts_the_cgroups_own_busy_task() {
    let dir = TempDir::new("pv-load");
    let view = View::start(&dir);
    let cg = Cgroups::new("pv-load", 64 << 20, 100_000);
    let file = view.file("proc/loadavg");
    // The first read starts the sampling; two 5-second samples with one
    // busy task give the kernel's 1 - (1884/2048)^2 = 0.15 for a minute.
    let out = cg.sh(&format!(
        "(while :; do :; done) & busy=$!; trap 'kill $busy' EXIT; cat {f}; sleep 11; cat {f}",
        f = file.display()
    ));
    let lines: Vec<&str> = out.lines().collect();
    let log = std::fs::read_to_string(dir.join("root/proc-view/log")).unwrap_or_default();
    assert_eq!(lines.len(), 2, "{out}{log}");
    assert!(lines[0].starts_with("0.00 0.00 0.00 "), "{out}{log}");
    let f: Vec<&str> = lines[1].split(' ').collect();
    let one: f64 = f[0].parse().unwrap();
    assert!((0.1..0.5).contains(&one), "{out}");
    // Its own tasks only: the shell, the loop, sleep's parent shell and cat.
    let (_, total) = f[3].split_once('/').unwrap();
    assert!(total.parse::<u32>().unwrap() < 8, "{out}");
    assert_eq!(f[4], "0", "no host pid: {out}");
}

#[test]
fn diskstats_shows_the_cgroups_own_writes_and_only_its_disks() {
    use std::os::unix::fs::MetadataExt;
    let dir = TempDir::new("pv-disk");
    let view = View::start(&dir);
    let host = Host::detect().unwrap();
    let own = ProcCgroups::own().unwrap();
    let Some(blkio) = host.v1_for("blkio") else {
        // v2's io.stat goes through the same renderer (unit-tested).
        return nsbox_testutil::skip_here(
            "the diskstats test reads v1 blkio's throttle counters",
            &["v1", "hybrid"],
        );
    };
    let cg_dir = blkio
        .dir_of(own.path_in(blkio).unwrap())
        .unwrap()
        .join(format!("nsbox-test-pv-disk-{}", std::process::id()));
    std::fs::create_dir(&cg_dir).unwrap();
    let cg = Cgroups {
        dirs: vec![cg_dir.clone()],
    };
    // v1 counts a cgroup's IO in blkio.throttle.* only where a rule applies:
    // a limit no test reaches, on the disk /var/tmp is on.
    let scratch = TempDir::new_in(Path::new("/var/tmp"), "pv-disk");
    let dev = std::fs::metadata(scratch.path()).unwrap().dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    if !Path::new(&format!("/sys/dev/block/{major}:{minor}")).exists() {
        // tests/vm's machines have no disk (all in an initramfs)
        return nsbox_testutil::skip_here("/var/tmp is on no disk", &[]);
    }
    std::fs::write(
        cg_dir.join("blkio.throttle.write_bps_device"),
        format!("{major}:{minor} 10000000000"),
    )
    .unwrap_or_else(|e| panic!("a throttle rule on {major}:{minor} (not a whole disk?): {e}"));
    let out = cg.sh(&format!(
        "dd if=/dev/zero of={}/f bs=1M count=4 oflag=direct 2>/dev/null && cat {}",
        scratch.path().display(),
        view.file("proc/diskstats").display()
    ));
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines.len(), 1, "only the disk it wrote to: {out}");
    let l = &lines[0];
    assert_eq!(
        (l[0], l[1]),
        (major.to_string().as_str(), minor.to_string().as_str()),
        "{out}"
    );
    assert!(l[7].parse::<u64>().unwrap() >= 1, "writes completed: {out}");
    assert_eq!(l[9], "8192", "4 MiB in sectors: {out}");
    assert_eq!(
        l.len(),
        std::fs::read_to_string("/proc/diskstats")
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .count()
    );
}

#[test]
fn sendfile_readers_get_their_own_whole_file() {
    // busybox's cat copies with sendfile(2), through the page cache, which
    // stops at the file's size: a file that grew since the last read (the
    // uptime from 0.xx to 10.xx) comes whole, and each container gets its
    // own.
    let busybox = nsbox_testutil::BUSYBOX;
    assert!(
        Path::new(busybox).exists(),
        "{busybox} missing: apt-get install busybox-static"
    );
    let dir = TempDir::new("pv-sendfile");
    let view = View::start(&dir);
    let script = format!(
        "{busybox} cat /proc/uptime; sleep 10; {busybox} cat /proc/uptime; \
         {busybox} cat /proc/meminfo | {busybox} head -1"
    );
    let out = view.nsbox(&[
        "run", "-m", "48m", "--net", "none", "--", "sh", "-c", &script,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let up = |l: &str| -> Vec<f64> { l.split(' ').map(|w| w.parse().unwrap()).collect() };
    assert_eq!(up(lines[0]).len(), 2, "{text}");
    let later = up(lines[1]);
    assert_eq!(later.len(), 2, "{text}");
    assert!((10.0..20.0).contains(&later[0]), "{text}");
    assert_eq!(field(lines[2], "MemTotal"), Some(48 * 1024), "{text}");
    // Another container, shorter numbers, right after.
    let out = view.nsbox(&[
        "run",
        "-m",
        "8m",
        "--net",
        "none",
        "--",
        busybox,
        "cat",
        "/proc/meminfo",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(field(&text, "MemTotal"), Some(8 * 1024), "{text}");
    assert!(text.ends_with(" kB\n"), "whole: {text}");
}

#[test]
fn a_run_where_no_view_can_start_warns_once_and_runs() {
    // /dev/null bound over /dev/fuse in a mount namespace of the test's
    // own: the view's mount is refused, as on a host without FUSE.
    require_root();
    let dir = TempDir::new("pv-nofuse");
    let root = dir.join("root");
    let run = format!(
        "mount --bind /dev/null /dev/fuse && \
         for i in 1 2; do {NSBOX} --root {} run --net none -- grep -c ^processor /proc/cpuinfo; done",
        root.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "--", "sh", "-c", &run])
        .output()
        .expect("run unshare (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    let host_cpus = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    assert_eq!(stdout, format!("{host_cpus}\n{host_cpus}\n"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one warning, the first run only: {stderr}");
    assert!(
        lines[0].starts_with("nsbox: warning: run: no /proc view for containers: ")
            && lines[0].contains("--no-proc-view runs without"),
        "{stderr}"
    );
    assert!(
        !Command::new(NSBOX)
            .arg("--root")
            .arg(&root)
            .args(["proc-view", "status"])
            .output()
            .unwrap()
            .stdout
            .starts_with(b"running"),
        "no view left running"
    );
}

/// `nsbox run` without root cannot mount FUSE: it binds the view root
/// serves on the default mount point, so the user's container reads its
/// own cgroup's numbers, as LXCFS serves every user. Without one it warns
/// once and runs with the host's files.
#[test]
fn a_run_without_root_reads_the_view_root_serves() {
    require_root();
    let setpriv = Command::new("setpriv").arg("--version").output();
    if !setpriv.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("util-linux")) {
        // tests/vm's machines have busybox alone: no /var/lib, no nobody
        return nsbox_testutil::skip_here("no util-linux setpriv to run as an ordinary user", &[]);
    }
    let dir = TempDir::new("pv-rootless");
    let xdg = dir.join("xdg");
    std::fs::create_dir(&xdg).unwrap();
    std::os::unix::fs::chown(&xdg, Some(65534), Some(65534)).unwrap();
    let cg = Cgroups::new("rootless", 48 << 20, 100_000);
    let user_run = format!(
        "setpriv --reuid 65534 --regid 65534 --clear-groups env XDG_RUNTIME_DIR={} \
         {NSBOX} run -- sh -c 'grep ^MemTotal: /proc/meminfo; grep -c ^processor /proc/cpuinfo'",
        xdg.display()
    );
    // The default root and mount point, on tmpfs in a mount namespace of
    // the test's own: the host's /run/nsbox and /var/lib are untouched. The
    // user runs first without a view (warned, the host's files), then with
    // the one root starts.
    let script = cg.script(&format!(
        "exec unshare -m --propagation private sh -c '\
           mount -t tmpfs pv-run /run && mount -t tmpfs pv-lib /var/lib || exit 1
           mkdir -p /var/lib/nsbox/proc-view
           {user_run} 2>&1 && {user_run} 2>&1 || exit 1
           trap \"{NSBOX} proc-view stop >/dev/null\" EXIT
           {NSBOX} proc-view start >/dev/null || exit 1
           {user_run} 2>&1'",
        user_run = user_run.replace('\'', "'\\''")
    ));
    let out = run_sh(&script);
    let host_total = field(
        &std::fs::read_to_string("/proc/meminfo").unwrap(),
        "MemTotal",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 7, "{out}");
    assert!(
        lines[0].starts_with("nsbox: warning: run: no /proc view for containers: without root")
            && lines[0].contains("as root: `nsbox proc-view start`"),
        "{out}"
    );
    // without a view: the host's numbers, twice, warned once
    let host_cpus = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    for l in [&lines[1..3], &lines[3..5]] {
        assert_eq!(field(l[0], "MemTotal"), host_total, "{out}");
        assert_eq!(l[1], host_cpus.to_string(), "{out}");
    }
    // with root's view: the cgroup's 48 MiB and one CPU
    assert_eq!(field(lines[5], "MemTotal"), Some(48 * 1024), "{out}");
    assert_eq!(lines[6], "1", "{out}");
}
