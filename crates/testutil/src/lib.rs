//! Helpers for nsbox's integration tests: busybox root file systems, scratch
//! directories that clean up after themselves, and a root check.
//!
//! Tests run real namespaces as root; nothing here mocks the kernel.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where Debian's `busybox-static` installs its binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Fails the test (never skips it) when not run as root: these tests exist to
/// exercise privileged kernel paths.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "nsbox integration tests must run as root");
}

/// Ends a test that cannot check anything on this kind of host, saying so:
/// one line on stderr (past libtest's capture, so it shows on a pass) names
/// the test, why, and the tests/vm modes (`v2`, `v1`, `v2-leaf`, `hybrid`)
/// where it runs instead (none: tests/vm cannot run it, the build machine
/// does). Inside tests/vm, whose init exports
/// `NSBOX_VM_MODE`, skipping in one of `runs_in` fails the test: there it
/// must run. Call as `return skip_here(...)`.
pub fn skip_here(why: &str, runs_in: &[&str]) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    if let Ok(mode) = std::env::var(VM_MODE_VAR) {
        assert!(
            !runs_in.contains(&mode.as_str()),
            "{test}: skipped in tests/vm mode {mode}, where it must run ({why})"
        );
    }
    let where_ = match runs_in {
        [] => "runs on the build machine (scripts/test.sh's host tests)".to_owned(),
        modes => format!("runs in tests/vm mode {}", modes.join(", ")),
    };
    let _ = writeln!(
        io::stderr(),
        "{test}: skipped on this host ({why}); {where_}"
    );
}

/// The environment variable through which tests/vm's init tells the tests
/// which host kind the VM is (`v2`, `v1`, `v2-leaf`, `hybrid`).
pub const VM_MODE_VAR: &str = "NSBOX_VM_MODE";

/// A directory under /tmp, removed with everything in it when dropped.
/// Anything still mounted beneath it is detached first so removal cannot
/// wander into a mounted file system.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        TempDir::new_in(&std::env::temp_dir(), tag)
    }

    /// A fresh directory under `base` instead of the temporary directory
    /// (e.g. one a container on the host's root sees, which /tmp is not).
    pub fn new_in(base: &Path, tag: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("nsbox-test-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create test dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        unmount_beneath(&self.path);
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// What is left in nsbox's state root `root` besides what it keeps by
/// design (compiled seccomp filters, the /proc view's state and log): the
/// entries' names; none when `root` does not exist.
pub fn state_left(root: &Path) -> Vec<String> {
    fs::read_dir(root)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".seccomp-cache" && n != "proc-view")
                .collect()
        })
        .unwrap_or_default()
}

/// Lazily unmounts every mount point at or below `dir`, deepest first.
pub fn unmount_beneath(dir: &Path) {
    let Ok(info) = fs::read("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<PathBuf> = nsbox_ns::mountinfo::entries(&info)
        .filter_map(|(_, entry)| Some(entry.ok()?.mount_point()))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in points {
        if let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) {
            // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Builds a minimal root file system in `root` from Debian's busybox-static:
/// `/bin/busybox` plus a symlink per applet, the usual empty mount points,
/// and `/etc/passwd` / `/etc/group` with root and nobody.
pub fn busybox_rootfs(root: &Path) -> io::Result<()> {
    if !Path::new(BUSYBOX).exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "/bin/busybox missing: apt-get install busybox-static",
        ));
    }
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root", "run",
        "var/tmp",
    ] {
        fs::create_dir_all(root.join(d))?;
    }
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777))?;
    fs::copy(BUSYBOX, root.join("bin/busybox"))?;
    fs::set_permissions(root.join("bin/busybox"), fs::Permissions::from_mode(0o755))?;
    let list = Command::new(BUSYBOX).arg("--list-full").output()?;
    for rel in String::from_utf8_lossy(&list.stdout).lines() {
        let rel = rel.trim();
        if rel.is_empty() || rel == "bin/busybox" {
            continue;
        }
        let link = root.join(rel);
        if link.symlink_metadata().is_ok() {
            continue;
        }
        if let Some(parent) = link.parent() {
            fs::create_dir_all(parent)?;
        }
        symlink("/bin/busybox", &link)?;
    }
    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    fs::write(root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
    fs::write(root.join("etc/hostname"), "busybox\n")?;
    Ok(())
}

/// Runs `prog args...` and returns (exit code, stdout, stderr); panics only
/// if the program cannot be started at all.
pub fn run<I, S>(prog: impl AsRef<OsStr>, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let prog = prog.as_ref();
    let out = Command::new(prog)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("start {prog:?}: {e}"));
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What a finished command printed and returned.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panics with everything the command printed unless it exited 0.
    pub fn success(self) -> Output {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        self
    }
}

/// Puts back /etc/subuid and /etc/subgid as they were, even on failure.
pub struct SubIds {
    saved: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl SubIds {
    /// Adds `line` to both files.
    pub fn add(line: &str) -> SubIds {
        let mut saved = Vec::new();
        for f in ["/etc/subuid", "/etc/subgid"] {
            let old = std::fs::read(f).ok();
            let mut text = old.clone().unwrap_or_default();
            if !text.is_empty() && !text.ends_with(b"\n") {
                text.push(b'\n');
            }
            text.extend_from_slice(format!("{line}\n").as_bytes());
            std::fs::write(f, text).unwrap();
            saved.push((PathBuf::from(f), old));
        }
        SubIds { saved }
    }
}

impl Drop for SubIds {
    fn drop(&mut self) {
        for (f, old) in &self.saved {
            match old {
                Some(text) => std::fs::write(f, text).unwrap(),
                None => std::fs::remove_file(f).unwrap(),
            }
        }
    }
}

/// A small seedable generator (a 64-bit LCG, Knuth's constants): tests
/// that draw at random replay exactly from the seed they print.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn draw(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.draw() % n as u64) as usize
    }
}

/// The fuzz tests' knobs: `NSBOX_FUZZ_SEED` (a number, or `random`; else
/// `default`, so CI repeats itself) and `NSBOX_FUZZ_CASES` (else
/// `cases`).
pub fn fuzz_knobs(default: u64, cases: usize) -> (u64, usize) {
    let seed = match std::env::var("NSBOX_FUZZ_SEED").as_deref() {
        Ok("random") => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
        Ok(s) => s.parse().expect("NSBOX_FUZZ_SEED is a number or `random`"),
        Err(_) => default,
    };
    let cases = std::env::var("NSBOX_FUZZ_CASES")
        .map(|s| s.parse().expect("NSBOX_FUZZ_CASES is a number"))
        .unwrap_or(cases);
    (seed, cases)
}

/// Runs `cmd` with stdin and stdout on /dev/null and stderr in a file under
/// `scratch` (a container it starts may hold a pipe open), killing it after
/// `limit`: its status and stderr, or `None` if it had to be killed.
pub fn status_within(
    cmd: &mut std::process::Command,
    limit: std::time::Duration,
    scratch: &Path,
) -> Option<(std::process::ExitStatus, String)> {
    let err_path = scratch.join("stderr");
    let err = std::fs::File::create(&err_path).unwrap();
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    Some((
        status,
        std::fs::read_to_string(&err_path).unwrap_or_default(),
    ))
}
