//! Bad input at scale for the person-facing verb (issue 12): `nsbox run`
//! with random combinations of its flags, each value drawn from good and
//! bad ones (sizes, CPU lists, ports, subnets, names, paths, network
//! modes), running a command that exits 0, exits 3 or does not exist.
//! Every case either runs (the command's own status comes back) or fails
//! with one line naming what is wrong; none panics or hangs; afterwards no
//! container, state, bundle, veth, lease, nftables rule, cgroup or mount
//! is left.
//!
//! Everything runs in a network namespace the test made (bridges, veths
//! and rules never touch the host's network). Knobs: `NSBOX_FUZZ_CASES`
//! (default 600), `NSBOX_FUZZ_SEED` (a number, or `random`),
//! `NSBOX_FUZZ_VERBOSE` (print every case and what nsbox said).

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use nsbox_testutil::{busybox_rootfs, fuzz_knobs, run, status_within, Lcg, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

/// The test's own network namespace and state root.
struct Host {
    netns: String,
    dir: TempDir,
    root: PathBuf,
    rootfs: PathBuf,
}

impl Host {
    fn new() -> Host {
        nsbox_testutil::require_root();
        assert!(
            std::path::Path::new("/usr/sbin/nft").exists(),
            "nft missing: apt-get install nftables (scripts/test.sh installs it)"
        );
        let netns = format!("nsbox-fz-{}", std::process::id());
        run(NSBOX, ["netns", "add", &netns]).success();
        let dir = TempDir::new("run-fuzz");
        let rootfs = dir.join("rootfs");
        busybox_rootfs(&rootfs).expect("busybox rootfs");
        let host = Host {
            netns,
            root: dir.join("state"),
            rootfs,
            dir,
        };
        host.sh("ip link set lo up").success();
        host
    }

    /// `nsbox --root R ARGS` in the test's namespace, with a deadline.
    fn nsbox(&self, args: &[String], why: &str) -> (Option<i32>, String) {
        let mut cmd = Command::new(NSBOX);
        cmd.arg("enter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .args(["--", NSBOX, "--root"])
            .arg(&self.root)
            .args(args);
        let (status, stderr) = status_within(&mut cmd, Duration::from_secs(30), self.dir.path())
            .unwrap_or_else(|| panic!("hung: nsbox {args:?} ({why})"));
        assert!(
            status.signal().is_none(),
            "nsbox {args:?} killed by signal {:?} ({why})\n{stderr}",
            status.signal()
        );
        (status.code(), stderr)
    }

    fn sh(&self, script: &str) -> nsbox_testutil::Output {
        let net = format!("--net=/run/netns/{}", self.netns);
        run(NSBOX, ["enter", &net, "--", "sh", "-c", script])
    }

    /// Every container under the root (named or not), by id.
    fn names(&self) -> Vec<String> {
        let list = run(
            NSBOX,
            [
                "--root",
                self.root.to_str().unwrap(),
                "list",
                "--format",
                "json",
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&list.stdout).unwrap_or_default();
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn remove_all(&self) {
        let names = self.names();
        if !names.is_empty() {
            let mut args = vec!["rm".to_string(), "-f".to_string()];
            args.extend(names);
            let _ = self.nsbox(&args, "clean-up");
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.remove_all();
        // the view the runs started lives in the namespace (a failed test
        // did not reach its stop): stopped first, or the netns stays busy
        let root = self.root.to_str().unwrap();
        let _ = run(NSBOX, ["--root", root, "proc-view", "stop"]);
        let _ = run(NSBOX, ["netns", "delete", &self.netns]);
    }
}

/// What the command lines are drawn with.
trait Draw {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str;
    fn chance(&mut self, percent: u64) -> bool;
}

impl Draw for Lcg {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.draw() % 100 < percent
    }
}

/// One random `run` command line: flags (each with a good or a bad value)
/// and the command; returns it and the status the command itself exits
/// with when it runs.
fn command_line(rng: &mut Lcg, host: &Host, case: usize) -> (Vec<String>, Option<i32>) {
    let rootfs = host.rootfs.display().to_string();
    let long = "x".repeat(300);
    let netns_path = format!("ns:/run/netns/{}", host.netns);
    let pid_file = host.dir.join(format!("pid-{case}")).display().to_string();
    let name = format!("fz{case}");
    let valued: Vec<(&str, Vec<&str>)> = vec![
        (
            "--name",
            vec![&name, &name, "keep", "", "-x", "a/b", "..", &long, "UPPER"],
        ),
        (
            "--rootfs",
            vec![&rootfs, &rootfs, "/nonexistent", "", "/etc/passwd"],
        ),
        (
            "--net",
            vec![
                "none",
                "host",
                "bridge",
                "container:keep",
                "container:nope",
                "ns:/nonexistent",
                &netns_path,
                "cni:nope",
                "bogus",
                "",
            ],
        ),
        (
            "-p",
            vec![
                "18080:80",
                "127.0.0.1:18081:80/udp",
                "80",
                "abc",
                "70000:1",
                "1.2.3.4.5:1:1",
                "18082:80/sctp",
                "0:0",
            ],
        ),
        (
            "--bridge",
            vec!["nsboxfz0", "lo", "", "averyverylongbridgename"],
        ),
        (
            "--subnet",
            vec![
                "10.99.0.0/24",
                "10.99.0.0/31",
                "bogus",
                "fd00::/64",
                "10.99.0.1/33",
            ],
        ),
        (
            "-m",
            vec!["64m", "1", "0", "-1", "6m", "abc", "99999999999g", "1.5g"],
        ),
        ("--cpus", vec!["0.5", "0", "-1", "1000", "abc", "1e9", "2"]),
        (
            "--pids-limit",
            vec!["10", "0", "-1", "abc", "1", "99999999999999999999"],
        ),
        ("--cpuset-cpus", vec!["0", "0-1", "5", "abc", "1-0", ""]),
        ("-e", vec!["A=1", "=x", "A", "PATH=", "B=\u{7f}"]),
        (
            "-w",
            vec!["/tmp", "relative", "/nonexistent/deep", "", "/proc/self"],
        ),
        ("--hostname", vec!["h", "", &long, "bad name", "-h"]),
        ("--preserve-fds", vec!["0", "1", "abc", "100"]),
        ("--pid-file", vec![&pid_file, "/nonexistent/dir/pid", ""]),
        ("--console-socket", vec!["/nonexistent"]),
    ];
    let switches = ["-d", "--userns", "--init", "--no-new-keyring", "--no-pivot"];
    let mut args = vec!["run".to_string()];
    for s in switches {
        if rng.chance(15) {
            args.push(s.to_string());
        }
    }
    for (flag, values) in &valued {
        if rng.chance(8) {
            args.push(flag.to_string());
            args.push(rng.pick(values).to_string());
        }
    }
    args.push("--".to_string());
    let (cmd, status): (&[&str], Option<i32>) = match rng.draw() % 4 {
        0 => (&["sh", "-c", "exit 3"], Some(3)),
        1 => (&["no-such-command"], Some(127)),
        _ => (&["true"], Some(0)),
    };
    args.extend(cmd.iter().map(|s| s.to_string()));
    (args, status)
}

#[test]
fn fuzzed_run_flags_run_or_fail_in_one_line_and_leave_nothing() {
    let (seed, cases) = fuzz_knobs(0x72_756e_667a, 600);
    eprintln!("fuzzing {cases} run command lines, NSBOX_FUZZ_SEED={seed}");
    let host = Host::new();
    // A running container for `--net container:keep` and the name `keep`.
    let keep: Vec<String> = ["run", "-d", "--name", "keep", "--", "sleep", "1000"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(host.nsbox(&keep, "keep").0, Some(0));
    let mut rng = Lcg(seed);
    let verbose = std::env::var_os("NSBOX_FUZZ_VERBOSE").is_some();
    let (mut ran, mut refused) = (0, 0);
    for case in 0..cases {
        let (args, status) = command_line(&mut rng, &host, case);
        let why = format!("seed {seed} case {case}");
        let (code, stderr) = host.nsbox(&args, &why);
        assert!(
            !stderr.contains("panicked") && code != Some(101),
            "nsbox {args:?} panicked ({why})\n{stderr}"
        );
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("nsbox:") || l.starts_with("error:"))
            .filter(|l| !l.starts_with("nsbox: warning:"))
            .collect();
        if verbose {
            eprintln!("{why}: {args:?}\n  -> {code:?} {}", stderr.trim_end());
        }
        let detached = args.iter().any(|a| a == "-d");
        if errors.is_empty() {
            // it ran: the command's status (or 0 for a detached start)
            let want = if detached { Some(0) } else { status };
            assert_eq!(code, want, "nsbox {args:?} ({why})\n{stderr}");
            ran += 1;
        } else {
            assert_ne!(code, Some(0), "nsbox {args:?} ({why})\n{stderr}");
            assert_eq!(
                errors.len(),
                1,
                "nsbox {args:?} failed without exactly one line ({why}):\n{stderr}"
            );
            refused += 1;
        }
        // clean up what ran detached (all but `keep`)
        let names: Vec<String> = host.names().into_iter().filter(|n| n != "keep").collect();
        if !names.is_empty() {
            let mut rm = vec!["rm".to_string(), "-f".to_string()];
            rm.extend(names);
            let (code, stderr) = host.nsbox(&rm, &why);
            assert_eq!(code, Some(0), "rm after {args:?} ({why}): {stderr}");
        }
    }
    eprintln!("{cases} command lines: {ran} ran, {refused} refused");
    assert!(
        ran > cases / 10 && refused > cases / 10,
        "{ran} ran, {refused} refused"
    );
    host.remove_all();
    // The /proc view the first run started outlives the runs, by design.
    let stop = ["proc-view".to_string(), "stop".to_string()];
    let (code, stderr) = host.nsbox(&stop, "stop the view");
    assert_eq!(code, Some(0), "proc-view stop: {stderr}");

    // Nothing left: no container, state, bundle, lease, veth or rule.
    assert_eq!(host.names(), Vec::<String>::new());
    let left = nsbox_testutil::state_left(&host.root);
    assert!(left.is_empty(), "left in the state root: {left:?}");
    let links = host.sh("ip -o link").success();
    assert!(
        !links.stdout.contains("nsbx"),
        "veth left: {}",
        links.stdout
    );
    let rules = host.sh("nft list ruleset").success();
    assert_eq!(rules.stdout.trim(), "", "nftables rules left");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&host.dir.path().display().to_string()),
        "a mount under the test's directory is left on the host"
    );
}
