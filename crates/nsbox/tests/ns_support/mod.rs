//! Shared by the `nsbox ns ...` integration tests: processes and namespaces
//! made for a test, torn down by Drop guards even when the test fails.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use nsbox_testutil::{require_root, run, Output, TempDir};

pub fn nsbox<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    run(env!("CARGO_BIN_EXE_nsbox"), args)
}

/// A process started for a test, killed and reaped on drop.
pub struct Proc {
    child: Child,
}

impl Proc {
    /// Starts `argv` and waits until its namespace of each of `kinds` differs
    /// from ours (the new namespaces exist) and its program is `sleep`.
    pub fn spawn(argv: &[&str], kinds: &[&str]) -> Proc {
        let child = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {argv:?}: {e}"));
        let p = Proc { child };
        let pid = p.pid();
        wait_for(&format!("{argv:?} to set up"), || {
            // sleep itself, or busybox's inside a test root.
            let exe_is_sleep = std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| {
                let e = e.to_string_lossy();
                e.ends_with("sleep") || e.ends_with("busybox")
            });
            exe_is_sleep
                && kinds
                    .iter()
                    .all(|k| ns_ino(pid, k) != ns_ino(std::process::id(), k))
        });
        p
    }

    /// Starts `argv` without waiting for anything.
    pub fn start(argv: &[&str]) -> Proc {
        let child = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {argv:?}: {e}"));
        Proc { child }
    }

    /// The first `sleep` among this process's descendants, once it runs.
    pub fn sleeping_descendant(&self) -> u32 {
        fn search(pid: u32) -> Option<u32> {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
            if exe.to_string_lossy().ends_with("sleep") {
                return Some(pid);
            }
            let kids = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
            kids.split_whitespace()
                .filter_map(|k| k.parse().ok())
                .find_map(search)
        }
        let mut found = None;
        wait_for("a sleep below the process", || {
            found = search(self.pid());
            found.is_some()
        });
        found.unwrap_or(0)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn ns(&self, kind: &str) -> u64 {
        ns_ino(self.pid(), kind)
    }
}

/// Every descendant of `pid`, children before grandchildren.
fn descendants(pid: u32, out: &mut Vec<u32>) {
    let Ok(kids) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) else {
        return;
    };
    for k in kids.split_whitespace().filter_map(|k| k.parse().ok()) {
        out.push(k);
        descendants(k, out);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Forked helpers (unshare -f) leave children behind: kill them too.
        let mut below = Vec::new();
        descendants(self.pid(), &mut below);
        for pid in below {
            // SAFETY: kill(2) takes plain integers; a pid that is already gone gives ESRCH.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `ok` for up to 10 s.
pub fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Inode of `/proc/PID/ns/KIND` (0 when unreadable).
pub fn ns_ino(pid: u32, kind: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}")).map_or(0, |m| m.ino())
}

/// Creates a namespace of `kind` (util-linux's long option name: uts, ipc,
/// net, ...) that only a bind mount at `dir/name` holds; returns its path and inode.
pub fn mount_held(dir: &TempDir, kind: &str, name: &str) -> (PathBuf, u64) {
    use std::os::unix::fs::MetadataExt;
    let path = dir.join(name);
    std::fs::write(&path, b"").unwrap();
    run(
        "unshare",
        [format!("--{kind}={}", path.display()), "true".into()],
    )
    .success();
    let ino = std::fs::metadata(&path).unwrap().ino();
    (path, ino)
}

/// A namespace of `kind` that only descriptor 7 of a `sleep` holds: a
/// process makes it, a second one opens it, the first is killed.
pub struct FdHeld {
    pub holder: Proc,
    pub ino: u64,
}

impl FdHeld {
    pub fn new(kind: &str, unshare_flag: &str) -> FdHeld {
        let maker = Proc::spawn(&["unshare", unshare_flag, "sleep", "600"], &[kind]);
        let ino = maker.ns(kind);
        let script = format!("exec 7</proc/{}/ns/{kind}; exec sleep 600", maker.pid());
        let holder = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .spawn()
            .expect("start holder");
        let holder = Proc { child: holder };
        let hp = holder.pid();
        wait_for("holder to open the namespace", || {
            std::fs::read_link(format!("/proc/{hp}/exe"))
                .is_ok_and(|e| e.to_string_lossy().ends_with("sleep"))
                && std::fs::read_link(format!("/proc/{hp}/fd/7")).is_ok()
        });
        drop(maker);
        FdHeld { holder, ino }
    }
}

/// `lsns -J` rows, with lsns's process-tree `children` flattened.
pub fn flatten(v: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    for item in v.as_array().into_iter().flatten() {
        let mut row = item.clone();
        if let Some(obj) = row.as_object_mut() {
            obj.remove("children");
        }
        out.push(row);
        if let Some(c) = item.get("children") {
            flatten(c, out);
        }
    }
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", out.stdout))
}

pub fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}

/// A memory cgroup made beneath our own (v1 hierarchy), removed on drop
/// (declare it before the processes moved into it, so they die first).
pub struct ChildCgroup {
    pub path: PathBuf,
}

impl ChildCgroup {
    pub fn new(tag: &str) -> ChildCgroup {
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let rel = own
            .lines()
            .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))
            .expect("a v1 memory hierarchy");
        let path = PathBuf::from(format!(
            "/sys/fs/cgroup/memory{}/nsbox-test-{tag}-{}",
            rel.trim_end_matches('/'),
            std::process::id()
        ));
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        ChildCgroup { path }
    }

    pub fn add(&self, pid: u32) {
        std::fs::write(self.path.join("cgroup.procs"), pid.to_string()).unwrap();
    }
}

impl Drop for ChildCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}
