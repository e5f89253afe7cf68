//! Bad input at scale (issue 12): thousands of `config.json`s, each the
//! base config with a few random mutations (a value replaced by one of
//! another type or an odd one, a key removed, a key added, an array
//! element repeated), go through `create`, `start` and `delete --force`.
//! Every case either runs or fails with one clear line; none panics,
//! hangs or is killed by a signal; afterwards nothing is left: no state,
//! no cgroup, no process, no mount on the host.
//!
//! Knobs: `NSBOX_FUZZ_CASES` (default 2000), `NSBOX_FUZZ_SEED` (default a
//! fixed seed, so CI is repeatable; `random` for a new one),
//! `NSBOX_FUZZ_VERBOSE` (print every case and what create said). A failure
//! prints the seed, the case and its config, so it can be replayed.
//!
//! What is never mutated keeps the fuzzer from acting on the host rather
//! than on nsbox's input checks: the namespace list (without a mount, UTS
//! or network namespace the config's mounts, hostname and sysctls would
//! reach the host's), `cgroupsPath` (an absolute path would place the
//! container in cgroups this test did not make) and mount propagation.

mod oci_common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use nsbox_testutil::{fuzz_knobs, status_within, Lcg};
use oci_common::{
    base_config, cgroups_named, host_mounts_mention, live_processes_with, Oci, NSBOX,
};
use serde_json::{json, Value};

/// Keys the fuzzer leaves alone (see the module comment).
const KEEP: &[&str] = &[
    "namespaces",
    "cgroupsPath",
    "rootfsPropagation",
    "propagation",
];

/// Keys it may add to an object: real spec fields, so that adding one
/// reaches the code that reads it (with a random value).
const ADD: &[&str] = &[
    "readonly",
    "hostname",
    "domainname",
    "devices",
    "sysctl",
    "hooks",
    "annotations",
    "seccomp",
    "oomScoreAdj",
    "apparmorProfile",
    "selinuxLabel",
    "consoleSize",
    "additionalGids",
    "umask",
    "options",
    "uidMappings",
    "gidMappings",
    "timeOffsets",
    "personality",
    "maskedPaths",
    "readonlyPaths",
    "mountLabel",
    "intelRdt",
    "ioPriority",
    "scheduler",
    "memoryPolicy",
    "netDevices",
    "limit",
    "swap",
    "shares",
    "quota",
    "cpus",
    "mems",
    "x-unknown",
];

/// A value of any JSON type, with the odd ones input checks must meet.
fn odd_value(rng: &mut Lcg) -> Value {
    match rng.below(22) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(false),
        3 => json!(0),
        4 => json!(-1),
        5 => json!(i64::MAX),
        6 => json!(u64::MAX),
        7 => json!(1e300),
        8 => json!(3.5),
        9 => json!(""),
        10 => json!("/"),
        11 => json!("../../../../etc"),
        12 => json!("x".repeat(5000)),
        13 => json!("nul\u{0}inside"),
        14 => json!("/dev/null"),
        15 => json!("RLIMIT_NOFILE"),
        16 => json!([]),
        17 => json!({}),
        18 => json!(["a", 1, null]),
        19 => json!({"type": "bind", "source": "/nonexistent", "destination": "/x"}),
        20 => json!("CAP_SYS_ADMIN"),
        _ => json!(65536),
    }
}

/// The JSON pointers of every value under `v` the fuzzer may touch.
fn paths(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if KEEP.contains(&k.as_str()) {
                    continue;
                }
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                paths(x, p, out);
            }
        }
        _ => {}
    }
}

/// The parent pointer and last token of `ptr`.
fn split(ptr: &str) -> (&str, String) {
    let (parent, last) = ptr.rsplit_once('/').unwrap();
    (parent, last.replace("~1", "/").replace("~0", "~"))
}

/// One random change to `config`; says what it did.
fn mutate(config: &mut Value, rng: &mut Lcg) -> String {
    let mut all = Vec::new();
    paths(config, String::new(), &mut all);
    let ptr = all[rng.below(all.len())].clone();
    match rng.below(4) {
        0 => {
            let (parent, last) = split(&ptr);
            match config.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&last);
                }
                Some(Value::Array(a)) => {
                    let i: usize = last.parse().unwrap();
                    if i < a.len() {
                        a.remove(i);
                    }
                }
                _ => {}
            }
            format!("remove {ptr}")
        }
        1 => {
            let key = ADD[rng.below(ADD.len())];
            let value = odd_value(rng);
            match config.pointer_mut(&ptr) {
                Some(Value::Object(m)) => {
                    m.insert(key.to_string(), value.clone());
                    format!("add {ptr}/{key} = {value}")
                }
                Some(Value::Array(a)) if !a.is_empty() => {
                    let first = a[0].clone();
                    a.push(first);
                    format!("repeat {ptr}/0")
                }
                Some(slot) => {
                    *slot = value.clone();
                    format!("set {ptr} = {value}")
                }
                None => String::new(),
            }
        }
        _ => {
            let value = odd_value(rng);
            if let Some(slot) = config.pointer_mut(&ptr) {
                *slot = value.clone();
            }
            format!("set {ptr} = {value}")
        }
    }
}

/// The base config with limits (so the cgroup paths are fuzzed too).
fn fuzz_base() -> Value {
    let mut c = base_config(&["true"]);
    c["linux"]["resources"] = json!({
        "memory": {"limit": 64 << 20},
        "pids": {"limit": 100},
        "cpu": {"shares": 512}
    });
    c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    c["linux"]["devices"] = json!([
        {"path": "/dev/fuzz", "type": "c", "major": 1, "minor": 3, "fileMode": 438}
    ]);
    c["hooks"] = json!({"createRuntime": [{"path": "/bin/true"}]});
    c["annotations"] = json!({"org.example": "v"});
    c
}

/// What one nsbox command did.
struct Ran {
    code: Option<i32>,
    stderr: String,
}

/// `nsbox --root ROOT ARGS` with a deadline (see `status_within`).
fn nsbox(oci: &Oci, args: &[&str], why: &str) -> Ran {
    let mut cmd = Command::new(NSBOX);
    cmd.arg("--root").arg(&oci.root).args(args);
    let (status, stderr) = status_within(&mut cmd, Duration::from_secs(20), oci.dir.path())
        .unwrap_or_else(|| panic!("hung: nsbox {args:?} ({why})"));
    use std::os::unix::process::ExitStatusExt;
    assert!(
        status.signal().is_none(),
        "nsbox {args:?} killed by signal {:?} ({why})\n{stderr}",
        status.signal()
    );
    Ran {
        code: status.code(),
        stderr,
    }
}

/// A failure is one line (after any warnings) naming what is wrong; no
/// panic in any case.
fn check_output(ran: &Ran, args: &[&str], why: &str) {
    assert!(
        !ran.stderr.contains("panicked") && ran.code != Some(101),
        "nsbox {args:?} panicked ({why})\n{}",
        ran.stderr
    );
    if ran.code != Some(0) {
        let lines: Vec<&str> = ran
            .stderr
            .lines()
            .filter(|l| !l.starts_with("nsbox: warning:") && !l.starts_with("warning:"))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "nsbox {args:?} failed without exactly one line ({why}):\n{}",
            ran.stderr
        );
        assert!(lines[0].len() > 20, "too terse: {:?} ({why})", lines[0]);
    }
}

#[test]
fn fuzzed_configs_run_or_fail_in_one_line_and_leave_nothing() {
    let (seed, cases) = fuzz_knobs(0x6e73_626f_7830, 2000);
    eprintln!("fuzzing {cases} configs, NSBOX_FUZZ_SEED={seed}");
    let oci = Oci::new("fuzz");
    let bundle = oci.bundle.display().to_string();
    let prefix = format!("fz{}-", std::process::id());
    let mut rng = Lcg(seed);
    let verbose = std::env::var_os("NSBOX_FUZZ_VERBOSE").is_some();
    let (mut created, mut started) = (0, 0);
    for case in 0..cases {
        let mut config = fuzz_base();
        let changes: Vec<String> = (0..1 + rng.below(3))
            .map(|_| mutate(&mut config, &mut rng))
            .collect();
        oci.write_config(&config);
        let why = format!("seed {seed} case {case}: {changes:?}");
        let id = format!("{prefix}{case}");
        let args = ["create", "--bundle", &bundle, &id];
        let ran = nsbox(&oci, &args, &why);
        check_output(&ran, &args, &why);
        if verbose {
            eprintln!("{why}\n  -> {:?} {}", ran.code, ran.stderr.trim_end());
        }
        if ran.code == Some(0) {
            created += 1;
            let ran = nsbox(&oci, &["start", &id], &why);
            check_output(&ran, &["start", &id], &why);
            started += usize::from(ran.code == Some(0));
        }
        let ran = nsbox(&oci, &["delete", "--force", &id], &why);
        check_output(&ran, &["delete", "--force", &id], &why);
        assert!(!oci.root.join(&id).exists(), "state left: {why}");
    }
    eprintln!("{cases} configs: {created} created, {started} started");
    // The base config must run, or the fuzzer tested only the parser.
    assert!(created > cases / 10, "only {created} of {cases} created");

    let left: Vec<_> = std::fs::read_dir(&oci.root)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "state left: {left:?}");
    assert_eq!(
        cgroups_named(&format!("nsbox-{prefix}*")),
        Vec::<PathBuf>::new()
    );
    let root = oci.root.display().to_string();
    assert_eq!(live_processes_with(&root, &[]), Vec::<u32>::new());
    assert!(
        !host_mounts_mention(oci.dir.path()),
        "a mount under the test's directory is left on the host"
    );
}

#[test]
fn the_mutator_reaches_every_part_of_the_config() {
    // Without this the fuzzer could quietly test one corner only.
    let mut rng = Lcg(1);
    let mut touched = std::collections::BTreeSet::new();
    for _ in 0..3000 {
        let mut c = fuzz_base();
        let what = mutate(&mut c, &mut rng);
        if let Some(p) = what.split_whitespace().nth(1) {
            touched.insert(p.split('/').nth(1).unwrap_or("").to_string());
        }
    }
    for top in ["process", "root", "mounts", "linux", "hooks", "hostname"] {
        assert!(touched.contains(top), "{top} never mutated: {touched:?}");
    }
    let mut c = fuzz_base();
    let mut all = Vec::new();
    paths(&c, String::new(), &mut all);
    assert!(all.iter().all(|p| !p.contains("namespaces")));
    c["linux"]["cgroupsPath"] = json!("/x");
    let mut with = Vec::new();
    paths(&c, String::new(), &mut with);
    assert!(with.iter().all(|p| !p.contains("cgroupsPath")));
}
