//! Rootless podman (Debian's, 4.3) on nsbox, as an ordinary user runs it
//! (issue 12): the user `nobody` with a subordinate range in /etc/subuid
//! and /etc/subgid, its own XDG_RUNTIME_DIR, HOME, storage (vfs) and
//! containers.conf under a TempDir. podman calls nsbox as root of its own
//! user namespace (where nsbox keeps state in `$XDG_RUNTIME_DIR/nsbox`,
//! binds device nodes instead of mknod, and runs without a cgroup when
//! none may be made and no limit is asked: runc's and crun's rootless
//! rules). Checked by what the user sees: the container's ids are the
//! user's range, exit codes, `exec`, `stop` and `rm`; nothing is left.

mod engine_support;

use std::fs;
use std::os::unix::fs::chown;
use std::path::PathBuf;
use std::process::Command;

use engine_support::{busybox_tarball, require_tool, run_timed, scratch, NSBOX};
use nsbox_testutil::{Output, SubIds, TempDir};

const IMAGE: &str = "localhost/nsbox-rootless-busybox:latest";
const NOBODY: u32 = 65534;
const RANGE_START: u32 = 900_000;

struct RootlessPodman {
    dir: TempDir,
    podman: PathBuf,
    _subids: SubIds,
}

impl RootlessPodman {
    fn new(tag: &str) -> RootlessPodman {
        let dir = scratch(tag);
        let podman = require_tool("podman", "podman");
        require_tool("conmon", "conmon");
        require_tool("newuidmap", "uidmap");
        let subids = SubIds::add(&format!("nobody:{RANGE_START}:65536"));
        let d = dir.path().display().to_string();
        for sub in ["home", "run", "tmp"] {
            fs::create_dir(dir.join(sub)).unwrap();
        }
        fs::write(
            dir.join("containers.conf"),
            format!(
                r#"[containers]
netns = "none"
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
runtime_supports_json = ["nsbox", "crun", "runc"]
"#
            ),
        )
        .unwrap();
        fs::write(
            dir.join("storage.conf"),
            format!("[storage]\ndriver = \"vfs\"\nrunroot = \"{d}/runroot\"\ngraphroot = \"{d}/graph\"\n"),
        )
        .unwrap();
        let tar = busybox_tarball(dir.path());
        // everything the user reads or writes is the user's
        let out = nsbox_testutil::run("chown", ["-R", "65534:65534", &d]);
        assert_eq!(out.code, 0, "{out:?}");
        fs::set_permissions(
            dir.join("run"),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        chown(&tar, Some(NOBODY), Some(NOBODY)).unwrap();
        let p = RootlessPodman {
            dir,
            podman,
            _subids: subids,
        };
        let out = p.podman(&["import", tar.to_str().unwrap(), IMAGE]);
        assert_eq!(out.code, 0, "podman import: {out:?}");
        p
    }

    /// `podman --runtime NSBOX ARGS...` as nobody, with a deadline.
    fn podman(&self, args: &[&str]) -> Output {
        let mut c = Command::new("setpriv");
        c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(&self.podman)
            .arg("--runtime")
            .arg(NSBOX)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", self.dir.join("home"))
            .env("USER", "nobody")
            .env("XDG_RUNTIME_DIR", self.dir.join("run"))
            .env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"))
            .env("TMPDIR", self.dir.join("tmp"))
            .current_dir(self.dir.path());
        run_timed(&mut c, None, 120, self.dir.path())
    }
}

impl Drop for RootlessPodman {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "-f", "-a", "-t", "0"]);
        // podman's pause process holds the user namespace; it is the user's
        // and would outlive the test
        let pause = self.dir.join("run/libpod/tmp/pause.pid");
        if let Ok(pid) = fs::read_to_string(pause) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
        // vfs layers hold files of the subordinate ids: root removes them
        let _ = Command::new("rm")
            .arg("-rf")
            .arg(self.dir.join("graph"))
            .status();
    }
}

#[test]
fn rootless_podman_runs_containers_on_nsbox_with_the_users_range() {
    let p = RootlessPodman::new("podman-rootless");
    let out = p.podman(&[
        "run",
        "--rm",
        IMAGE,
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; touch /tmp/f && chown 1000 /tmp/f && stat -c %u /tmp/f; exit 3",
    ]);
    assert_eq!(out.code, 3, "the container's status: {out:?}");
    let lines: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines,
        [
            vec!["0"],
            vec!["0", "65534", "1"],
            vec!["1", "900000", "65536"],
            vec!["1000"],
        ],
        "root inside is the user, 1..N the range, chown to another id works: {out:?}"
    );

    // A long-running one: exec into it, stop it, remove it.
    let out = p.podman(&["run", "-d", "--name", "long", IMAGE, "sleep", "1000"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = p.podman(&["exec", "long", "sh", "-c", "echo in; exit 5"]);
    assert_eq!((out.code, out.stdout.as_str()), (5, "in\n"), "{out:?}");
    let out = p.podman(&["stop", "-t", "1", "long"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = p.podman(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(out.stdout.starts_with("long Exited"), "{out:?}");
    let out = p.podman(&["rm", "long"]);
    assert_eq!(out.code, 0, "{out:?}");

    // nsbox kept its state where the user may write, and left none.
    let state = p.dir.join("run/nsbox");
    assert!(
        state.is_dir(),
        "nsbox's state was not under XDG_RUNTIME_DIR"
    );
    let left: Vec<String> = fs::read_dir(&state)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".seccomp-cache")
        .collect();
    assert!(left.is_empty(), "state left: {left:?}");
}
