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
            let exe_is_sleep = std::fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|e| e.to_string_lossy().ends_with("sleep"));
            exe_is_sleep
                && kinds
                    .iter()
                    .all(|k| ns_ino(pid, k) != ns_ino(std::process::id(), k))
        });
        p
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn ns(&self, kind: &str) -> u64 {
        ns_ino(self.pid(), kind)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
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
