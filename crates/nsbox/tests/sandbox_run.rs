//! `nsbox run -- CMD`: a command isolated without a bundle, checked from
//! inside as a user would, and nothing left behind afterwards.

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use nsbox_testutil::{busybox_rootfs, run, Output, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

/// A private `--root`, checked empty (but for the seccomp cache) and
/// absent from the mount table when the test ends.
struct Sandboxed {
    dir: TempDir,
    root: PathBuf,
}

impl Sandboxed {
    fn new(tag: &str) -> Sandboxed {
        nsbox_testutil::require_root();
        let dir = TempDir::new(tag);
        let root = dir.join("state");
        Sandboxed { dir, root }
    }

    fn run(&self, extra: &[&str], command: &[&str]) -> Output {
        let mut args = vec!["--root", self.root.to_str().unwrap(), "run"];
        args.extend_from_slice(extra);
        args.push("--");
        args.extend_from_slice(command);
        run(NSBOX, &args)
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

    fn sh(&self, script: &str) -> Output {
        self.run(&[], &["sh", "-c", script])
    }

    /// Nothing of the run is left: no state or bundle directory, no mount.
    fn assert_clean(&self) {
        let left = nsbox_testutil::state_left(&self.root);
        assert!(left.is_empty(), "left in {}: {left:?}", self.root.display());
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        // the /proc view `run` started under the root lives on until the
        // root's TempDir is removed
        assert!(
            !mounts
                .lines()
                .filter(|l| !l.contains(" - fuse.nsbox-proc-view "))
                .any(|l| l.contains(&self.root.display().to_string())),
            "a mount under {} is left",
            self.root.display()
        );
    }
}

impl Drop for Sandboxed {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_clean();
        }
    }
}

#[test]
fn hostname_is_its_own() {
    let f = Sandboxed::new("sandbox-uts");
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let out = f.run(&[], &["hostname"]).success();
    let inside = out.stdout.trim();
    assert!(!inside.is_empty());
    assert_ne!(inside, host);
}

#[test]
fn root_is_read_only_and_tmp_is_a_fresh_tmpfs() {
    let f = Sandboxed::new("sandbox-ro");
    let out = f.sh("echo x > /etc/nsbox-sandbox-test");
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    assert!(!Path::new("/etc/nsbox-sandbox-test").exists());
    // Every mount beneath the host's root is read-only too.
    let out = f.sh("touch /run/nsbox-sandbox-test");
    assert_ne!(out.code, 0, "{out:?}");
    // /tmp: empty, writable, and the topmost mount there a tmpfs of its
    // own, whatever the host's /tmp is (its own tmpfs, under ours, shows
    // in the mount table too when it is one)
    let out = f
        .sh("ls -A /tmp | wc -l; echo hi > /tmp/a && cat /tmp/a; grep ' /tmp ' /proc/self/mounts | tail -n1 | cut -d' ' -f3; stat -c %d /tmp")
        .success();
    let host_tmp = std::os::unix::fs::MetadataExt::dev(&std::fs::metadata("/tmp").unwrap());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..3], ["0", "hi", "tmpfs"], "{out:?}");
    assert_ne!(lines[3], host_tmp.to_string(), "the host's /tmp: {out:?}");
    assert_eq!(lines.len(), 4, "{out:?}");
}

#[test]
fn sees_only_its_own_processes() {
    let f = Sandboxed::new("sandbox-pid");
    let out = f.run(&[], &["ps", "-e", "-o", "pid="]).success();
    assert_eq!(out.stdout.trim(), "1", "{out:?}");
}

#[test]
fn dev_has_only_the_default_devices() {
    let f = Sandboxed::new("sandbox-dev");
    let out = f.run(&[], &["ls", "/dev"]).success();
    let names: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(
        names,
        [
            "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
            "stdout", "tty", "urandom", "zero"
        ],
        "{out:?}"
    );
}

#[test]
fn mount_and_namespaces_are_refused() {
    let f = Sandboxed::new("sandbox-mount");
    let out = f.sh("mkdir -p /tmp/m && mount -t tmpfs none /tmp/m");
    assert_ne!(out.code, 0, "{out:?}");
    // The default seccomp profile is in force (mode 2: filter).
    let out = f
        .run(&[], &["grep", "^Seccomp:", "/proc/self/status"])
        .success();
    assert_eq!(out.stdout.split_whitespace().nth(1), Some("2"), "{out:?}");
    let out = f.run(&[], &["unshare", "-U", "true"]);
    assert_ne!(out.code, 0, "{out:?}");
}

#[test]
fn exit_code_propagates() {
    let f = Sandboxed::new("sandbox-exit");
    assert_eq!(f.sh("exit 42").code, 42);
    let out = f.run(&[], &["/no/such/program"]);
    assert_eq!(out.code, 127, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("no such file or directory"), "{out:?}");
}

/// A command that cannot be started exits as in a shell (and under Docker
/// and podman): 127 when it does not exist, 126 when it is not executable,
/// with one line naming it, with and without `--init`.
#[test]
fn missing_or_unexecutable_command_exits_127_or_126() {
    let f = Sandboxed::new("sandbox-exec-codes");
    let dir = host_dir("sandbox-exec-codes");
    let plain = dir.join("plain");
    std::fs::write(&plain, "echo hi\n").unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Executable bits but no format the kernel knows (no #!): ENOEXEC
    // from execve itself, after start.
    let garbage = dir.join("garbage");
    std::fs::write(&garbage, [0u8, 1, 2, 3]).unwrap();
    std::fs::set_permissions(&garbage, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (plain, garbage) = (plain.to_str().unwrap(), garbage.to_str().unwrap());
    let dir_s = dir.path().to_str().unwrap();
    let cases: [(&str, i32, String); 4] = [
        (
            "nosuch-cmd",
            127,
            r#"nsbox: run: exec "nosuch-cmd": no such file or directory"#.into(),
        ),
        (
            plain,
            126,
            format!(r#"nsbox: run: exec "{plain}": permission denied"#),
        ),
        (
            dir_s,
            126,
            format!(r#"nsbox: run: exec "{dir_s}": permission denied"#),
        ),
        (
            garbage,
            126,
            format!(r#"nsbox: exec "{garbage}": Exec format error"#),
        ),
    ];
    for init in [&[][..], &["--init"][..]] {
        for (cmd, code, line) in &cases {
            let out = f.run(init, &[cmd]);
            assert_eq!(out.code, *code, "{init:?} {cmd}: {out:?}");
            assert_eq!(out.stderr, format!("{line}\n"), "{init:?} {cmd}");
            assert_eq!(out.stdout, "", "{out:?}");
        }
    }
}

#[test]
fn rootfs_runs_another_root() {
    let f = Sandboxed::new("sandbox-rootfs");
    let rootfs = f.dir.join("rootfs");
    busybox_rootfs(&rootfs).unwrap();
    let r = rootfs.to_str().unwrap();
    let out = f
        .run(
            &["--rootfs", r],
            &[
                "sh",
                "-c",
                "test -e /usr/bin/cargo || echo other; echo hi > /made; cat /made",
            ],
        )
        .success();
    assert_eq!(out.stdout, "other\nhi\n", "{out:?}");
    assert!(rootfs.join("made").exists());
}

#[test]
fn net_none_has_only_lo_up() {
    let f = Sandboxed::new("sandbox-net");
    let out = f
        .run(
            &["--net", "none"],
            &["sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags"],
        )
        .success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "lo", "{out:?}");
    let flags = u32::from_str_radix(lines[1].trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & libc::IFF_UP as u32, libc::IFF_UP as u32, "{out:?}");
    // The default shares the host's network.
    let host = std::fs::read_dir("/sys/class/net").unwrap().count();
    let out = f.run(&[], &["ls", "/sys/class/net"]).success();
    assert_eq!(out.stdout.split_whitespace().count(), host, "{out:?}");
}

#[test]
fn userns_maps_root_to_the_caller() {
    let f = Sandboxed::new("sandbox-userns");
    let out = f
        .run(&["--userns"], &["cat", "/proc/self/uid_map"])
        .success();
    let fields: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(fields, ["0", "0", "1"], "{out:?}");
}

#[test]
fn bundle_flags_and_sandbox_flags_do_not_mix() {
    let f = Sandboxed::new("sandbox-usage");
    let out = f.run(&["--bundle", "/tmp"], &["true"]);
    assert_eq!(out.code, 2, "{out:?}");
    let out = run(
        NSBOX,
        ["--root", f.root.to_str().unwrap(), "run", "--net", "none"],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
}

#[test]
fn init_reaps_and_passes_signals_on() {
    let f = Sandboxed::new("sandbox-init");
    let out = f
        .run(&["--init"], &["ps", "-e", "-o", "pid=,ppid="])
        .success();
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows, [vec!["1", "0"], vec!["2", "1"]], "{out:?}");
    // sleep has no SIGTERM handler: as PID 1 it would ignore the signal;
    // as init's child it dies of it, and nsbox says so.
    let child = Command::new(NSBOX)
        .args([
            "--root",
            f.root.to_str().unwrap(),
            "run",
            "--init",
            "--",
            "sleep",
            "30",
        ])
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Once sleep runs, init (its parent, nsbox's child) has blocked the
    // signals it passes on, and nsbox forwards since before the clone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !grandchild_named(child.id(), "sleep") {
        assert!(std::time::Instant::now() < deadline, "sleep did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let started = std::time::Instant::now();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// Whether a child of a child of `pid` has `comm` as its name.
fn grandchild_named(pid: u32, comm: &str) -> bool {
    let stat = |p: &str| -> Option<(String, u32)> {
        let s = nsbox_ns::procstat::Stat::read(p.parse().ok()?).ok()??;
        Some((s.comm.to_string_lossy().into_owned(), s.ppid))
    };
    let procs: Vec<(u32, String, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.file_name().into_string().ok()?;
            let (name, ppid) = stat(&p)?;
            Some((p.parse().ok()?, name, ppid))
        })
        .collect();
    procs.iter().any(|(_, name, ppid)| {
        name == comm && procs.iter().any(|(p, _, pp)| p == ppid && *pp == pid)
    })
}

#[test]
fn a_bundle_cannot_ask_for_the_host_root() {
    // An engine may pass annotations from an image or a pod: the ones that
    // bind the host's root are honoured only in bundles nsbox made.
    let f = Sandboxed::new("sandbox-reserved");
    let bundle = f.dir.join("bundle");
    busybox_rootfs(&bundle.join("rootfs")).unwrap();
    let root = f.root.to_str().unwrap();
    run(
        NSBOX,
        ["--root", root, "spec", "--bundle", bundle.to_str().unwrap()],
    )
    .success();
    let path = bundle.join("config.json");
    let mut c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    c["process"]["terminal"] = serde_json::json!(false);
    c["annotations"] = serde_json::json!({"io.github.nsbox.rootfs.host": "ro"});
    std::fs::write(&path, c.to_string()).unwrap();
    let id = format!("reserved-{}", std::process::id());
    let out = run(
        NSBOX,
        [
            "--root",
            root,
            "run",
            "--bundle",
            bundle.to_str().unwrap(),
            &id,
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains(r#"annotations."io.github.nsbox.rootfs.host": reserved"#),
        "{out:?}"
    );
}

#[test]
fn unprivileged_caller_gets_a_user_namespace() {
    let f = Sandboxed::new("sandbox-rootless");
    const UID: u32 = 1000;
    // Everything the unprivileged caller is given lies in the test's own
    // directory, open to it, not in the checkout (or a target dir) that a
    // 0700 /root may hide: the state root and a copy of nsbox.
    std::fs::set_permissions(f.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(&f.root).unwrap();
    chown(&f.root, Some(UID), Some(UID)).unwrap();
    let nsbox = f.dir.join("nsbox");
    std::fs::copy(NSBOX, &nsbox).unwrap();
    std::fs::set_permissions(&nsbox, std::fs::Permissions::from_mode(0o755)).unwrap();
    let uid = UID.to_string();
    let root = f.root.to_str().unwrap();
    let out = run(
        "setpriv",
        [
            "--reuid",
            &uid,
            "--regid",
            &uid,
            "--clear-groups",
            nsbox.to_str().unwrap(),
            "--root",
            root,
            "run",
            "--",
            "sh",
            "-c",
            "cat /proc/self/uid_map; ps -e -o pid= | wc -l",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let fields: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(fields, ["0", "1000", "1", "3"], "{out:?}");
}

/// The cgroup directories of container `id` in every hierarchy.
fn cgroups_of(id: &str) -> Vec<String> {
    let out = run("find", ["/sys/fs/cgroup", "-name", &format!("*{id}*")]);
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn memory_limit_oom_kills_and_leaves_no_cgroup() {
    let f = Sandboxed::new("sandbox-mem");
    let out = f.run(
        &["--memory", "32m"],
        &[
            "sh",
            "-c",
            "hostname; exec dd if=/dev/zero of=/dev/null bs=64M count=1",
        ],
    );
    assert_eq!(out.code, 137, "64 MiB under 32m is OOM-killed: {out:?}");
    let id = out.stdout.trim();
    assert!(id.starts_with("nsbox-"), "{out:?}");
    assert_eq!(cgroups_of(id), Vec::<String>::new(), "cgroup left");
    f.run(
        &["--memory", "32m"],
        &["dd", "if=/dev/zero", "of=/dev/null", "bs=8M", "count=1"],
    )
    .success();
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    let f = Sandboxed::new("sandbox-pids");
    let out = f.run(
        &["--pids-limit", "10"],
        &[
            "sh",
            "-c",
            "hostname; for i in $(seq 20); do sleep 5 & done; echo all forked",
        ],
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("all forked"), "{out:?}");
    assert!(out.stderr.contains("fork"), "{out:?}");
    let id = out.stdout.lines().next().unwrap_or_default();
    assert_eq!(cgroups_of(id), Vec::<String>::new(), "cgroup left");
    // Unlimited again with -1 (docker's word for none).
    f.run(
        &["--pids-limit", "-1"],
        &["sh", "-c", "for i in $(seq 20); do sleep 1 & done; wait"],
    )
    .success();
}

#[test]
fn cpus_half_a_core() {
    let f = Sandboxed::new("sandbox-cpus");
    // The busy loop's own utime+stime (clock ticks) after 2 s of wall time.
    let script = "(while :; do :; done) & p=$!; sleep 2; \
                  cut -d' ' -f14,15 /proc/$p/stat; kill $p";
    let out = f.run(&["--cpus", "0.5"], &["sh", "-c", script]).success();
    let ticks: u64 = out
        .stdout
        .split_whitespace()
        .map(|t| t.parse::<u64>().unwrap())
        .sum();
    // SAFETY: sysconf only reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cores = ticks as f64 / hz / 2.0;
    assert!((0.3..=0.7).contains(&cores), "{cores} cores used: {out:?}");
}

#[test]
fn cpuset_env_cwd_hostname_seen_inside() {
    let f = Sandboxed::new("sandbox-proc");
    let out = f
        .run(
            &[
                "--cpuset-cpus",
                "0",
                "-e",
                "GREETING=hello world",
                "--env",
                "EMPTY=",
                "-w",
                "/tmp/work",
                "--hostname",
                "box-1",
            ],
            &[
                "sh",
                "-c",
                "grep Cpus_allowed_list /proc/self/status | cut -f2; \
                 echo \"$GREETING|$EMPTY|\"; pwd; hostname",
            ],
        )
        .success();
    assert_eq!(
        out.stdout, "0\nhello world||\n/tmp/work\nbox-1\n",
        "{out:?}"
    );
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let f = Sandboxed::new("sandbox-badflags");
    for args in [
        ["--memory", "lots"],
        ["--memory", "1k"],
        ["--cpus", "0"],
        ["--cpus", "4096"],
        ["--pids-limit", "x"],
        ["--cpuset-cpus", "4095"],
        ["--cpuset-cpus", "1-0"],
        ["-e", "=x"],
        ["-w", "relative"],
        ["--hostname", "a b"],
    ] {
        let out = f.run(&args, &["true"]);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("nsbox: "), "{args:?}: {out:?}");
    }
    // Only with a command.
    let out = run(
        NSBOX,
        [
            "--root",
            f.root.to_str().unwrap(),
            "run",
            "--memory",
            "64m",
            "x",
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
}

/// Called from a directory under /tmp (which the command gets fresh and
/// empty), the command starts in `/` and its /tmp stays empty.
#[test]
fn caller_cwd_under_tmp_falls_back_to_root() {
    let f = Sandboxed::new("sandbox-cwd");
    let out = Command::new(NSBOX)
        .args([
            "--root",
            f.root.to_str().unwrap(),
            "run",
            "--",
            "sh",
            "-c",
            "pwd; ls -A /tmp | wc -l",
        ])
        .current_dir(f.dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout, "/\n0\n", "{out:?}");
}

// Where the command starts: the caller's working directory when the
// command can enter it inside, else `/` (it does not exist there, or the
// caller may not enter it), as `docker run` starts in `/`; an explicit
// `-w DIR` that cannot be made still fails.

/// A directory on the host's root that the command sees inside: not
/// under /tmp (the command gets a fresh one), wherever the checkout is.
fn host_dir(tag: &str) -> TempDir {
    let dir = TempDir::new_in(Path::new("/var/tmp"), tag);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn caller_cwd_is_kept_when_it_exists_inside() {
    let b = Sandboxed::new("sandbox-cwd-kept");
    let here = host_dir("kept");
    let out = b.pwd(&[], &[], here.path());
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout.trim_end(),
        here.path().to_str().unwrap(),
        "{out:?}"
    );
}

#[test]
fn cwd_missing_in_the_rootfs_starts_in_root() {
    let b = Sandboxed::new("sandbox-cwd-rootfs");
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
    let b = Sandboxed::new("sandbox-cwd-locked");
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
}

/// `-w DIR` is not a wish: one that cannot be made (the host's root is
/// read-only) fails, in one line naming it.
#[test]
fn explicit_workdir_that_cannot_be_made_fails() {
    let b = Sandboxed::new("sandbox-cwd-explicit");
    let missing = format!("/nonexistent-nsbox-{}", std::process::id());
    let out = b.pwd(&[], &["-w", &missing], Path::new("/"));
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.starts_with("nsbox: run pwd: "), "{out:?}");
    assert!(out.stderr.contains(&missing), "{out:?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    assert!(!Path::new(&missing).exists());
}

/// An ordinary user without XDG_RUNTIME_DIR (after `su`, in cron, a CI
/// job): one line saying what to set, not a permission error on /run;
/// with it set to a directory of theirs, the run works there and leaves
/// nothing but the seccomp cache.
#[test]
fn an_unprivileged_user_gets_a_state_directory_or_told_what_to_set() {
    nsbox_testutil::require_root();
    let uid = "54321";
    let as_user = |xdg: Option<&Path>, args: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid", uid, "--regid", uid, "--clear-groups", NSBOX])
            .args(args)
            .env_remove("XDG_RUNTIME_DIR")
            .current_dir("/");
        if let Some(dir) = xdg {
            cmd.env("XDG_RUNTIME_DIR", dir);
        }
        let out = cmd.output().unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    let out = as_user(None, &["run", "--", "id", "-u"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "nsbox: run id: no directory for container state: XDG_RUNTIME_DIR is not set and \
             /run/user/{uid} is missing or not yours; set XDG_RUNTIME_DIR to a directory of your \
             own, or give --root DIR\n"
        )
    );
    let dir = TempDir::new("xdg-runtime");
    let xdg = dir.join("run");
    std::fs::create_dir(&xdg).unwrap();
    chown(&xdg, Some(54321), Some(54321)).unwrap();
    std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = as_user(Some(&xdg), &["run", "--", "id", "-u"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "0\n", "root inside its user namespace");
    // limits where the user may make no cgroup: what would make it work
    let out = as_user(Some(&xdg), &["run", "-m", "64m", "--", "true"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(
            ": resource limits need a cgroup this user may create: a cgroup v2 subtree \
             delegated to the user"
        ),
        "{out:?}"
    );
    assert!(xdg.join("nsbox").is_dir(), "state under XDG_RUNTIME_DIR");
    let left = nsbox_testutil::state_left(&xdg.join("nsbox"));
    assert!(left.is_empty(), "{left:?}");
}

/// Without root, `--net bridge` and `--net cni:NAME` (which make links and
/// rules in the host's network) are refused in one line naming what works
/// (--net pasta first), leaving nothing; a named container with `--net
/// host` shares the caller's network (its default without root, pasta, is
/// sandbox_pasta.rs's).
#[test]
fn an_unprivileged_user_is_told_what_network_works() {
    nsbox_testutil::require_root();
    let uid = "54322";
    let dir = TempDir::new("xdg-net");
    let xdg = dir.join("run");
    std::fs::create_dir(&xdg).unwrap();
    chown(&xdg, Some(54322), Some(54322)).unwrap();
    std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o700)).unwrap();
    let as_user = |args: &[&str]| {
        let out = Command::new("setpriv")
            .args(["--reuid", uid, "--regid", uid, "--clear-groups", NSBOX])
            .args(args)
            .env("XDG_RUNTIME_DIR", &xdg)
            .current_dir("/")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    for (net, said) in [("bridge", "bridge"), ("cni:mynet", "cni:NAME")] {
        let out = as_user(&["run", "--net", net, "--", "true"]);
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(
            out.stderr,
            format!(
                "nsbox: run true: --net {said} needs root (it makes links, addresses and firewall \
                 rules in the host's network); without root use --net pasta (a network of its own, \
                 with -p; the default for a named container), host, none, container:NAME or \
                 ns:PATH\n"
            )
        );
    }
    let out = as_user(&[
        "run",
        "--name",
        "web",
        "--net",
        "host",
        "--",
        "cat",
        "/proc/net/dev",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let host = std::fs::read_to_string("/proc/net/dev").unwrap();
    let devices = |t: &str| -> Vec<String> {
        t.lines()
            .skip(2)
            .filter_map(|l| Some(l.split_once(':')?.0.trim().to_string()))
            .collect()
    };
    assert_eq!(devices(&out.stdout), devices(&host), "the caller's network");
    assert!(xdg.join("nsbox").is_dir(), "state under XDG_RUNTIME_DIR");
    let left = nsbox_testutil::state_left(&xdg.join("nsbox"));
    assert!(left.is_empty(), "{left:?}");
}

/// A user with a range in /etc/subuid and /etc/subgid gets it mapped
/// (root inside is the user; 1..N the range, through newuidmap and
/// newgidmap), so `chown` to another id works inside, as in podman's
/// rootless containers.
#[test]
fn an_unprivileged_user_with_subordinate_ids_gets_them_mapped() {
    nsbox_testutil::require_root();
    let (uid, start) = ("65534", "700000"); // nobody: a user newuidmap knows
    let _subids = nsbox_testutil::SubIds::add(&format!("nobody:{start}:65536"));
    let dir = TempDir::new("xdg-subid");
    let xdg = dir.join("run");
    std::fs::create_dir(&xdg).unwrap();
    chown(&xdg, Some(65534), Some(65534)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid", uid, "--regid", uid, "--clear-groups", NSBOX, "run", "--", "sh", "-c"])
        .arg("cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/f; chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f")
        .env("XDG_RUNTIME_DIR", &xdg)
        .current_dir("/")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let maps: Vec<Vec<&str>> = stdout
        .lines()
        .take(4)
        .map(|l| l.split_whitespace().collect())
        .collect();
    for m in [&maps[0..2], &maps[2..4]] {
        assert_eq!(m[0], ["0", uid, "1"], "{stdout}");
        assert_eq!(m[1], ["1", start, "65536"], "{stdout}");
    }
    assert_eq!(stdout.lines().last(), Some("1000:1000"), "{stdout}");

    // a `spec --rootless` bundle gets the same maps, and runs as the user
    let bundle = dir.join("bundle");
    busybox_rootfs(&bundle.join("rootfs")).unwrap();
    chown(&bundle, Some(65534), Some(65534)).unwrap();
    let as_nobody = |args: &[&str], cwd: &Path| {
        let out = Command::new("setpriv")
            .args(["--reuid", uid, "--regid", uid, "--clear-groups", NSBOX])
            .args(args)
            .env("XDG_RUNTIME_DIR", &xdg)
            .current_dir(cwd)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    as_nobody(&["spec", "--rootless"], &bundle);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    for key in ["uidMappings", "gidMappings"] {
        let m = &config["linux"][key];
        assert_eq!(m[0]["hostID"], 65534, "{m}");
        assert_eq!(
            (m[1]["containerID"].as_u64(), m[1]["hostID"].as_u64()),
            (Some(1), Some(700000)),
            "{m}"
        );
    }
    let mut config = config;
    config["process"]["args"] = serde_json::json!(["cat", "/proc/self/uid_map"]);
    config["process"]["terminal"] = serde_json::json!(false);
    std::fs::write(bundle.join("config.json"), config.to_string()).unwrap();
    let id = format!("subid-{}", std::process::id());
    let maps = as_nobody(
        &["run", "--bundle", bundle.to_str().unwrap(), &id],
        Path::new("/"),
    );
    assert_eq!(maps.lines().count(), 2, "{maps}");
    assert!(maps.lines().nth(1).unwrap().contains("700000"), "{maps}");
}
