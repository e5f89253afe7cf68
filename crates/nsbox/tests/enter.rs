//! `nsbox enter` against the real kernel, as root: targets are made with
//! util-linux `unshare` (or `ip netns`) and checked by what a program run
//! inside sees. Every target is killed by a Drop guard.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nsbox_testutil::{busybox_rootfs, require_root, run, Output, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

fn nsbox<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    run(NSBOX, args)
}

/// Asserts a failure printed exactly one line and returns it.
fn one_line_error(out: &Output, code: i32) -> String {
    assert_eq!(out.code, code, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    out.stderr.trim_end().to_string()
}

/// A process in namespaces made by util-linux `unshare`: `pid` is the
/// `sleep` that the command ends in, found among unshare's descendants
/// (unshare -f forks). Killed, with unshare, on drop.
struct Target {
    outer: Child,
    pid: u32,
}

impl Target {
    /// `unshare ARGS sh -c 'SETUP; exec sleep 1000'`.
    fn unshare(args: &[&str], setup: &str) -> Target {
        let mut cmd = Command::new("unshare");
        cmd.args(args)
            .args(["sh", "-c", &format!("{setup}\nexec sleep 1000")]);
        Target::start(cmd)
    }

    fn start(mut cmd: Command) -> Target {
        let mut outer = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start unshare");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(pid) = find_sleep(outer.id()) {
                return Target { outer, pid };
            }
            if let Some(status) = outer.try_wait().unwrap() {
                let out = outer.wait_with_output().unwrap();
                panic!(
                    "target {cmd:?} ended early ({status}): {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(
                Instant::now() < deadline,
                "target {cmd:?} never got to sleep"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pid(&self) -> String {
        self.pid.to_string()
    }

    /// `readlink /proc/PID/ns/KIND`, e.g. `net:[4026532177]`.
    fn ns(&self, kind: &str) -> String {
        ns_link(&format!("/proc/{}/ns/{kind}", self.pid))
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // SAFETY: kill has no memory-safety preconditions; the pid is our
        // descendant, still unreaped, so it cannot have been reused.
        unsafe { libc::kill(self.pid as i32, libc::SIGKILL) };
        let _ = self.outer.kill();
        let _ = self.outer.wait();
    }
}

fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The first process named `sleep` at or below `root`.
fn find_sleep(root: u32) -> Option<u32> {
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        if comm(pid) == "sleep" {
            return Some(pid);
        }
        let children =
            fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        stack.extend(
            children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok()),
        );
    }
    None
}

fn ns_link(path: &str) -> String {
    fs::read_link(path)
        .unwrap_or_else(|e| panic!("readlink {path}: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// Interface names in a `/proc/net/dev` dump (after its two header lines).
fn interfaces(dump: &str) -> Vec<String> {
    dump.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(name, _)| name.trim().to_string())
        .filter(|name| !name.contains('|') && !name.is_empty())
        .collect()
}

/// A network namespace made by `ip netns add`, deleted on drop.
struct Netns(String);

impl Netns {
    fn add(tag: &str) -> Netns {
        let name = format!("nsbox-enter-{tag}-{}", std::process::id());
        run("ip", ["netns", "add", &name]).success();
        Netns(name)
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        run("ip", ["netns", "del", &self.0]);
    }
}

/// Prints the net namespace and the interfaces a program inside sees.
const SHOW_NET: &str = "readlink /proc/self/ns/net; cat /proc/net/dev";

fn check_only_lo(out: &Output, expected_ns: &str) {
    let out = out.clone().success();
    let (first, rest) = out.stdout.split_once('\n').unwrap();
    assert_eq!(first, expected_ns, "{out:?}");
    assert_eq!(interfaces(rest), ["lo"], "{out:?}");
}

#[test]
fn uts_of_target_shows_its_hostname() {
    require_root();
    let t = Target::unshare(&["-u"], "hostname nsbox-enter-uts");
    let out = nsbox(["enter", "-t", &t.pid(), "-u", "hostname"]).success();
    assert_eq!(out.stdout, "nsbox-enter-uts\n");
    let out = nsbox(["enter", "-t", &t.pid(), "--uts", "--", "hostname"]).success();
    assert_eq!(out.stdout, "nsbox-enter-uts\n");
    assert_ne!(
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        "nsbox-enter-uts\n"
    );
}

#[test]
fn net_by_target_sees_only_lo() {
    require_root();
    let t = Target::unshare(&["-n"], "");
    let out = nsbox(["enter", "-t", &t.pid(), "-n", "sh", "-c", SHOW_NET]);
    check_only_lo(&out, &t.ns("net"));
}

#[test]
fn net_by_ip_netns_file() {
    require_root();
    let netns = Netns::add("file");
    let ino = fs::metadata(netns.path()).unwrap().ino();
    let flag = format!("--net={}", netns.path());
    let out = nsbox(["enter", &flag, "sh", "-c", SHOW_NET]);
    check_only_lo(&out, &format!("net:[{ino}]"));
    // The short form takes its file after '='.
    let flag = format!("-n={}", netns.path());
    let out = nsbox(["enter", &flag, "sh", "-c", SHOW_NET]);
    check_only_lo(&out, &format!("net:[{ino}]"));
}

#[test]
fn net_by_file_kept_by_unshare() {
    require_root();
    let dir = TempDir::new("enter-keep");
    let file = dir.join("net");
    fs::write(&file, "").unwrap();
    let keep = format!("--net={}", file.display());
    run("unshare", [keep.as_str(), "true"]).success();
    let ino = fs::metadata(&file).unwrap().ino();
    let out = nsbox(["enter", &keep, "sh", "-c", SHOW_NET]);
    check_only_lo(&out, &format!("net:[{ino}]"));
}

/// The seeds' debugging trick: a container's uts, ipc and net namespaces
/// but the host's mount namespace, so the host's tools and files are used.
#[test]
fn debugging_trick_keeps_the_host_mount_namespace() {
    require_root();
    let dir = TempDir::new("enter-dbg");
    fs::write(dir.join("host-only"), "on the host\n").unwrap();
    // The target hides the directory under a tmpfs in its own mount namespace.
    let setup = format!(
        "mount -t tmpfs tmpfs {} && hostname nsbox-enter-dbg",
        dir.path().display()
    );
    let t = Target::unshare(&["-m", "-u", "-i", "-n"], &setup);
    let host_file = dir.join("host-only");
    let script = format!(
        "hostname; cat {}; readlink /proc/self/ns/mnt /proc/self/ns/ipc; cat /proc/net/dev",
        host_file.display()
    );
    let out = nsbox([
        "enter",
        "-t",
        &t.pid(),
        "--uts",
        "--ipc",
        "--net",
        "sh",
        "-c",
        &script,
    ])
    .success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "nsbox-enter-dbg", "{out:?}");
    assert_eq!(lines[1], "on the host", "{out:?}");
    assert_eq!(lines[2], ns_link("/proc/self/ns/mnt"), "{out:?}");
    assert_eq!(lines[3], t.ns("ipc"), "{out:?}");
    assert_eq!(interfaces(&lines[4..].join("\n")), ["lo"], "{out:?}");
    // Entering its mount namespace too hides the host's file.
    let out = nsbox([
        "enter",
        "-t",
        &t.pid(),
        "-m",
        "test",
        "-e",
        host_file.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn pid_namespace_of_a_mount_proc_target() {
    require_root();
    let t = Target::unshare(&["-f", "-p", "-m", "--mount-proc"], "");
    // With its mount namespace the target's /proc is seen: its sleep is pid 1.
    let out = nsbox([
        "enter",
        "-t",
        &t.pid(),
        "-p",
        "-m",
        "sh",
        "-c",
        "cat /proc/1/comm; readlink /proc/self/ns/pid",
    ])
    .success();
    assert_eq!(out.stdout, format!("sleep\n{}\n", t.ns("pid")));
    // With the host's /proc, NSpid shows the pid in both namespaces.
    let out = nsbox([
        "enter",
        "-t",
        &t.pid(),
        "-p",
        "grep",
        "NSpid",
        "/proc/self/status",
    ])
    .success();
    assert_eq!(out.stdout.split_whitespace().count(), 3, "{out:?}");
}

/// Runs nsbox with `args` and returns (nsbox's pid, its output).
fn nsbox_with_pid(args: &[&str]) -> (u32, Output) {
    let child = Command::new(NSBOX)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let out = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (pid, out)
}

#[test]
fn no_fork_runs_the_program_outside_the_pid_namespace() {
    require_root();
    let t = Target::unshare(&["-f", "-p", "--mount-proc", "-m"], "");
    let pid = t.pid();
    let script = "echo $$; readlink /proc/$$/ns/pid; readlink /proc/self/ns/pid";
    // -F: the program is nsbox's own process, outside; its children are inside.
    let (nsbox_pid, out) = nsbox_with_pid(&["enter", "-t", &pid, "-p", "-F", "sh", "-c", script]);
    let out = out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], nsbox_pid.to_string(), "{out:?}");
    assert_eq!(lines[1], ns_link("/proc/self/ns/pid"), "{out:?}");
    assert_eq!(lines[2], t.ns("pid"), "{out:?}");
    // Without -F nsbox forks, and the program itself is inside.
    let (nsbox_pid, out) = nsbox_with_pid(&["enter", "-t", &pid, "-p", "sh", "-c", script]);
    let out = out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_ne!(lines[0], nsbox_pid.to_string(), "{out:?}");
    assert_eq!(lines[2], t.ns("pid"), "{out:?}");
}

#[test]
fn all_enters_every_namespace_that_differs() {
    require_root();
    let t = Target::unshare(
        &["-f", "-p", "-m", "-u", "-i", "-n", "-C", "--mount-proc"],
        "hostname nsbox-enter-all",
    );
    let kinds = ["mnt", "uts", "ipc", "net", "pid", "cgroup", "user"];
    let script = format!(
        "hostname; for k in {}; do readlink /proc/self/ns/$k; done",
        kinds.join(" ")
    );
    let mut expected = String::from("nsbox-enter-all\n");
    for k in kinds {
        expected += &t.ns(k);
        expected.push('\n');
    }
    let out = nsbox(["enter", "-t", &t.pid(), "-a", "sh", "-c", &script]).success();
    assert_eq!(out.stdout, expected);
    // -t alone means the same.
    let out = nsbox(["enter", "-t", &t.pid(), "sh", "-c", &script]).success();
    assert_eq!(out.stdout, expected);
}

#[test]
fn root_and_wd_of_a_chrooted_target() {
    require_root();
    let dir = TempDir::new("enter-root");
    let root = dir.join("root");
    busybox_rootfs(&root).unwrap();
    fs::create_dir(root.join("work")).unwrap();
    fs::write(root.join("rootfs-marker"), "").unwrap();
    let root_s = root.to_str().unwrap();
    // util-linux unshare -R chroots: the mount namespace's root stays the host's.
    let t = Target::unshare(
        &[
            "-f",
            "-p",
            "-m",
            "--mount-proc",
            "-R",
            root_s,
            "-w",
            "/work",
        ],
        "",
    );
    let pid = t.pid();
    let script = "pwd; cat /etc/hostname; test -x /bin/busybox && echo busybox-inside";
    let out = nsbox([
        "enter", "-t", &pid, "-m", "-p", "-r", "-w", "sh", "-c", script,
    ])
    .success();
    assert_eq!(out.stdout, "/work\nbusybox\nbusybox-inside\n");
    // -r alone starts at the new root's /; -W names a directory inside it.
    let out = nsbox(["enter", "-t", &pid, "-m", "-r", "pwd"]).success();
    assert_eq!(out.stdout, "/\n");
    let out = nsbox(["enter", "-t", &pid, "-m", "-r", "-W", "/work", "pwd"]).success();
    assert_eq!(out.stdout, "/work\n");
    // Without -r the chroot is not followed.
    let out = nsbox(["enter", "-t", &pid, "-m", "test", "-e", "/rootfs-marker"]);
    assert_eq!(out.code, 1, "{out:?}");
    let out = nsbox([
        "enter",
        "-t",
        &pid,
        "-m",
        "-r",
        "test",
        "-e",
        "/rootfs-marker",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    // Explicit directories are resolved before entering.
    let mnt = format!("--mount=/proc/{pid}/ns/mnt");
    let r = format!("-r={root_s}");
    let w = format!("-w={root_s}/work");
    let out = nsbox(["enter", &mnt, &r, &w, "pwd"]).success();
    assert_eq!(out.stdout, "/work\n");
    // The default shell is $SHELL, or /bin/sh when the new root lacks it,
    // run as a login shell as nsenter does.
    let mut child = Command::new(NSBOX)
        .args(["enter", "-t", &pid, "-m", "-r"])
        .env("SHELL", "/bin/bash-not-in-busybox")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo $0\nexit 0\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "-sh\n");
}

#[test]
fn credentials_in_a_user_namespace() {
    require_root();
    let t = Target::unshare(&["-U"], "");
    for map in ["uid_map", "gid_map"] {
        fs::write(format!("/proc/{}/{map}", t.pid), "0 100000 65536\n").unwrap();
    }
    let ids = "id -u; id -g; grep ^Groups: /proc/self/status; readlink /proc/self/ns/user";
    let pid = t.pid();
    let user_ns = t.ns("user");
    // Entering a user namespace makes us root there, without groups.
    let out = nsbox(["enter", "-t", &pid, "-U", "sh", "-c", ids]).success();
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert_eq!(lines, ["0", "0", "Groups:", user_ns.as_str()], "{out:?}");
    // -S/-G pick other ids.
    let out = nsbox([
        "enter", "-t", &pid, "-U", "-S", "1000", "-G", "1001", "sh", "-c", ids,
    ])
    .success();
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert_eq!(
        lines,
        ["1000", "1001", "Groups:", user_ns.as_str()],
        "{out:?}"
    );
    // --preserve-credentials keeps host root, which has no mapping there.
    let out = nsbox([
        "enter",
        "-t",
        &pid,
        "-U",
        "--preserve-credentials",
        "id",
        "-u",
    ])
    .success();
    assert_eq!(out.stdout, "65534\n");
    // An id outside the map is refused, naming the step.
    let out = nsbox(["enter", "-t", &pid, "-U", "-S", "70000", "true"]);
    let line = one_line_error(&out, 1);
    assert_eq!(line, "nsbox: enter: setuid 70000: Invalid argument");
}

#[test]
fn time_namespace_offsets_are_seen() {
    require_root();
    let t = Target::unshare(&["-f", "-T", "--boottime", "100000000"], "");
    let uptime = |out: &Output| -> f64 {
        out.stdout
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let inside = nsbox(["enter", "-t", &t.pid(), "-T", "cat", "/proc/uptime"]).success();
    assert!(uptime(&inside) > 100_000_000.0, "{inside:?}");
    let outside = run("cat", ["/proc/uptime"]).success();
    assert!(uptime(&outside) < 100_000_000.0, "{outside:?}");
}

#[test]
fn target_environment_with_env_flag() {
    require_root();
    let mut cmd = Command::new("unshare");
    cmd.args(["-u", "sleep", "1000"])
        .env("NSBOX_ENTER_ENV", "from-target");
    let t = Target::start(cmd);
    let script = "echo \"[$NSBOX_ENTER_ENV]\"";
    let out = nsbox(["enter", "-t", &t.pid(), "-u", "-e", "sh", "-c", script]).success();
    assert_eq!(out.stdout, "[from-target]\n");
    let out = nsbox(["enter", "-t", &t.pid(), "-u", "sh", "-c", script]).success();
    assert_eq!(out.stdout, "[]\n");
}

#[test]
fn signals_are_forwarded_and_status_returned() {
    require_root();
    let t = Target::unshare(&["-f", "-p", "--mount-proc", "-m"], "");
    let out = nsbox(["enter", "-t", &t.pid(), "-p", "sh", "-c", "exit 7"]);
    assert_eq!(out.code, 7, "{out:?}");
    let out = nsbox(["enter", "-t", &t.pid(), "-p", "sh", "-c", "kill -KILL $$"]);
    assert_eq!(out.code, 128 + 9, "{out:?}");
    // SIGTERM sent to nsbox reaches the program inside the PID namespace.
    let mut child = Command::new(NSBOX)
        .args(["enter", "-t", &t.pid(), "-p", "sleep", "1000"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let inner = loop {
        let children = fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id()))
            .unwrap_or_default();
        if let Some(inner) = children.split_whitespace().next() {
            let inner: u32 = inner.parse().unwrap();
            if comm(inner) == "sleep" {
                break inner;
            }
        }
        assert!(Instant::now() < deadline, "the program never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: kill has no memory-safety preconditions; `child` is unreaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    assert!(!Path::new(&format!("/proc/{inner}")).exists());
}

#[test]
fn missing_and_exited_targets_are_one_line_errors() {
    require_root();
    let out = nsbox(["enter", "-t", "8388608", "-n", "true"]);
    let line = one_line_error(&out, 1);
    assert_eq!(line, "nsbox: enter: process 8388608 does not exist");

    // A zombie: pid still taken, namespaces gone.
    let mut zombie = Command::new("sleep").arg("1000").spawn().unwrap();
    let pid = zombie.id();
    zombie.kill().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !nsbox_ns::procstat::Stat::read(pid)
        .unwrap()
        .unwrap()
        .has_exited()
    {
        assert!(Instant::now() < deadline, "no zombie");
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = nsbox(["enter", "-t", &pid.to_string(), "-n", "true"]);
    zombie.wait().unwrap();
    let line = one_line_error(&out, 1);
    assert_eq!(
        line,
        format!("nsbox: enter: process {pid} exited before its namespaces were opened")
    );
}

#[test]
fn bad_namespace_files_are_one_line_errors() {
    require_root();
    let dir = TempDir::new("enter-bad");
    let plain = dir.join("plain");
    fs::write(&plain, "").unwrap();
    let out = nsbox(["enter", &format!("--net={}", plain.display()), "true"]);
    let line = one_line_error(&out, 1);
    assert_eq!(
        line,
        format!("nsbox: enter: {} is not a namespace file", plain.display())
    );

    let out = nsbox(["enter", "--net=/proc/self/ns/uts", "true"]);
    let line = one_line_error(&out, 1);
    assert_eq!(
        line,
        "nsbox: enter: /proc/self/ns/uts is a uts namespace, not net"
    );

    let missing = dir.join("missing");
    let out = nsbox(["enter", &format!("--uts={}", missing.display()), "true"]);
    let line = one_line_error(&out, 1);
    assert_eq!(
        line,
        format!(
            "nsbox: enter: open {}: No such file or directory",
            missing.display()
        )
    );
}

#[test]
fn usage_errors_exit_2() {
    require_root();
    for (args, message) in [
        (
            &["enter", "true"][..],
            "nothing to enter: give -t PID, or a namespace option with =FILE",
        ),
        (
            &["enter", "-n", "true"][..],
            "--net needs a FILE or a target process (-t PID)",
        ),
        (
            &["enter", "-a", "true"][..],
            "--all needs a target process (-t PID)",
        ),
        (
            &["enter", "--uts=/proc/self/ns/uts", "-r", "true"][..],
            "--root needs a target process (-t PID)",
        ),
    ] {
        let out = nsbox(args);
        let line = one_line_error(&out, 2);
        assert!(line.contains(message), "{args:?}: {line}");
        assert!(line.starts_with("nsbox: "), "{line}");
    }
    let out = nsbox(["enter", "-t", "1", "-S", "root", "true"]);
    one_line_error(&out, 2);
}

#[test]
fn program_that_cannot_run_exits_127_or_126() {
    require_root();
    let t = Target::unshare(&["-f", "-p", "--mount-proc", "-m"], "");
    let dir = TempDir::new("enter-noexec");
    let plain = dir.join("not-executable");
    fs::write(&plain, "").unwrap();
    let plain = plain.to_str().unwrap();
    // Without and with the fork a PID namespace brings.
    for ns in ["-u", "-p"] {
        let out = nsbox(["enter", "-t", &t.pid(), ns, "/no/such/program"]);
        let line = one_line_error(&out, 127);
        assert_eq!(
            line,
            "nsbox: enter: exec /no/such/program: No such file or directory"
        );
        let out = nsbox(["enter", "-t", &t.pid(), ns, plain]);
        let line = one_line_error(&out, 126);
        assert_eq!(
            line,
            format!("nsbox: enter: exec {plain}: Permission denied")
        );
    }
}

#[test]
fn lack_of_privilege_names_the_step() {
    require_root();
    let netns = Netns::add("eperm");
    let flag = format!("--net={}", netns.path());
    let mut args: Vec<&str> = AS_NOBODY.to_vec();
    args.extend([NSBOX, "enter", &flag, "true"]);
    let out = run("setpriv", &args);
    let line = one_line_error(&out, 1);
    assert_eq!(
        line,
        format!(
            "nsbox: enter: setns into net namespace {}: Operation not permitted",
            netns.path()
        )
    );
}

/// `setpriv` arguments that make the rest run as nobody, without groups.
const AS_NOBODY: [&str; 3] = ["--reuid=65534", "--regid=65534", "--clear-groups"];

/// A rootless container: an unprivileged user's namespaces, entered by that
/// user. Only after joining the user namespace may it join the others (the
/// second pass), and it cannot call setgroups there (it has no groups).
#[test]
fn unprivileged_user_enters_its_own_namespaces() {
    require_root();
    let mut cmd = Command::new("setpriv");
    cmd.args(AS_NOBODY).args([
        "unshare",
        "-U",
        "-r",
        "-u",
        "-n",
        "sh",
        "-c",
        "hostname nsbox-rootless; exec sleep 1000",
    ]);
    let t = Target::start(cmd);
    let pid = t.pid();
    let script = "hostname; id -u; readlink /proc/self/ns/user; cat /proc/net/dev";
    let mut args: Vec<&str> = AS_NOBODY.to_vec();
    args.extend([NSBOX, "enter", "-t", &pid, "sh", "-c", script]);
    let out = run("setpriv", &args).success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[..3],
        ["nsbox-rootless", "0", &t.ns("user")],
        "{out:?}"
    );
    assert_eq!(interfaces(&lines[3..].join("\n")), ["lo"], "{out:?}");
    // Without its user namespace, the user lacks the privilege.
    let mut args: Vec<&str> = AS_NOBODY.to_vec();
    args.extend([NSBOX, "enter", "-t", &pid, "-u", "true"]);
    let out = run("setpriv", &args);
    let line = one_line_error(&out, 1);
    assert_eq!(
        line,
        format!(
            "nsbox: enter: setns into uts namespace /proc/{pid}/ns/uts: Operation not permitted"
        )
    );
}
