//! The last runtime-spec fields of issue 13, by effect: `linux.intelRdt`
//! refused in one line before anything exists, and
//! `process.execCPUAffinity.initial` outside the container's cpuset: the
//! exec'd process is born on the initial CPUs (the kernel's own record of
//! its first run, from a private ftrace instance), then joins the
//! container's cgroup and runs its program on the final CPUs.

mod oci_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nsbox_testutil::{run, TempDir};
use oci_common::{base_config, Oci, NSBOX};
use serde_json::{json, Value};

/// Every cgroup directory named `name`, in any hierarchy.
fn cgroups_named(name: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if e.file_name() == name {
                    out.push(e.path());
                }
                walk(&e.path(), name, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), name, &mut out);
    out
}

fn resctrl_mounted() -> bool {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mi.lines().any(|l| {
        l.split_once(" - ")
            .is_some_and(|(_, p)| p.starts_with("resctrl "))
    })
}

/// runtime-spec: with no mounted resctrl the runtime MUST generate an
/// error; with one, nsbox (which makes no resctrl groups) refuses rather
/// than run without the asked-for isolation. Either way: one line, and no
/// state, cgroup or process left.
#[test]
fn intel_rdt_is_refused_in_one_line_and_leaves_nothing() {
    let oci = Oci::new("oci-rdt");
    let mut c = base_config(&["true"]);
    c["linux"]["intelRdt"] = json!({"closID": "guaranteed", "l3CacheSchema": "L3:0=7f0"});
    oci.write_config(&c);
    let id = oci.id("rdt");
    let out = oci.create(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    let why = if resctrl_mounted() {
        "nsbox does not apply Intel RDT"
    } else {
        "Intel RDT is not enabled on this host (no resctrl file system is mounted"
    };
    assert!(
        out.stderr.starts_with(&format!(
            "nsbox: create {id}: config.json: linux.intelRdt: {why}"
        )),
        "{out:?}"
    );
    assert!(!oci.state_dir(&id).exists(), "state left: {out:?}");
    let left = cgroups_named(&format!("nsbox-{id}"));
    assert!(left.is_empty(), "cgroups left: {left:?}");
    let listed = oci.nsbox(&["list", "-q"]).success();
    assert!(!listed.stdout.contains(&id), "{listed:?}");
}

/// A private ftrace instance (tracefs mounted in a temp dir) recording
/// forks, first wake-ups and execs; removed, and unmounted, at drop.
struct SchedTrace {
    mnt: TempDir,
    inst: PathBuf,
}

const EVENTS: [&str; 3] = [
    "sched_process_fork",
    "sched_wakeup_new",
    "sched_process_exec",
];

impl SchedTrace {
    fn new(tag: &str) -> SchedTrace {
        let mnt = TempDir::new(tag);
        let at = mnt.path().display().to_string();
        run("mount", ["-t", "tracefs", "nodev", &at]).success();
        let inst = mnt
            .path()
            .join("instances")
            .join(format!("nsbox-{tag}-{}", std::process::id()));
        let trace = SchedTrace { mnt, inst };
        std::fs::create_dir(&trace.inst).expect("a tracefs instance");
        for e in EVENTS {
            trace.enable(e, "1");
        }
        trace
    }

    fn enable(&self, event: &str, on: &str) {
        let file = self.inst.join("events/sched").join(event).join("enable");
        std::fs::write(&file, on).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }

    /// The trace so far: `(cpu, event, fields)` per line.
    fn events(&self) -> Vec<(u32, String, String)> {
        let text = std::fs::read_to_string(self.inst.join("trace")).unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let cpu = l
                    .split_once('[')?
                    .1
                    .split_once(']')?
                    .0
                    .trim()
                    .parse()
                    .ok()?;
                let (event, fields) = EVENTS
                    .iter()
                    .find_map(|e| Some((*e, l.split_once(&format!(" {e}: "))?.1)))?;
                Some((cpu, event.to_owned(), fields.to_owned()))
            })
            .collect()
    }
}

impl Drop for SchedTrace {
    fn drop(&mut self) {
        for e in EVENTS {
            let _ = std::fs::write(self.inst.join("events/sched").join(e).join("enable"), "0");
        }
        let _ = std::fs::remove_dir(&self.inst);
        let _ = run("umount", [self.mnt.path().display().to_string()]);
    }
}

/// `key=VALUE` in a trace line's fields.
fn field<'a>(fields: &'a str, key: &str) -> Option<&'a str> {
    fields
        .split_whitespace()
        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
}

/// The crun behaviour the spec describes: `initial` is where the exec'd
/// process starts, before it joins the container's cgroup (born inside, a
/// cpuset of "0" would narrow "1" away at once, and the setup would run on
/// the container's CPUs); `final`, or the cpuset, is where its program
/// runs. Observable without a race: the kernel's trace of the new
/// process's first wake-up (target_cpu) and of its execve (the CPU it ran
/// on), and Cpus_allowed_list read by the program.
#[test]
fn exec_starts_on_initial_cpus_outside_the_cpuset_then_joins() {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    assert!(
        online.trim().starts_with("0-"),
        "this test needs CPUs 0 and 1 online, the host has {online}"
    );
    let oci = Oci::new("oci-aff-init");
    let mut c = base_config(&["sleep", "1000"]);
    c["linux"]["resources"] = json!({"cpu": {"cpus": "0"}});
    oci.write_config(&c);
    let id = oci.id("affinit");
    oci.create_detached(&id);
    let process = oci.dir.join("process.json");
    let exec = |affinity: Value| {
        let mut p = c["process"].clone();
        p["args"] = json!(["grep", "Cpus_allowed_list", "/proc/self/status"]);
        p["execCPUAffinity"] = affinity;
        std::fs::write(&process, p.to_string()).unwrap();
        let trace = SchedTrace::new("aff-trace");
        let child = Command::new(NSBOX)
            .arg("--root")
            .arg(&oci.root)
            .args(["exec", "--process"])
            .arg(&process)
            .arg(&id)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let nsbox = child.id().to_string();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{out:?}");
        (text, trace.events(), nsbox)
    };
    for affinity in [
        json!({"initial": "1", "final": "0"}),
        json!({"initial": "1"}),
    ] {
        let (said, events, nsbox) = exec(affinity.clone());
        // In the container: the final set, or the cpuset (initial only:
        // the kernel keeps what of it the cpuset allows, nothing here).
        assert_eq!(said.trim(), "Cpus_allowed_list:\t0", "{affinity}");
        // nsbox's child (and any it forks): born on CPU 1.
        let mut ours = vec![nsbox.clone()];
        for (_, e, f) in &events {
            if e == "sched_process_fork" && ours.iter().any(|p| field(f, "pid") == Some(p)) {
                ours.push(field(f, "child_pid").unwrap().to_owned());
            }
        }
        assert!(
            ours.len() > 1,
            "no fork of nsbox {nsbox} traced: {events:?}"
        );
        let child = &ours[1];
        let born = events
            .iter()
            .find(|(_, e, f)| e == "sched_wakeup_new" && field(f, "pid") == Some(child))
            .unwrap_or_else(|| panic!("no first wake-up of {child}: {events:?}"));
        assert_eq!(
            field(&born.2, "target_cpu"),
            Some("001"),
            "{affinity}: {born:?}"
        );
        // ... and its program started on CPU 0, inside the cpuset.
        let execs: Vec<_> = events
            .iter()
            .filter(|(_, e, f)| {
                e == "sched_process_exec" && ours[1..].iter().any(|p| field(f, "pid") == Some(p))
            })
            .collect();
        assert_eq!(execs.len(), 1, "{affinity}: {events:?}");
        assert_eq!(execs[0].0, 0, "{affinity}: {execs:?}");
    }
}
