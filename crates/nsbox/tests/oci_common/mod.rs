//! Shared by the oci_* tests: a bundle with a busybox rootfs, a private
//! `--root`, and a guard that force-deletes every container it made.
#![allow(dead_code)]

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use nsbox_testutil::{busybox_rootfs, run, Output, TempDir};
use serde_json::{json, Value};

pub const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

pub struct Oci {
    pub dir: TempDir,
    pub root: PathBuf,
    pub bundle: PathBuf,
    ids: RefCell<Vec<String>>,
}

impl Oci {
    pub fn new(tag: &str) -> Oci {
        nsbox_testutil::require_root();
        let dir = TempDir::new(tag);
        let root = dir.join("state");
        let bundle = dir.join("bundle");
        busybox_rootfs(&bundle.join("rootfs")).expect("busybox rootfs");
        let oci = Oci {
            dir,
            root,
            bundle,
            ids: RefCell::new(Vec::new()),
        };
        oci.write_config(&base_config(&["true"]));
        oci
    }

    /// A unique container id for this test.
    pub fn id(&self, name: &str) -> String {
        let id = format!("{name}-{}", std::process::id());
        self.ids.borrow_mut().push(id.clone());
        id
    }

    pub fn write_config(&self, config: &Value) {
        std::fs::write(
            self.bundle.join("config.json"),
            serde_json::to_string_pretty(config).unwrap(),
        )
        .unwrap();
    }

    /// `nsbox --root ROOT ARGS...`
    pub fn nsbox<S: AsRef<str>>(&self, args: &[S]) -> Output {
        let mut all = vec!["--root".to_string(), self.root.display().to_string()];
        all.extend(args.iter().map(|a| a.as_ref().to_string()));
        run(NSBOX, &all)
    }

    /// `nsbox --root ROOT ARGS...` for verbs that leave the container
    /// running: its stdio must not be our pipe (we would wait for the
    /// container to close it), so both go to a file; panics on failure,
    /// returns what it printed.
    pub fn detached<S: AsRef<str>>(&self, args: &[S]) -> String {
        let log = self.dir.join("detached.log");
        let file = std::fs::File::create(&log).unwrap();
        let status = std::process::Command::new(NSBOX)
            .arg("--root")
            .arg(&self.root)
            .args(args.iter().map(|a| a.as_ref()))
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .status()
            .unwrap();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(status.success(), "{status}: {text}");
        text
    }

    /// `create --bundle B ID` (stdio to a file, as for `detached`); what
    /// it printed.
    pub fn create_detached(&self, id: &str) -> String {
        let bundle = self.bundle.display().to_string();
        self.detached(&["create", "--bundle", &bundle, id])
    }

    /// `run --bundle B ID` and its output.
    pub fn run(&self, id: &str) -> Output {
        let bundle = self.bundle.display().to_string();
        self.nsbox(&["run", "--bundle", &bundle, id])
    }

    pub fn create(&self, id: &str) -> Output {
        let bundle = self.bundle.display().to_string();
        self.nsbox(&["create", "--bundle", &bundle, id])
    }

    pub fn state(&self, id: &str) -> Value {
        let out = self.nsbox(&["state", id]).success();
        serde_json::from_str(&out.stdout).expect("state is JSON")
    }

    pub fn state_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }
}

impl Drop for Oci {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let _ = self.nsbox(&["delete", "--force", id]);
        }
    }
}

/// A config like `nsbox spec`'s (runc's), without a terminal, running `args`.
pub fn base_config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.2.0",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "oci-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
            ],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// Whether the host's mount table mentions `needle`.
pub fn host_mounts_mention(needle: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(&needle.display().to_string())
}

/// Polls `state` until it reports `want` (the kernel acts asynchronously).
pub fn wait_status(oci: &Oci, id: &str, want: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let st = oci.state(id);
        if st["status"] == want || std::time::Instant::now() > deadline {
            return st;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Every cgroup directory whose name matches `pattern` (find(1)'s `-name`:
/// `nsbox-ID`, `nsbox-PREFIX*`) in every mounted hierarchy: the kernel's
/// word on what a container left.
pub fn cgroups_named(pattern: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mi = std::fs::read("/proc/self/mountinfo").unwrap();
    for (_, entry) in nsbox_ns::mountinfo::entries(&mi) {
        let entry = entry.unwrap();
        if matches!(entry.fs_type, b"cgroup" | b"cgroup2") {
            let found = run(
                "find",
                [
                    entry.mount_point().to_str().unwrap(),
                    "-type",
                    "d",
                    "-name",
                    pattern,
                ],
            );
            out.extend(found.stdout.lines().map(PathBuf::from));
        }
    }
    out
}

/// Whether `pid` runs (a zombie waiting for its reaper does not).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| Some(s.rsplit_once(") ")?.1.starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

/// Live processes (but us and `except`) whose command line holds `needle`
/// (a test's unique state root: nsbox's own, and an init cloned from it
/// before its exec).
pub fn live_processes_with(needle: &str, except: &[u32]) -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| *p != me && !except.contains(p) && alive(*p))
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

/// Builds the static C probe `source` (tests/probes/) into the bundle's
/// rootfs as /bin/probe: a syscall busybox has no applet for, made inside
/// the container.
pub fn install_probe(oci: &Oci, source: &str) {
    let out = oci.bundle.join("rootfs/bin/probe");
    let built = run("cc", ["-static", "-O", "-o", out.to_str().unwrap(), source]);
    assert_eq!(
        built.code, 0,
        "cc -static failed (packages gcc and libc6-dev): {built:?}"
    );
}
