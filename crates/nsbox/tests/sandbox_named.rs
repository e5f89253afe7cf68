//! Named containers of `nsbox run -d --name NAME -- CMD`: left running,
//! found by name (`--net container:NAME`, `enter -t NAME`, `ns diff`),
//! stopped and removed as `docker stop`/`docker rm` do; bad input said in
//! one line, with nothing left behind. Each test has its own `--root`; a
//! guard force-removes its containers even when an assertion fails.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nsbox_testutil::{run, Output, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

struct Named {
    _dir: TempDir,
    root: PathBuf,
    names: Vec<String>,
}

impl Named {
    fn new(tag: &str) -> Named {
        nsbox_testutil::require_root();
        let dir = TempDir::new(tag);
        let root = dir.join("state");
        Named {
            _dir: dir,
            root,
            names: Vec::new(),
        }
    }

    fn nsbox(&self, args: &[&str]) -> Output {
        let mut all = vec!["--root", self.root.to_str().unwrap()];
        all.extend_from_slice(args);
        run(NSBOX, &all)
    }

    /// `run -d --name NAME EXTRA... -- CMD...`, removed at drop; `--net
    /// none` unless EXTRA has a `--net` (a named container's default is
    /// the bridge network, whose tests make a host namespace of their own:
    /// net_bridge.rs).
    fn start(&mut self, name: &str, extra: &[&str], cmd: &[&str]) -> Output {
        self.names.push(name.to_owned());
        let mut args = vec!["run", "-d", "--name", name];
        if !extra.contains(&"--net") {
            args.extend(["--net", "none"]);
        }
        args.extend_from_slice(extra);
        args.push("--");
        args.extend_from_slice(cmd);
        self.nsbox(&args)
    }

    fn pid(&self, name: &str) -> u32 {
        let out = self.nsbox(&["state", name]).success();
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v["pid"].as_u64().unwrap() as u32
    }

    fn status(&self, name: &str) -> String {
        let out = self.nsbox(&["state", name]).success();
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v["status"].as_str().unwrap().to_owned()
    }

    fn bundle(&self, name: &str) -> PathBuf {
        self.root.join(".bundles").join(name)
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = self.nsbox(&["rm", "-f", n]);
        }
        if std::thread::panicking() {
            return;
        }
        // nothing left: no state, no bundle, no cgroup of ours
        let left = nsbox_testutil::state_left(&self.root);
        assert!(left.is_empty(), "left in {}: {left:?}", self.root.display());
        let cgroups = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        for n in &self.names {
            for line in cgroups.lines().filter(|l| l.contains(" - cgroup")) {
                let mount_point = line.split(' ').nth(4).unwrap();
                let found = run("find", [mount_point, "-name", &format!("nsbox-{n}")]);
                assert_eq!(found.stdout, "", "cgroup of {n} left");
            }
        }
    }
}

fn ns(pid: u32, kind: &str) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap()
}

/// The seeds' example: a second container on the first one's network
/// (`docker run --net=container:NAME`) shares its network namespace and
/// no other; a name is the hostname; a detached container's output is in
/// its bundle's output.log.
#[test]
fn a_container_joins_a_named_containers_network_only() {
    let mut t = Named::new("named-net");
    let web = format!("web-{}", std::process::id());
    let out = t.start(
        &web,
        &["--net", "none"],
        &["sh", "-c", "echo started; exec sleep 60"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, format!("{web}\n"), "run -d prints the name");
    assert_eq!(t.status(&web), "running");
    let pid = t.pid(&web);
    let script = "readlink /proc/self/ns/net /proc/self/ns/uts /proc/self/ns/pid /proc/self/ns/mnt /proc/self/ns/ipc; hostname; ip -o link | wc -l";
    let out = t
        .nsbox(&[
            "run",
            "--net",
            &format!("container:{web}"),
            "--",
            "sh",
            "-c",
            script,
        ])
        .success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(Path::new(lines[0]), ns(pid, "net"), "{out:?}");
    for (i, kind) in ["uts", "pid", "mnt", "ipc"].iter().enumerate() {
        assert_ne!(Path::new(lines[1 + i]), ns(pid, kind), "{kind}: {out:?}");
    }
    assert_ne!(lines[5], web, "its own hostname, not {web}'s");
    assert_eq!(lines[6].trim(), "1", "only lo, {web}'s: {out:?}");
    // the named one's hostname is its name
    let out = t.nsbox(&["enter", "-t", &web, "-u", "hostname"]).success();
    assert_eq!(out.stdout.trim(), web);
    // its output went to output.log, not to our pipe
    let log = t.bundle(&web).join("output.log");
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(&log).unwrap_or_default() != "started\n" {
        assert!(Instant::now() < deadline, "{}", log.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `enter -t NAME` and `ns diff NAME1 NAME2` take names for the
/// containers' init processes.
#[test]
fn enter_and_ns_diff_find_containers_by_name() {
    let mut t = Named::new("named-enter");
    let a = format!("a-{}", std::process::id());
    let b = format!("b-{}", std::process::id());
    t.start(&a, &["--net", "none"], &["sleep", "60"]).success();
    t.start(&b, &["--net", &format!("container:{a}")], &["sleep", "60"])
        .success();
    let out = t
        .nsbox(&["enter", "-t", &a, "-n", "readlink", "/proc/self/ns/net"])
        .success();
    assert_eq!(Path::new(out.stdout.trim()), ns(t.pid(&a), "net"));
    let out = t.nsbox(&["ns", "diff", &a, &b, "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let text = v.to_string();
    assert!(text.contains(&t.pid(&a).to_string()), "{v}");
    let out = t.nsbox(&["ns", "diff", &a, &b]).success();
    let row = |kind: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(kind))
            .unwrap_or_else(|| panic!("{kind} row: {out:?}"))
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    assert_eq!(row("net"), "yes", "{out:?}");
    assert_eq!(row("uts"), "no", "{out:?}");
    let header = out.stdout.lines().next().unwrap();
    assert!(header.contains(&a) && header.contains(&b), "{header}");
}

/// `stop`: a container that ends on SIGTERM stops at once; one whose PID 1
/// ignores it (sleep has no handler) is killed after -t seconds; both stay
/// (stopped) until `rm`, which removes state, bundle and cgroup.
#[test]
fn stop_then_rm_as_docker() {
    let mut t = Named::new("named-stop");
    let polite = format!("polite-{}", std::process::id());
    let stubborn = format!("stubborn-{}", std::process::id());
    t.start(
        &polite,
        &["--memory", "64m"],
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; while :; do sleep 0.05; done",
        ],
    )
    .success();
    t.start(&stubborn, &[], &["sleep", "60"]).success();
    std::thread::sleep(Duration::from_millis(200)); // the trap is set

    let began = Instant::now();
    t.nsbox(&["stop", &polite]).success();
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    let began = Instant::now();
    let out = t.nsbox(&["stop", "-t", "1", &stubborn]).success();
    assert_eq!(out.stdout, format!("{stubborn}\n"));
    let took = began.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(8),
        "{took:?}"
    );
    for n in [&polite, &stubborn] {
        assert_eq!(t.status(n), "stopped");
        assert!(t.bundle(n).is_dir(), "kept until rm");
    }
    // stopping a stopped one is fine
    t.nsbox(&["stop", &polite]).success();
    let out = t.nsbox(&["rm", &polite, &stubborn]).success();
    assert_eq!(out.stdout, format!("{polite}\n{stubborn}\n"));
    for n in [&polite, &stubborn] {
        assert!(!t.bundle(n).exists());
        assert_ne!(t.nsbox(&["state", n]).code, 0);
    }
}

/// Bad input: one line naming what is wrong, a non-zero exit, and no
/// container, bundle or cgroup left by the failed command.
#[test]
fn bad_input_is_one_line_and_leaves_nothing() {
    let mut t = Named::new("named-bad");
    let busy = format!("busy-{}", std::process::id());
    let gone = format!("gone-{}", std::process::id());
    t.start(&busy, &[], &["sleep", "60"]).success();
    t.start(&gone, &[], &["true"]).success();
    let deadline = Instant::now() + Duration::from_secs(5);
    while t.status(&gone) != "stopped" {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec![
                "run".into(),
                "-d".into(),
                "--name".into(),
                busy.clone(),
                "--".into(),
                "true".into(),
            ],
            format!("run true: the name \"{busy}\" is taken (nsbox rm {busy} frees it)"),
        ),
        (
            vec!["rm".into(), busy.clone()],
            format!("rm {busy}: container \"{busy}\" is running (stop it first, or rm -f)"),
        ),
        (
            vec!["rm".into(), "nosuch".into()],
            "rm nosuch: no container named \"nosuch\"".into(),
        ),
        (
            vec!["stop".into(), "nosuch".into()],
            "stop nosuch: no container named \"nosuch\"".into(),
        ),
        (
            vec![
                "run".into(),
                "--net".into(),
                "container:nosuch".into(),
                "--".into(),
                "true".into(),
            ],
            "run true: no container named \"nosuch\"".into(),
        ),
        (
            vec![
                "run".into(),
                "--net".into(),
                format!("container:{gone}"),
                "--".into(),
                "true".into(),
            ],
            format!("run true: container \"{gone}\" is not running"),
        ),
        (
            vec!["enter".into(), "-t".into(), "nosuch".into(), "true".into()],
            "enter: no container named \"nosuch\"".into(),
        ),
        (
            vec![
                "run".into(),
                "--name".into(),
                "a/b".into(),
                "--".into(),
                "true".into(),
            ],
            "run true: invalid container name \"a/b\": contains '/' or NUL".into(),
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = t.nsbox(&args);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert_eq!(out.stderr, format!("nsbox: {want}\n"), "{args:?}");
    }
    let out = t.nsbox(&["run", "--net", "bogus", "--", "true"]);
    assert_eq!(out.code, 2, "{out:?}");
    // what failed left nothing; what runs is untouched
    assert_eq!(t.status(&busy), "running");
    let bundles: Vec<String> = std::fs::read_dir(t.root.join(".bundles"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut want = vec![busy.clone(), gone.clone()];
    want.sort();
    let mut bundles = bundles;
    bundles.sort();
    assert_eq!(bundles, want);
}

/// With `--userns` too: the joined network namespace is owned by the
/// host's user namespace, where the container's root may not mount a
/// sysfs; as under runc, the host's /sys is bound read-only instead, and
/// the container runs on the named one's network.
#[test]
fn a_user_namespaced_container_joins_a_named_containers_network() {
    let mut t = Named::new("named-userns");
    let web = format!("uweb-{}", std::process::id());
    t.start(&web, &["--net", "none"], &["sleep", "60"])
        .success();
    let pid = t.pid(&web);
    let out = t
        .nsbox(&[
            "run",
            "--userns",
            "--net",
            &format!("container:{web}"),
            "--",
            "sh",
            "-c",
            "readlink /proc/self/ns/net; touch /sys/x 2>&1; true",
        ])
        .success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(Path::new(lines[0]), ns(pid, "net"), "{out:?}");
    assert!(lines[1].ends_with("Read-only file system"), "{out:?}");
}
