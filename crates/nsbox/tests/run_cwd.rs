//! `nsbox run -- CMD` keeps the caller's working directory when the
//! command can enter it inside, and starts in `/` when it cannot (it does
//! not exist there, or the caller may not enter it), as `docker run` starts
//! in `/`; an explicit `-w DIR` that cannot be made still fails.

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use nsbox_testutil::{busybox_rootfs, Output, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

/// A private `--root`, and nothing left in it when the test ends.
struct Scratch {
    dir: TempDir,
    root: PathBuf,
}

impl Scratch {
    fn new(tag: &str) -> Scratch {
        nsbox_testutil::require_root();
        let dir = TempDir::new(tag);
        let root = dir.join("state");
        Scratch { dir, root }
    }

    /// `[prefix...] nsbox --root R run EXTRA... -- pwd`, started in `cwd`.
    fn pwd(&self, prefix: &[&str], extra: &[&str], cwd: &Path) -> Output {
        let mut argv: Vec<&str> = prefix.to_vec();
        argv.extend([NSBOX, "--root", self.root.to_str().unwrap(), "run"]);
        argv.extend_from_slice(extra);
        argv.extend(["--", "pwd"]);
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .current_dir(cwd)
            .output()
            .unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let left: Vec<String> = std::fs::read_dir(&self.root)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != ".seccomp-cache")
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "left in {}: {left:?}", self.root.display());
    }
}

/// A directory on the host's root outside /tmp (which the command gets
/// fresh), so that it exists inside a run on the host's root.
fn host_dir(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("run_cwd-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn caller_cwd_is_kept_when_it_exists_inside() {
    let b = Scratch::new("cwd-kept");
    let here = host_dir("kept");
    let out = b.pwd(&[], &[], &here);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim_end(), here.to_str().unwrap(), "{out:?}");
    std::fs::remove_dir(&here).unwrap();
}

#[test]
fn cwd_missing_in_the_rootfs_starts_in_root() {
    let b = Scratch::new("cwd-rootfs");
    let rootfs = b.dir.join("rootfs");
    busybox_rootfs(&rootfs).unwrap();
    let elsewhere = b.dir.join("not-in-the-rootfs");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = b.pwd(&[], &["--rootfs", rootfs.to_str().unwrap()], &elsewhere);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "/\n", "{out:?}");
}

/// An unprivileged caller in a directory it may not enter (a 0700
/// directory of root's, as a checkout under /root): inside its user
/// namespace the command could not enter it either, so it starts in `/`.
#[test]
fn cwd_the_caller_cannot_enter_starts_in_root() {
    const NOBODY: u32 = 65534;
    let b = Scratch::new("cwd-locked");
    std::fs::create_dir(&b.root).unwrap();
    chown(&b.root, Some(NOBODY), Some(NOBODY)).unwrap();
    let parent = host_dir("locked");
    let locked = parent.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    let id = NOBODY.to_string();
    let setpriv = ["setpriv", "--reuid", &id, "--regid", &id, "--clear-groups"];
    let out = b.pwd(&setpriv, &[], &locked);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "/\n", "{out:?}");
    std::fs::remove_dir_all(&parent).unwrap();
}

/// `-w DIR` is not a wish: one that cannot be made (the host's root is
/// read-only) fails, in one line naming it.
#[test]
fn explicit_workdir_that_cannot_be_made_fails() {
    let b = Scratch::new("cwd-explicit");
    let missing = format!("/nonexistent-nsbox-{}", std::process::id());
    let out = b.pwd(&[], &["-w", &missing], Path::new("/"));
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.starts_with("nsbox: run pwd: "), "{out:?}");
    assert!(out.stderr.contains(&missing), "{out:?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    assert!(!Path::new(&missing).exists());
}
