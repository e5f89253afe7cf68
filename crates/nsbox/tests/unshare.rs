//! `nsbox unshare` against the real kernel, as root, checked by effect.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nsbox_testutil::{busybox_rootfs, require_root, run, Output, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

fn nsbox<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    run(
        NSBOX,
        std::iter::once("unshare".into())
            .chain(args.into_iter().map(|a| a.as_ref().to_os_string())),
    )
}

fn spawn(args: &[&str]) -> Child {
    Command::new(NSBOX)
        .arg("unshare")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nsbox")
}

/// Kills and reaps a spawned nsbox if a test fails half-way.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mountinfo_mentions(path: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let p = path.display().to_string();
    info.lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(&p)))
}

fn host_mount(args: &[&str]) {
    run("mount", args).success();
}

/// The one-line error contract: exactly one stderr line, prefixed.
fn assert_one_line(out: &Output, contains: &str) {
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one line: {out:?}");
    assert!(lines[0].starts_with("nsbox: "), "{out:?}");
    assert!(lines[0].contains(contains), "want {contains:?}: {out:?}");
}

#[test]
fn uts_hostname_stays_inside() {
    require_root();
    let host = run("hostname", [""; 0]).success().stdout;
    let out = nsbox(["-u", "sh", "-c", "hostname nsbox-uts-test && hostname"]).success();
    assert_eq!(out.stdout.trim(), "nsbox-uts-test");
    assert_eq!(run("hostname", [""; 0]).success().stdout, host);
}

#[test]
fn net_has_only_loopback() {
    require_root();
    let out = nsbox(["-n", "cat", "/proc/net/dev"]).success();
    let ifaces: Vec<&str> = out
        .stdout
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, ["lo"], "{out:?}");
}

#[test]
fn fork_pid_mount_proc_is_pid_1_and_sees_only_itself() {
    require_root();
    let out = nsbox([
        "-fp",
        "--mount-proc",
        "sh",
        "-c",
        "echo $$; busybox ps -o pid,comm",
    ])
    .success();
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("1"), "{out:?}");
    let pids: Vec<u32> = lines
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(pids.len(), 2, "sh and ps only: {out:?}");
    assert_eq!(pids[0], 1, "{out:?}");
    // The host's /proc is untouched.
    assert!(Path::new(&format!("/proc/{}", std::process::id())).exists());
}

#[test]
fn user_ranges_map_inside_root_to_host_10000() {
    require_root();
    let mut child = Reap(spawn(&[
        "-U",
        "--map-users=0:10000:2000",
        "--map-groups=0:10000:2000",
        "-S",
        "0",
        "-G",
        "0",
        "-f",
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; echo $$; sleep 5",
    ]));
    let mut out = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut next = || out.next().unwrap().unwrap();
    let uid_map: Vec<String> = next().split_whitespace().map(String::from).collect();
    assert_eq!(uid_map, ["0", "10000", "2000"]);
    let gid_map: Vec<String> = next().split_whitespace().map(String::from).collect();
    assert_eq!(gid_map, ["0", "10000", "2000"]);
    assert_eq!(next(), "0");
    let pid = next();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid_line.split_whitespace().nth(1),
        Some("10000"),
        "{uid_line}"
    );
    let gid_line = status.lines().find(|l| l.starts_with("Gid:")).unwrap();
    assert_eq!(gid_line.split_whitespace().nth(1), Some("10000"));
}

#[test]
fn user_ranges_work_without_fork_through_the_helper() {
    require_root();
    let out = nsbox([
        "--map-users=0:10000:2000",
        "--map-groups=0:10000:2000",
        "-S",
        "0",
        "-G",
        "0",
        "sh",
        "-c",
        "cat /proc/self/uid_map; id -u",
    ])
    .success();
    let words: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(words, ["0", "10000", "2000", "0"], "{out:?}");
}

/// A copy of the binary that an unprivileged uid may run.
fn unprivileged_copy(dir: &TempDir) -> PathBuf {
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.join("nsbox");
    std::fs::copy(NSBOX, &bin).unwrap();
    bin
}

#[test]
fn map_root_user_as_uid_10000_is_root_inside_and_10000_outside() {
    require_root();
    let dir = TempDir::new("unshare-r");
    let bin = unprivileged_copy(&dir);
    for fork in [false, true] {
        let mut args = vec![
            "--reuid=10000",
            "--regid=10000",
            "--clear-groups",
            bin.to_str().unwrap(),
            "unshare",
            "-r",
        ];
        if fork {
            args.push("-f");
        }
        args.extend([
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map; echo $$; sleep 5",
        ]);
        let mut child = Reap(
            Command::new("setpriv")
                .args(&args)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut out = BufReader::new(child.0.stdout.take().unwrap()).lines();
        let mut next = || out.next().unwrap().unwrap();
        assert_eq!(next(), "0", "fork={fork}");
        let map: Vec<String> = next().split_whitespace().map(String::from).collect();
        assert_eq!(map, ["0", "10000", "1"], "fork={fork}");
        let pid = next();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert_eq!(uid_line.split_whitespace().nth(1), Some("10000"));
    }
}

#[test]
fn unprivileged_net_fails_with_one_line() {
    require_root();
    let dir = TempDir::new("unshare-eperm");
    let bin = unprivileged_copy(&dir);
    let out = run(
        "setpriv",
        [
            "--reuid=10000",
            "--regid=10000",
            "--clear-groups",
            bin.to_str().unwrap(),
            "unshare",
            "-n",
            "true",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim_end(),
        "nsbox: unshare: unshare net: Operation not permitted"
    );
}

#[test]
fn mount_inside_is_invisible_outside() {
    require_root();
    let dir = TempDir::new("unshare-mnt");
    let target = dir.join("m");
    std::fs::create_dir(&target).unwrap();
    let t = target.to_str().unwrap();
    let out = nsbox([
        "-m",
        "sh",
        "-c",
        &format!("mount -t tmpfs nsbox-test {t} && grep -c ' {t} ' /proc/self/mountinfo"),
    ])
    .success();
    assert_eq!(out.stdout.trim(), "1");
    assert!(!mountinfo_mentions(&target));
}

/// A SysV shared memory segment, removed on drop.
struct Shm(i32);

impl Drop for Shm {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID takes no buffer; a null pointer is allowed.
        unsafe { libc::shmctl(self.0, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

#[test]
fn ipc_object_made_outside_is_invisible_inside() {
    require_root();
    // SAFETY: shmget only creates a segment; no memory is attached.
    let id = unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600) };
    assert!(id >= 0, "shmget: {}", std::io::Error::last_os_error());
    let _shm = Shm(id);
    let ids = |text: &str| -> Vec<String> {
        text.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1).map(String::from))
            .collect()
    };
    let outside = std::fs::read_to_string("/proc/sysvipc/shm").unwrap();
    assert!(ids(&outside).contains(&id.to_string()));
    let inside = nsbox(["-i", "cat", "/proc/sysvipc/shm"]).success();
    assert!(ids(&inside.stdout).is_empty(), "{inside:?}");
}

fn uptime(text: &str) -> f64 {
    text.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn time_offsets_show_inside() {
    require_root();
    for fork in [false, true] {
        let mut args = vec!["--boottime=86400", "--monotonic=1000"];
        if fork {
            args.push("-f");
        }
        args.extend(["sh", "-c", "cat /proc/uptime /proc/self/timens_offsets"]);
        let host = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
        let out = nsbox(&args).success();
        let inside = uptime(&out.stdout);
        assert!(
            inside >= host + 86400.0 && inside < host + 86400.0 + 60.0,
            "host {host}, inside {inside}"
        );
        assert!(out.stdout.contains("monotonic        1000"), "{out:?}");
    }
}

#[test]
fn cgroup_namespace_is_rooted_at_our_cgroup() {
    require_root();
    let out = nsbox(["-C", "cat", "/proc/self/cgroup"]).success();
    assert!(out.stdout.lines().any(|l| l == "0::/"), "{out:?}");
    for line in out.stdout.lines() {
        assert!(line.ends_with(":/"), "every hierarchy at its root: {out:?}");
    }
}

/// Unmounts a persisted namespace file when the test ends.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = run("umount", [&self.0]);
    }
}

#[test]
fn net_file_keeps_the_namespace_for_nsenter() {
    require_root();
    let dir = TempDir::new("unshare-persist");
    let file = dir.join("net");
    let arg = format!("--net={}", file.display());
    let out = nsbox([arg.as_str(), "readlink", "/proc/self/ns/net"]).success();
    let _guard = Unmount(file.clone());
    let inside = out.stdout.trim().to_string();
    assert!(mountinfo_mentions(&file), "bind mount kept");
    let entered = run(
        "nsenter",
        [
            format!("--net={}", file.display()).as_str(),
            "readlink",
            "/proc/self/ns/net",
        ],
    )
    .success();
    assert_eq!(entered.stdout.trim(), inside);
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata(&file).unwrap().ino();
    assert_eq!(inside, format!("net:[{ino}]"));
}

#[test]
fn pid_and_time_files_keep_the_children_namespaces() {
    require_root();
    let dir = TempDir::new("unshare-persist2");
    let pid = dir.join("pid");
    let time = dir.join("time");
    let out = nsbox([
        format!("--pid={}", pid.display()),
        format!("--time={}", time.display()),
        "-f".into(),
        "sh".into(),
        "-c".into(),
        "readlink /proc/self/ns/pid /proc/self/ns/time".into(),
    ])
    .success();
    let _g1 = Unmount(pid.clone());
    let _g2 = Unmount(time.clone());
    use std::os::unix::fs::MetadataExt;
    let want = format!(
        "pid:[{}]\ntime:[{}]\n",
        std::fs::metadata(&pid).unwrap().ino(),
        std::fs::metadata(&time).unwrap().ino()
    );
    assert_eq!(out.stdout, want);
}

#[test]
fn propagation_shared_leaks_out_private_does_not() {
    require_root();
    let dir = TempDir::new("unshare-prop");
    let shared = dir.join("s");
    std::fs::create_dir(&shared).unwrap();
    let s = shared.to_str().unwrap();
    host_mount(&["-t", "tmpfs", "nsbox-prop", s]);
    host_mount(&["--make-shared", s]);
    std::fs::create_dir(shared.join("a")).unwrap();
    std::fs::create_dir(shared.join("b")).unwrap();
    let a = shared.join("a");
    let b = shared.join("b");
    nsbox([
        "-m",
        "--propagation",
        "shared",
        "mount",
        "-t",
        "tmpfs",
        "x",
        a.to_str().unwrap(),
    ])
    .success();
    nsbox(["-m", "mount", "-t", "tmpfs", "x", b.to_str().unwrap()]).success();
    assert!(mountinfo_mentions(&a), "shared: the mount propagated out");
    assert!(!mountinfo_mentions(&b), "private (default): it did not");
}

#[test]
fn init_reaps_orphans_and_is_pid_1() {
    require_root();
    let out = nsbox([
        "-fp",
        "--init",
        "--mount-proc",
        "sh",
        "-c",
        "sh -c 'sleep 0 & sleep 0 &'; sleep 1; ps -o stat=,pid=,comm=",
    ])
    .success();
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows.iter().all(|r| !r[0].starts_with('Z')),
        "zombie: {out:?}"
    );
    let init = rows.iter().find(|r| r[1] == "1").expect("a PID 1");
    assert_eq!(init[2], "nsbox", "{out:?}");
    assert!(rows.iter().any(|r| r[2] == "sh" && r[1] != "1"), "{out:?}");
}

fn wait_line(child: &mut Child, want: &str) {
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), want);
}

#[test]
fn init_passes_sigterm_to_the_command_and_returns_its_code() {
    require_root();
    let dir = TempDir::new("unshare-term");
    let marker = dir.join("marker");
    let script = format!(
        "trap 'echo term > {}; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
        marker.display()
    );
    for init in [true, false] {
        let _ = std::fs::remove_file(&marker);
        let mut args = vec!["-fp"];
        if init {
            args.push("--init");
        }
        args.extend(["sh", "-c", script.as_str()]);
        let mut child = Reap(spawn(&args));
        wait_line(&mut child.0, "ready");
        let pid = rustix::process::Pid::from_raw(child.0.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let status = child.0.wait().unwrap();
        assert_eq!(status.code(), Some(7), "init={init}");
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "term\n");
    }
}

#[test]
fn child_killed_by_signal_is_reported_as_such() {
    require_root();
    let st = Command::new(NSBOX)
        .args(["unshare", "-f", "sh", "-c", "kill -TERM $$"])
        .status()
        .unwrap();
    assert_eq!(st.signal(), Some(libc::SIGTERM));
    let st = Command::new(NSBOX)
        .args(["unshare", "-fp", "--init", "sh", "-c", "kill -TERM $$"])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(128 + libc::SIGTERM));
    assert_eq!(nsbox(["-f", "sh", "-c", "exit 42"]).code, 42);
    assert_eq!(nsbox(["-u", "sh", "-c", "exit 3"]).code, 3);
}

fn proc_state(pid: u32) -> Option<char> {
    let stat = nsbox_ns::procstat::Stat::read(pid).ok()??;
    Some(char::from(stat.state))
}

#[test]
fn kill_child_kills_the_child_when_nsbox_dies() {
    require_root();
    let mut nsb = Reap(spawn(&["--kill-child", "sleep", "30"]));
    let me = nsb.0.id();
    let children = format!("/proc/{me}/task/{me}/children");
    let deadline = Instant::now() + Duration::from_secs(5);
    let child: u32 = loop {
        let text = std::fs::read_to_string(&children).unwrap_or_default();
        if let Some(pid) = text.split_whitespace().next() {
            let pid: u32 = pid.parse().unwrap();
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmd.starts_with(b"sleep\0") {
                break pid;
            }
        }
        assert!(Instant::now() < deadline, "child never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    nsb.0.kill().unwrap();
    nsb.0.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !matches!(proc_state(child), None | Some('Z') | Some('X')) {
        assert!(Instant::now() < deadline, "child {child} survived nsbox");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn root_dir_runs_in_a_busybox_rootfs() {
    require_root();
    let dir = TempDir::new("unshare-root");
    busybox_rootfs(dir.path()).unwrap();
    let out = nsbox([
        "-R",
        dir.path().to_str().unwrap(),
        "-fp",
        "--mount-proc",
        "/bin/sh",
        "-c",
        "echo $$; pwd; cat /etc/hostname; ps -o pid,comm; true",
    ])
    .success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..3], ["1", "/", "busybox"], "{out:?}");
    let procs: Vec<Vec<&str>> = lines[4..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(procs, [["1", "sh"], [procs[1][0], "ps"]], "{out:?}");
    assert!(!mountinfo_mentions(&dir.join("proc")));
}

#[test]
fn errors_are_one_line_with_the_right_code_and_leave_nothing() {
    require_root();
    let dir = TempDir::new("unshare-errors");
    let file = dir.join("netfile");
    let netarg = format!("--net={}", file.display());

    for fork in [None, Some("-f")] {
        let mut args: Vec<&str> = fork.into_iter().collect();
        args.extend([netarg.as_str(), "-R", "/nonexistent-nsbox", "true"]);
        let out = nsbox(&args);
        assert_eq!(out.code, 1, "{out:?}");
        assert_one_line(
            &out,
            "chroot to /nonexistent-nsbox: No such file or directory",
        );
        assert!(!file.exists(), "file nsbox created is removed");
        assert!(!mountinfo_mentions(&file));

        let mut args: Vec<&str> = fork.into_iter().collect();
        args.extend([netarg.as_str(), "-m=/proc/sys/nsbox-no-such", "true"]);
        let out = nsbox(&args);
        assert_eq!(out.code, 1, "{out:?}");
        assert_one_line(
            &out,
            "create /proc/sys/nsbox-no-such to keep the mnt namespace",
        );
        assert!(!file.exists());
        assert!(!mountinfo_mentions(&file));

        let mut args: Vec<&str> = fork.into_iter().collect();
        args.extend([netarg.as_str(), "nsbox-no-such-program"]);
        let out = nsbox(&args);
        assert_eq!(out.code, 127, "{out:?}");
        assert_one_line(
            &out,
            "exec nsbox-no-such-program: No such file or directory",
        );
        assert!(!file.exists());
        assert!(!mountinfo_mentions(&file));
    }

    let ro = dir.join("ro");
    std::fs::create_dir(&ro).unwrap();
    host_mount(&["-t", "tmpfs", "-o", "ro", "nsbox-ro", ro.to_str().unwrap()]);
    let out = nsbox([format!("--uts={}", ro.join("f").display()), "true".into()]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_one_line(&out, "Read-only file system");

    let out = nsbox(["--map-users", "0:10000", "true"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_one_line(&out, "\"0:10000\": expected INSIDE:OUTSIDE:COUNT");

    let out = nsbox(["--map-users=0:1000:10", "--map-users=5:2000:10", "true"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_one_line(&out, "ranges overlap inside the namespace");

    let out = nsbox(["--no-such-flag", "true"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_one_line(&out, "--no-such-flag");

    let out = nsbox(["--init", "true"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_one_line(&out, "--init needs a new PID namespace");
}

#[test]
fn clustered_short_flags_parse_like_util_linux() {
    require_root();
    let out = nsbox(["-fpimnu", "sh", "-c", "echo $$"]).success();
    assert_eq!(out.stdout.trim(), "1");
    // Options after the program belong to the program.
    let out = nsbox(["-u", "echo", "-n", "--net"]).success();
    assert_eq!(out.stdout, "--net");
}

#[test]
fn namespace_limit_names_the_sysctl() {
    require_root();
    // The limits are per user namespace: lower one inside a fresh one.
    let script = format!(
        "echo 0 > /proc/sys/user/max_net_namespaces && {NSBOX} unshare -n true; \
         echo rc=$?; {NSBOX} unshare -f -n true; echo rc=$?"
    );
    let out = nsbox(["-r", "sh", "-c", &script]);
    assert_eq!(out.stdout, "rc=1\nrc=1\n", "{out:?}");
    let want = "nsbox: unshare: create net namespace: limit reached \
                (/proc/sys/user/max_net_namespaces = 0)";
    assert_eq!(out.stderr.lines().collect::<Vec<_>>(), [want, want]);
}

#[test]
fn user_and_mount_files_without_fork_are_bound_by_the_helper() {
    require_root();
    let dir = TempDir::new("unshare-helper");
    let user = dir.join("user");
    let mnt = dir.join("mnt");
    let out = nsbox([
        format!("--user={}", user.display()),
        format!("--mount={}", mnt.display()),
        "-r".into(),
        "readlink".into(),
        "/proc/self/ns/user".into(),
        "/proc/self/ns/mnt".into(),
    ])
    .success();
    let _g1 = Unmount(mnt.clone());
    let _g2 = Unmount(user.clone());
    use std::os::unix::fs::MetadataExt;
    let want = format!(
        "user:[{}]\nmnt:[{}]\n",
        std::fs::metadata(&user).unwrap().ino(),
        std::fs::metadata(&mnt).unwrap().ino()
    );
    assert_eq!(out.stdout, want);
    // The kept user namespace has the map -r wrote.
    let entered = run(
        "nsenter",
        [
            format!("--user={}", user.display()).as_str(),
            "cat",
            "/proc/self/uid_map",
        ],
    )
    .success();
    let map: Vec<&str> = entered.stdout.split_whitespace().collect();
    assert_eq!(map, ["0", "0", "1"]);
}
