//! The long-lived nsbox processes (issue 12): a foreground `nsbox run`
//! waiting for its container and an `events` stream survive what their
//! child does: being stopped and continued, dying of a signal, leaving
//! zombies behind as PID 1, and the loss of the terminal `run` was started
//! from. In each case the caller gets the container's real status and no
//! container, cgroup or process is left.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nsbox_testutil::{run, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

/// A state root of the test's own; drop removes what is left in it.
struct Root {
    dir: TempDir,
    name: String,
}

impl Root {
    fn new(tag: &str) -> Root {
        nsbox_testutil::require_root();
        Root {
            dir: TempDir::new(tag),
            name: format!("{tag}-{}", std::process::id()),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// `nsbox --root R run --name NAME --net none -- CMD`, stdio to files.
    fn spawn_run(&self, cmd: &[&str]) -> Child {
        let out = std::fs::File::create(self.dir.join("run.out")).unwrap();
        Command::new(NSBOX)
            .arg("--root")
            .arg(self.path())
            .args(["run", "--name", &self.name, "--net", "none", "--"])
            .args(cmd)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap()
    }

    /// The container's pid (its PID 1 on the host), once it runs `comm`.
    fn container_pid(&self, comm: &str) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let list = run(
                NSBOX,
                [
                    "--root",
                    self.path().to_str().unwrap(),
                    "list",
                    "-f",
                    "json",
                ],
            );
            let v: serde_json::Value = serde_json::from_str(&list.stdout).unwrap_or_default();
            let pid = v
                .as_array()
                .and_then(|a| a.iter().find(|c| c["id"] == self.name.as_str()))
                .and_then(|c| c["pid"].as_u64())
                .filter(|&p| p > 0)
                .map(|p| p as u32);
            if let Some(pid) = pid {
                let now = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if now.trim() == comm {
                    return pid;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} did not start {comm}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Nothing of the container left: not in `list`, no cgroup, no state.
    fn assert_gone(&self) {
        let list = run(
            NSBOX,
            ["--root", self.path().to_str().unwrap(), "list", "-q"],
        );
        assert!(!list.stdout.contains(&self.name), "still listed: {list:?}");
        assert!(!self.path().join(&self.name).exists(), "state left");
        let found = run(
            "find",
            [
                "/sys/fs/cgroup",
                "-type",
                "d",
                "-name",
                &format!("nsbox-{}", self.name),
            ],
        );
        assert_eq!(found.stdout, "", "cgroup left");
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("run.out")).unwrap_or_default()
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = run(
            NSBOX,
            [
                "--root",
                self.path().to_str().unwrap(),
                "rm",
                "-f",
                &self.name,
            ],
        );
    }
}

fn signal(pid: u32, sig: rustix::process::Signal) {
    rustix::process::kill_process(rustix::process::Pid::from_raw(pid as i32).unwrap(), sig)
        .unwrap();
}

/// Waits up to 20 s for `child` to end.
fn wait(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("nsbox run did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_stopped_container_is_not_taken_for_an_ended_one() {
    let root = Root::new("sv-stop");
    let mut child = root.spawn_run(&["sh", "-c", "sleep 1; exit 7"]);
    let pid = root.container_pid("sh");
    signal(pid, rustix::process::Signal::STOP);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "run ended while its container was only stopped: {}",
        root.output()
    );
    let st = run(
        NSBOX,
        ["--root", root.path().to_str().unwrap(), "state", &root.name],
    );
    assert!(st.stdout.contains("\"running\""), "{st:?}");
    signal(pid, rustix::process::Signal::CONT);
    let status = wait(&mut child);
    assert_eq!(status.code(), Some(7), "{}", root.output());
    root.assert_gone();
}

#[test]
fn a_container_killed_by_a_signal_ends_run_with_128_plus_it() {
    let root = Root::new("sv-killed");
    let mut child = root.spawn_run(&["sleep", "100"]);
    let pid = root.container_pid("sleep");
    signal(pid, rustix::process::Signal::KILL);
    let status = wait(&mut child);
    assert_eq!(status.code(), Some(128 + 9), "{}", root.output());
    root.assert_gone();
}

#[test]
fn zombies_left_by_a_pid_1_that_does_not_reap_do_not_hold_run() {
    // sh execs sleep as PID 1: the two background children it started end
    // first and stay zombies (sleep never waits); run still ends with
    // PID 1's status, and the namespace's end takes the zombies along.
    let root = Root::new("sv-zombie");
    let mut child = root.spawn_run(&["sh", "-c", "sleep 0.1 & sleep 0.1 & exec sleep 1"]);
    let pid = root.container_pid("sleep");
    std::thread::sleep(Duration::from_millis(500));
    let zombies = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter(|c| {
            std::fs::read_to_string(format!("/proc/{c}/stat"))
                .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
        })
        .count();
    assert_eq!(zombies, 2, "the setting the test means to make");
    let status = wait(&mut child);
    assert_eq!(status.code(), Some(0), "{}", root.output());
    root.assert_gone();
}

/// `nsbox run ... -- CMD` under `script`, which gives it a terminal (a
/// pty whose master script holds); killing script closes the master: the
/// terminal is gone, as when an ssh session drops.
fn run_in_a_terminal(root: &Root, cmd: &str) -> Child {
    let line = format!(
        "{NSBOX} --root {} run --name {} --net none -- {cmd}",
        root.path().display(),
        root.name
    );
    Command::new("script")
        .args(["-qfec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (bsdutils)")
}

#[test]
fn losing_the_terminal_hangs_up_the_container_and_leaves_nothing() {
    // sleep as PID 1 has no SIGHUP handler: the kernel would drop the
    // hang-up; run ends it as the default action would have.
    let root = Root::new("sv-hangup");
    let mut script = run_in_a_terminal(&root, "sleep 100");
    root.container_pid("sleep");
    signal(script.id(), rustix::process::Signal::KILL);
    let _ = script.wait();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = run(
            NSBOX,
            ["--root", root.path().to_str().unwrap(), "list", "-q"],
        );
        if !list.stdout.contains(&root.name) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the container outlived its terminal"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    root.assert_gone();
}

#[test]
fn a_container_that_ignores_the_hang_up_lives_on() {
    // The shell ignores SIGHUP (as nohup does) and execs sleep: it asked
    // to outlive the terminal, and does.
    let root = Root::new("sv-nohup");
    let mut script = run_in_a_terminal(&root, "sh -c 'trap \"\" HUP; exec sleep 100'");
    let pid = root.container_pid("sleep");
    signal(script.id(), rustix::process::Signal::KILL);
    let _ = script.wait();
    std::thread::sleep(Duration::from_millis(1500));
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(comm.trim(), "sleep", "the nohup'd container was ended");
}

#[test]
fn events_outlives_a_stop_and_ends_when_the_container_does() {
    let root = Root::new("sv-events");
    let detached = run(
        NSBOX,
        [
            "--root",
            root.path().to_str().unwrap(),
            "run",
            "-d",
            "--name",
            &root.name,
            "--net",
            "none",
            "--",
            "sleep",
            "100",
        ],
    );
    assert_eq!(detached.code, 0, "{detached:?}");
    let pid = root.container_pid("sleep");
    let out = root.dir.join("events.out");
    let mut events = Command::new(NSBOX)
        .arg("--root")
        .arg(root.path())
        .args(["events", "--interval", "100ms", &root.name])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    signal(pid, rustix::process::Signal::STOP);
    let lines = || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let at_stop = lines();
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        events.try_wait().unwrap().is_none(),
        "events ended at a stop"
    );
    assert!(
        lines() > at_stop,
        "no stats while the container was stopped"
    );
    signal(pid, rustix::process::Signal::CONT);
    signal(pid, rustix::process::Signal::KILL);
    let status = wait(&mut events);
    assert_eq!(status.code(), Some(0));
    let last = std::fs::read_to_string(&out).unwrap();
    for line in last.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("whole JSON lines");
        assert_eq!(v["id"], root.name.as_str(), "{v}");
    }
}
