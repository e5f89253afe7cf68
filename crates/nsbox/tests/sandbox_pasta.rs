//! `nsbox run --net pasta`: a container's own network namespace with a
//! user-mode network (pasta), without root and as root: an interface with
//! an address and a default route, the outside reached through pasta's
//! gateway, published ports reachable from outside, and nothing left (no
//! pasta, no state, no namespace file) after a foreground run, `rm -f` of
//! a detached one and `rm -f` after a `kill -9` of nsbox.
//!
//! Each test makes its own "outside": a network namespace with an address
//! and a default route (pasta copies them into the container) that every
//! nsbox command runs in (`nsbox enter --net=`), so pasta's sockets, the
//! test's server and its client live there; no packet touches the
//! machine's network. Without root, nsbox runs as `nobody` (65534) with
//! `XDG_RUNTIME_DIR` in the test's directory.
//!
//! pasta opens `/dev/net/tun` as the user: Debian's udev makes it 0666; a
//! machine without udev (a container, a CI box) keeps the kernel's 0600,
//! root only. The tests that run pasta as a user make it 0666 while they
//! run and put back the mode they found (saying so on stderr).

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nsbox_testutil::{run, Output, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");
const NOBODY: u32 = 65534;
/// The outside's address and gateway, which pasta copies.
const ADDR: &str = "10.77.0.1";
const GATEWAY: &str = "10.77.0.254";

/// The test's outside network namespace, its state directories, and the
/// containers to remove whatever happens.
struct Outside {
    netns: String,
    dir: TempDir,
    /// `--root` of root's containers.
    root: PathBuf,
    /// `XDG_RUNTIME_DIR` of nobody's (state under `nsbox/`).
    xdg: PathBuf,
    names: Vec<(bool, String)>,
    /// Dropped after the containers are removed.
    _tun: Option<TunForUsers>,
}

impl Outside {
    /// `users`: nsbox will run as nobody too (/dev/net/tun opened to users
    /// for as long as the test runs).
    fn new(tag: &str, users: bool) -> Outside {
        nsbox_testutil::require_root();
        assert!(
            Path::new("/usr/bin/pasta").exists(),
            "pasta missing: apt-get install passt (scripts/test.sh installs it)"
        );
        let netns = format!("nsbox-pasta-{tag}-{}", std::process::id());
        run(NSBOX, ["netns", "add", &netns]).success();
        let dir = TempDir::new(tag);
        let xdg = dir.join("xdg");
        std::fs::create_dir(&xdg).unwrap();
        chown(&xdg, Some(NOBODY), Some(NOBODY)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let outside = Outside {
            netns,
            root: dir.join("state"),
            xdg,
            dir,
            names: Vec::new(),
            _tun: users.then(TunForUsers::new),
        };
        // a veth pair, both ends here: an interface with an address and a
        // default route, which is all pasta needs to copy
        outside
            .sh(&format!(
                "ip link set lo up && ip link add v0 type veth peer name v1 && \
                 ip link set v0 up && ip link set v1 up && \
                 ip addr add {ADDR}/24 dev v0 && ip route add default via {GATEWAY} dev v0"
            ))
            .success();
        outside
    }

    fn enter(&self) -> Vec<String> {
        vec![
            "enter".into(),
            format!("--net=/run/netns/{}", self.netns),
            "--".into(),
        ]
    }

    /// A shell command in the outside namespace, as root; `$NSBOX` runs
    /// nsbox as root, `$USER_NSBOX` as nobody (`$AS_USER` is its prefix:
    /// setpriv and env).
    fn sh(&self, script: &str) -> Output {
        let mut args = self.enter();
        args.extend(["sh".into(), "-c".into(), script.into()]);
        let as_user = format!(
            "setpriv --reuid {NOBODY} --regid {NOBODY} --clear-groups env XDG_RUNTIME_DIR={}",
            self.xdg.display()
        );
        // a deadline: a hung run fails the test instead of the suite
        let out = Command::new("timeout")
            .args(["-k", "5", "120", NSBOX])
            .args(&args)
            .env("NSBOX", format!("{NSBOX} --root {}", self.root.display()))
            .env("USER_NSBOX", format!("{as_user} {NSBOX}"))
            .env("AS_USER", as_user)
            .current_dir("/")
            .output()
            .unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `nsbox ARGS...` in the outside namespace, as root or as nobody.
    fn nsbox(&self, as_root: bool, args: &[&str]) -> Output {
        let who = if as_root { "$NSBOX" } else { "$USER_NSBOX" };
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        self.sh(&format!("exec {who} {}", quoted.join(" ")))
    }

    /// `run -d --name NAME EXTRA... -- CMD...`, removed when the test ends.
    fn start(&mut self, as_root: bool, name: &str, extra: &[&str], cmd: &[&str]) -> Output {
        self.names.push((as_root, name.to_owned()));
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(extra);
        args.push("--");
        args.extend_from_slice(cmd);
        self.nsbox(as_root, &args)
    }

    /// pasta processes of this test's containers (their pid file is in
    /// the test's directory).
    fn pastas(&self) -> Vec<u32> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        processes_with(&dir)
            .into_iter()
            .filter(|(_, cmd)| cmd.split(' ').next().is_some_and(|p| p.ends_with("/pasta")))
            .map(|(pid, _)| pid)
            .collect()
    }

    /// Waits (a little) for the pasta processes to be gone.
    fn assert_no_pasta(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.pastas().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(self.pastas(), Vec::<u32>::new(), "pasta left running");
    }

    /// No pasta, no state (but the seccomp cache and the /proc view's
    /// directory: the view a root `run` starts lives on, in the outside
    /// namespace, until the test ends), no bundle, no mount but the view's.
    fn assert_clean(&self) {
        self.assert_no_pasta();
        for state in [self.root.clone(), self.xdg.join("nsbox")] {
            let left = nsbox_testutil::state_left(&state);
            assert!(left.is_empty(), "left in {}: {left:?}", state.display());
        }
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let dir = self.dir.path().to_string_lossy().into_owned();
        assert!(
            !mounts
                .lines()
                .filter(|l| !l.contains(" - fuse.nsbox-proc-view "))
                .any(|l| l.contains(&dir)),
            "mount left under {dir}"
        );
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        for (as_root, name) in std::mem::take(&mut self.names) {
            let _ = self.nsbox(as_root, &["rm", "-f", &name]);
        }
        for pid in self.pastas() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        // what the test's scripts left in its namespace (a server a failed
        // check did not reach) and the /proc view root's runs started
        // there (its mount goes with the test's directory)
        let pids = run(NSBOX, ["netns", "pids", &self.netns]).stdout;
        for pid in pids.split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
        std::thread::sleep(Duration::from_millis(100));
        let _ = run(NSBOX, ["netns", "delete", &self.netns]);
    }
}

/// (pid, command line) of the processes whose command line holds `text`.
fn processes_with(text: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(text) {
            found.push((pid, cmd));
        }
    }
    found
}

/// /dev/net/tun's mode found before the first user of it in this test
/// binary, and how many tests use it now (tests run in parallel: the last
/// one out puts the mode back).
static TUN: Mutex<(usize, u32)> = Mutex::new((0, 0));
const TUN_PATH: &str = "/dev/net/tun";

/// /dev/net/tun open to users (0666, Debian's udev rule) while held.
struct TunForUsers;

impl TunForUsers {
    fn new() -> TunForUsers {
        let mut held = TUN.lock().unwrap_or_else(|e| e.into_inner());
        if held.0 == 0 {
            let mode = std::fs::metadata(TUN_PATH)
                .unwrap_or_else(|e| panic!("{TUN_PATH}: {e} (pasta needs the tun driver)"))
                .permissions()
                .mode()
                & 0o7777;
            if mode != 0o666 {
                eprintln!(
                    "sandbox_pasta: {TUN_PATH} is {mode:o}; 666 (Debian's udev rule) while \
                     the tests run pasta as a user, {mode:o} again after"
                );
                set_mode(0o666);
            }
            held.1 = mode;
        }
        held.0 += 1;
        TunForUsers
    }
}

impl Drop for TunForUsers {
    fn drop(&mut self) {
        let mut held = TUN.lock().unwrap_or_else(|e| e.into_inner());
        held.0 -= 1;
        if held.0 == 0 && held.1 != 0o666 {
            set_mode(held.1);
        }
    }
}

fn set_mode(mode: u32) {
    std::fs::set_permissions(TUN_PATH, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {TUN_PATH}: {e}"));
}

/// Inside: the interface pasta made (the outside's address), a default
/// route via the outside's gateway, and a server of the outside (on its
/// loopback) reached through the gateway's address. The client gives up
/// after a few seconds: Debian 12's pasta (0.0~git20230309) passes the data
/// of a connection the outside closes at once but, now and then, not its
/// end, so `nc` alone may wait for ever.
fn check_inside(outside: &Outside, as_root: bool) {
    let who = if as_root { "$NSBOX" } else { "$USER_NSBOX" };
    let out = outside.sh(&format!(
        "busybox nc -l -p 9000 -e echo outside-hello & srv=$!; \
         for i in $(seq 50); do grep -q ':2328 00000000:0000 0A' /proc/net/tcp && break; \
         sleep 0.1; done; \
         echo outside-ns $(readlink /proc/self/ns/net); \
         {who} run --net pasta -- sh -c \
         'echo inside-ns $(readlink /proc/self/ns/net); \
          ip -o -4 addr show; ip route show default; \
          busybox timeout 5 busybox nc {GATEWAY} 9000 </dev/null; exit 0'; \
         r=$?; kill $srv 2>/dev/null; exit $r"
    ));
    assert_eq!(out.code, 0, "{out:?}");
    let ns_of = |tag: &str| {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(tag))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {tag}: {out:?}"))
    };
    let (inside, outside_ns) = (ns_of("inside-ns "), ns_of("outside-ns "));
    assert!(
        inside.starts_with("net:[") && inside != outside_ns,
        "not a network namespace of its own: {inside} (outside {outside_ns})"
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(&format!("inet {ADDR}/24")) && !l.contains(" lo ")),
        "no address on an interface of its own: {out:?}"
    );
    assert!(
        out.stdout.contains(&format!("default via {GATEWAY}")),
        "no default route: {out:?}"
    );
    assert!(
        out.stdout.contains("outside-hello"),
        "outside not reached: {out:?}"
    );
}

/// A published port: a detached container's server reached from outside
/// on the host port; `ps` shows the network and the port.
fn check_published(outside: &mut Outside, as_root: bool, name: &str, default_net: bool) {
    let mut extra = vec!["-p", "8080:80"];
    if !default_net {
        extra.extend(["--net", "pasta"]);
    }
    outside
        .start(
            as_root,
            name,
            &extra,
            &[
                "sh",
                "-c",
                "while true; do busybox nc -l -p 80 -e echo inside-hello; done",
            ],
        )
        .success();
    let out = outside.sh("for i in $(seq 100); do \
           r=$(busybox timeout 2 busybox nc 127.0.0.1 8080 </dev/null); \
           [ \"$r\" = inside-hello ] && echo \"$r\" && exit 0; sleep 0.1; done; exit 1");
    assert_eq!(out.code, 0, "published port not reached: {out:?}");
    let ps = outside.nsbox(as_root, &["ps"]).success();
    let line = ps
        .stdout
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or("");
    assert!(
        line.contains("pasta") && line.contains("8080:80/tcp"),
        "{ps:?}"
    );
    assert_eq!(outside.pastas().len(), 1, "one pasta for the container");
    outside.nsbox(as_root, &["rm", "-f", name]).success();
    outside.names.retain(|(_, n)| n != name);
}

#[test]
fn without_root_a_container_gets_a_network_of_its_own() {
    let mut outside = Outside::new("user", true);
    // with a subordinate range, as podman's rootless containers
    let _subids = nsbox_testutil::SubIds::add("nobody:720000:65536");
    check_inside(&outside, false);
    outside.assert_clean();
    // a named container's default network without root
    check_published(&mut outside, false, "web", true);
    outside.assert_clean();
}

#[test]
fn as_root_pasta_works_the_same() {
    let mut outside = Outside::new("root", false);
    check_inside(&outside, true);
    outside.assert_clean();
    check_published(&mut outside, true, "web", false);
    outside.assert_clean();
}

/// nsbox killed with SIGKILL while its container runs: pasta and the
/// container stay, `rm -f` takes both away.
#[test]
fn rm_after_kill_9_of_nsbox_leaves_nothing() {
    let mut outside = Outside::new("kill9", true);
    for as_root in [false, true] {
        let name = format!("k9-{}", u8::from(as_root));
        outside.names.push((as_root, name.clone()));
        // pasta is the default of a named container without root only
        let (who, net) = if as_root {
            ("$NSBOX", "--net pasta ")
        } else {
            ("$USER_NSBOX", "")
        };
        // the foreground run in the background of a shell that lives on
        let script = format!(
            "{who} run --name {name} {net}-p 8081:81 -- sleep 4711 >/dev/null 2>&1 & \
             for i in $(seq 100); do {who} ps | grep -q '^{name} .*running' && break; sleep 0.1; done; \
             sleep 0.3; {who} ps"
        );
        let out = outside.sh(&script);
        assert!(out.stdout.contains(&name), "{out:?}");
        assert_eq!(outside.pastas().len(), 1, "pasta runs: {out:?}");
        let runs: Vec<u32> = processes_with(&format!("run --name {name} "))
            .into_iter()
            .filter(|(_, cmd)| cmd.starts_with(NSBOX))
            .map(|(pid, _)| pid)
            .collect();
        assert_eq!(runs.len(), 1, "one nsbox run: {runs:?}");
        Command::new("kill")
            .args(["-9", &runs[0].to_string()])
            .status()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // told truthfully: still running on pasta (which stays with it)
        let ps = outside.nsbox(as_root, &["ps"]).success();
        assert!(
            ps.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{name} running"))
                    && l.contains("pasta")
                    && l.contains("8081:81/tcp")),
            "{ps:?}"
        );
        assert_eq!(outside.pastas().len(), 1, "pasta stays with it");
        outside.nsbox(as_root, &["rm", "-f", &name]).success();
        outside.names.retain(|(_, n)| *n != name);
        assert!(
            processes_with("sleep 4711").is_empty(),
            "the container's process is left"
        );
        outside.assert_clean();
    }
}

/// A port pasta cannot bind (below 1024 without root), and no pasta at
/// all: one line each, and nothing left.
#[test]
fn bad_input_gets_one_line_and_leaves_nothing() {
    let outside = Outside::new("bad", true);
    let out = outside.nsbox(
        false,
        // (without the /proc view, which without root says once that
        // root serves none here)
        &[
            "run",
            "--no-proc-view",
            "--net",
            "pasta",
            "-p",
            "80:80",
            "--",
            "true",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        "nsbox: run true: pasta: Failed to bind any port for '-t 80:80', exiting (exit status: 1)",
        "{out:?}"
    );
    outside.assert_clean();
    let out = outside.sh(&format!(
        "exec $AS_USER PATH=/nonexistent {NSBOX} run --no-proc-view --net pasta -- /bin/true"
    ));
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        "nsbox: run /bin/true: --net pasta needs pasta in PATH (Debian package passt)",
        "{out:?}"
    );
    outside.assert_clean();
    // as root, the namespace file made before pasta goes too
    let out = outside.sh("exec env PATH=/nonexistent $NSBOX run --net pasta -- /bin/true");
    assert_eq!(out.code, 1, "{out:?}");
    outside.assert_clean(); // --net bridge without root: refused, naming pasta
    let out = outside.nsbox(
        false,
        &["run", "--no-proc-view", "--net", "bridge", "--", "true"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.contains("--net bridge needs root") && out.stderr.contains("use --net pasta"),
        "{out:?}"
    );
    outside.assert_clean();
}
