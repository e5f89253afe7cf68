//! runtime-spec 1.2's process attributes, checked by effect inside the
//! container: `process.scheduler` (sched_getattr), `process.ioPriority`
//! (ioprio_get), `linux.memoryPolicy` (get_mempolicy and
//! /proc/self/numa_maps), `process.execCPUAffinity` (Cpus_allowed_list);
//! bad values refused in one line naming the field, before anything
//! exists; what the host refuses, one line and nothing left behind.

mod oci_common;

use oci_common::{base_config, Oci, NSBOX};
use serde_json::{json, Value};

/// The probe's source: sched_getattr, ioprio_get, get_mempolicy, affinity.
const PROBE_C: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/probes/procattr_probe.c");

/// A bundle with the probe built into its rootfs as /bin/probe.
fn oci_with_probe(tag: &str) -> Oci {
    let oci = Oci::new(tag);
    oci_common::install_probe(&oci, PROBE_C);
    oci
}

/// The probe's line starting with `key:`.
fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} line in {out:?}"))
}

fn probe_config(process: impl FnOnce(&mut Value)) -> Value {
    let mut c = base_config(&["/bin/probe"]);
    process(&mut c);
    c
}

/// Runs `config`; its stdout (exit 0 and no warning required).
fn run_ok(oci: &Oci, config: &Value, name: &str) -> String {
    oci.write_config(config);
    let out = oci.run(&oci.id(name));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
    out.stdout
}

#[test]
fn scheduler_and_io_priority_reach_the_program() {
    let oci = oci_with_probe("oci-sched");
    let c = probe_config(|c| {
        c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 5});
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
    });
    let out = run_ok(&oci, &c, "batch");
    assert!(
        line(&out, "sched").starts_with("sched: policy=3 nice=5 priority=0 flags=0x0 "),
        "{out}"
    );
    assert_eq!(line(&out, "ioprio"), "ioprio: class=3 level=0", "{out}");

    // The spec's flag words (oci-spec spells one differently), a negative
    // nice (the runtime's privilege, before capabilities are dropped).
    let c = probe_config(|c| {
        c["process"]["scheduler"] = json!({
            "policy": "SCHED_OTHER", "nice": -5, "flags": ["SCHED_FLAG_RESET_ON_FORK"]
        });
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
    });
    let out = run_ok(&oci, &c, "other");
    assert!(
        line(&out, "sched").starts_with("sched: policy=0 nice=-5 priority=0 flags=0x1 "),
        "{out}"
    );
    assert_eq!(line(&out, "ioprio"), "ioprio: class=2 level=6", "{out}");

    // SCHED_DEADLINE: the program is the probe itself (a deadline task
    // may not fork).
    let c = probe_config(|c| {
        c["process"]["scheduler"] = json!({
            "policy": "SCHED_DEADLINE", "runtime": 100000, "deadline": 1000000, "period": 1000000
        });
    });
    let out = run_ok(&oci, &c, "deadline");
    assert_eq!(
        line(&out, "sched"),
        "sched: policy=6 nice=0 priority=0 flags=0x0 runtime=100000 deadline=1000000 period=1000000",
        "{out}"
    );

    // Without either: the default policy and no I/O class set.
    let out = run_ok(&oci, &probe_config(|_| {}), "plain");
    assert!(
        line(&out, "sched").starts_with("sched: policy=0 nice=0 "),
        "{out}"
    );
    assert_eq!(line(&out, "ioprio"), "ioprio: class=0 level=0", "{out}");
}

#[test]
fn exec_takes_the_process_json_attributes_or_the_configs() {
    let oci = oci_with_probe("oci-sched-exec");
    let mut c = base_config(&["sleep", "1000"]);
    c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 3});
    c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 4});
    oci.write_config(&c);
    let id = oci.id("sched-exec");
    oci.create_detached(&id);
    // No --process: config.json's process, as runc.
    let out = oci.nsbox(&["exec", &id, "/bin/probe"]).success();
    assert!(
        line(&out.stdout, "sched").starts_with("sched: policy=3 nice=3 "),
        "{out:?}"
    );
    assert_eq!(line(&out.stdout, "ioprio"), "ioprio: class=2 level=4");

    // A process.json with its own.
    let mut p = c["process"].clone();
    p["args"] = json!(["/bin/probe"]);
    p["scheduler"] = json!({"policy": "SCHED_IDLE"});
    p["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
    let file = oci.dir.join("process.json");
    std::fs::write(&file, p.to_string()).unwrap();
    let file = file.display().to_string();
    let out = oci.nsbox(&["exec", "--process", &file, &id]).success();
    assert!(
        line(&out.stdout, "sched").starts_with("sched: policy=5 nice=0 "),
        "{out:?}"
    );
    assert_eq!(line(&out.stdout, "ioprio"), "ioprio: class=3 level=0");

    // One without: the container's (runc's newInitConfig).
    p.as_object_mut().unwrap().remove("scheduler");
    p.as_object_mut().unwrap().remove("ioPriority");
    std::fs::write(&file, p.to_string()).unwrap();
    let out = oci.nsbox(&["exec", "--process", &file, &id]).success();
    assert!(
        line(&out.stdout, "sched").starts_with("sched: policy=3 nice=3 "),
        "{out:?}"
    );

    // A bad one: one line naming the field in process.json; the container
    // runs on.
    p["scheduler"] = json!({"policy": "SCHED_OTHER", "nice": 40});
    std::fs::write(&file, p.to_string()).unwrap();
    let out = oci.nsbox(&["exec", "--process", &file, &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr
            .contains("process.json: scheduler.nice: 40 is not in -20..19"),
        "{out:?}"
    );
    assert_eq!(oci.state(&id)["status"], "created");
}

/// Whether this host puts the container under a cgroup v1 cpu controller
/// with real-time group scheduling (a new group gets no real-time
/// runtime, so SCHED_FIFO/RR are refused there unless the config gives
/// `linux.resources.cpu.realtimeRuntime`).
fn rt_group_sched() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists()
}

#[test]
fn real_time_policies_or_one_line_why_not() {
    let oci = oci_with_probe("oci-sched-rt");
    let c = probe_config(|c| {
        c["process"]["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 10});
    });
    oci.write_config(&c);
    let id = oci.id("fifo");
    let out = oci.run(&id);
    if rt_group_sched() {
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(
            out.stderr.starts_with(&format!(
                "nsbox: run {id}: set scheduler SCHED_FIFO (process.scheduler; a real-time policy"
            )),
            "{out:?}"
        );
        assert!(
            out.stderr
                .contains("realtimeRuntime): Operation not permitted"),
            "{out:?}"
        );
        assert!(!oci.state_dir(&id).exists(), "state left behind");
        assert_eq!(
            cgroups_named(&id),
            Vec::<String>::new(),
            "cgroups left behind"
        );
        // With real-time runtime for its cgroup, it runs.
        let mut c = c.clone();
        c["linux"]["resources"] = json!({"cpu": {"realtimeRuntime": 10000}});
        let out = run_ok(&oci, &c, "fifo-rt");
        assert!(
            line(&out, "sched").starts_with("sched: policy=1 nice=0 priority=10 "),
            "{out}"
        );
    } else {
        assert_eq!(out.code, 0, "{out:?}");
        assert!(
            line(&out.stdout, "sched").starts_with("sched: policy=1 nice=0 priority=10 "),
            "{out:?}"
        );
    }
}

#[test]
fn memory_policy_reaches_the_program_and_exec() {
    let oci = oci_with_probe("oci-mempolicy");
    let script = "/bin/probe; head -n 1 /proc/self/numa_maps";
    for (policy, mode, shown) in [
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
            "mode=32770 nodes=0x1",
            " bind=static:0 ",
        ),
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"}),
            "mode=3 nodes=0x1",
            " interleave:0 ",
        ),
        (
            json!({"mode": "MPOL_PREFERRED", "nodes": "0"}),
            "mode=1 nodes=0x1",
            " prefer:0 ",
        ),
        (json!({"mode": "MPOL_LOCAL"}), "mode=4 nodes=0x0", " local "),
    ] {
        let mut c = base_config(&["sh", "-c", script]);
        c["linux"]["memoryPolicy"] = policy.clone();
        let out = run_ok(&oci, &c, "mpol");
        assert_eq!(
            line(&out, "mempolicy"),
            format!("mempolicy: {mode}"),
            "{policy}"
        );
        let maps = out.lines().last().unwrap();
        assert!(maps.contains(shown), "{policy}: {out}");
    }
    // Without one: the default policy.
    let out = run_ok(&oci, &base_config(&["sh", "-c", script]), "mpol-none");
    assert_eq!(line(&out, "mempolicy"), "mempolicy: mode=0 nodes=0x0");
    assert!(out.lines().last().unwrap().contains(" default "), "{out}");

    // exec'd processes get the container's, as runc.
    let mut c = base_config(&["sleep", "1000"]);
    c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"});
    oci.write_config(&c);
    let id = oci.id("mpol-exec");
    oci.create_detached(&id);
    let out = oci
        .nsbox(&["exec", &id, "sh", "-c", "head -n 1 /proc/self/numa_maps"])
        .success();
    assert!(out.stdout.contains(" bind:0 "), "{out:?}");
}

#[test]
fn exec_cpu_affinity_initial_and_final() {
    let oci = Oci::new("oci-affinity");
    // Every CPU: the online ones (the test's cpuset is the root's here),
    // not our own affinity, which the reset must not depend on.
    let all = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .unwrap()
        .trim()
        .to_string();
    assert!(
        all.starts_with("0-") && !all.contains(','),
        "this test needs CPUs 0 and 1 online, the host has {all}"
    );
    let mut c = base_config(&["sleep", "1000"]);
    c["process"]["execCPUAffinity"] = json!({"final": "0"});
    oci.write_config(&c);
    let id = oci.id("aff");
    oci.create_detached(&id);
    let cpus = |out: &nsbox_testutil::Output| -> String {
        assert_eq!(out.code, 0, "{out:?}");
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap_or_else(|| panic!("{out:?}"))
            .trim()
            .to_string()
    };
    let status = ["grep", "Cpus_allowed_list", "/proc/self/status"];
    // config.json's process: the final set.
    let mut args = vec!["exec", id.as_str()];
    args.extend(status);
    assert_eq!(cpus(&oci.nsbox(&args)), "0");
    // The init is not an exec'd process: it keeps every CPU.
    let init_pid = oci.state(&id)["pid"].as_i64().unwrap();
    let init_status = std::fs::read_to_string(format!("/proc/{init_pid}/status")).unwrap();
    assert!(
        init_status.contains(&format!("Cpus_allowed_list:\t{all}\n")),
        "{init_status}"
    );

    let file = oci.dir.join("process.json");
    let with = |affinity: Option<Value>| {
        let mut p = c["process"].clone();
        p["args"] = json!(status);
        match affinity {
            Some(a) => p["execCPUAffinity"] = a,
            None => {
                p.as_object_mut().unwrap().remove("execCPUAffinity");
            }
        }
        std::fs::write(&file, p.to_string()).unwrap();
        file.display().to_string()
    };
    // initial then final: final wins once in the container.
    let f = with(Some(json!({"initial": "0", "final": "1"})));
    assert_eq!(cpus(&oci.nsbox(&["exec", "--process", &f, &id])), "1");
    // initial only: the process stays there (the spec: final omitted,
    // the affinity is not changed after the move).
    let f = with(Some(json!({"initial": "1"})));
    assert_eq!(cpus(&oci.nsbox(&["exec", "--process", &f, &id])), "1");
    // Neither (and none in config.json): every CPU, even when nsbox was
    // pinned (runc and crun reset it), for exec and for a new init.
    let mut base = c.clone();
    base["process"]
        .as_object_mut()
        .unwrap()
        .remove("execCPUAffinity");
    oci.write_config(&base);
    let id2 = oci.id("aff-none");
    oci.create_detached(&id2);
    let root = oci.root.display().to_string();
    let mut pinned = vec!["-c", "1", NSBOX, "--root", &root, "exec", &id2];
    pinned.extend(status);
    let out = nsbox_testutil::run("taskset", &pinned);
    assert_eq!(cpus(&out), all);
    let bundle = oci.bundle.display().to_string();
    let mut c3 = base.clone();
    c3["process"]["args"] = json!(status);
    oci.write_config(&c3);
    let id3 = oci.id("aff-init");
    let out = nsbox_testutil::run(
        "taskset",
        [
            "-c", "1", NSBOX, "--root", &root, "run", "--bundle", &bundle, &id3,
        ],
    );
    assert_eq!(cpus(&out), all);

    // A CPU the host does not have: one line, nothing started.
    let f = with(Some(json!({"final": "63"})));
    let out = oci.nsbox(&["exec", "--process", &f, &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr
            .contains("set CPU affinity 63 (process.execCPUAffinity): Invalid argument"),
        "{out:?}"
    );
}

#[test]
fn bad_values_are_refused_naming_the_field() {
    let oci = Oci::new("oci-sched-bad");
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/process/scheduler",
            json!({"policy": "SCHED_NOPE"}),
            "process.scheduler.policy: unknown scheduler policy \"SCHED_NOPE\"",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_ISO"}),
            "process.scheduler.policy: SCHED_ISO is not a Linux policy",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_NOPE"]}),
            "process.scheduler.flags[0]: unknown scheduler flag \"SCHED_FLAG_NOPE\"",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_RR"}),
            "process.scheduler.priority: SCHED_RR needs a priority in 1..99",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_DEADLINE", "runtime": 2000000, "deadline": 1000000}),
            "process.scheduler.runtime: 2000000 is above the deadline 1000000",
        ),
        (
            "/process/ioPriority",
            json!({"class": "IOPRIO_CLASS_NOPE"}),
            "process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_NOPE\"",
        ),
        (
            "/process/ioPriority",
            json!({"class": "IOPRIO_CLASS_BE", "priority": 8}),
            "process.ioPriority.priority: 8 is not in 0..7",
        ),
        (
            "/linux/memoryPolicy",
            json!({"mode": "MPOL_NOPE"}),
            "linux.memoryPolicy.mode: unknown memory policy mode \"MPOL_NOPE\"",
        ),
        (
            "/linux/memoryPolicy",
            json!({"mode": "MPOL_BIND"}),
            "linux.memoryPolicy.nodes: MPOL_BIND needs at least one node",
        ),
        (
            "/linux/memoryPolicy",
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "3-1"}),
            "linux.memoryPolicy.nodes: range \"3-1\" runs backwards",
        ),
        (
            "/linux/memoryPolicy",
            json!({"mode": "MPOL_PREFERRED", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}),
            "linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other",
        ),
        (
            "/process/execCPUAffinity",
            json!({"final": "one"}),
            "process.execCPUAffinity.final: Invalid execCPUAffinity format: one",
        ),
        (
            "/process/execCPUAffinity",
            json!({"initial": "3-1"}),
            "process.execCPUAffinity.initial: range \"3-1\" runs backwards",
        ),
    ];
    for (at, value, want) in cases {
        let mut c = base_config(&["true"]);
        let (parent, key) = at.rsplit_once('/').unwrap();
        c.pointer_mut(parent).unwrap()[key] = value.clone();
        oci.write_config(&c);
        let id = oci.id("bad");
        let out = oci.create(&id);
        assert_eq!(out.code, 1, "{value}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{value}: {out:?}");
        assert!(
            out.stderr
                .starts_with(&format!("nsbox: create {id}: config.json: {want}")),
            "{value}: {out:?}"
        );
        assert!(!oci.state_dir(&id).exists(), "state left behind");
    }
}

#[test]
fn a_policy_the_host_refuses_is_one_line_and_leaves_nothing() {
    let oci = Oci::new("oci-mempolicy-host");
    // No NUMA node 5 here: the kernel's EINVAL, at create.
    assert!(
        !std::path::Path::new("/sys/devices/system/node/node5").exists(),
        "this test needs a host without NUMA node 5"
    );
    let mut c = base_config(&["true"]);
    c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "5"});
    oci.write_config(&c);
    let id = oci.id("mpol-node5");
    let out = oci.create(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "nsbox: create {id}: set memory policy MPOL_BIND (linux.memoryPolicy): Invalid argument"
        )
    );
    assert!(!oci.state_dir(&id).exists(), "state left behind");
    assert_eq!(
        cgroups_named(&id),
        Vec::<String>::new(),
        "cgroups left behind"
    );
}

/// Every cgroup directory, in any hierarchy, whose name holds `id`.
fn cgroups_named(id: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if e.file_name().to_string_lossy().contains(id) {
                    found.push(e.path().display().to_string());
                }
                dirs.push(e.path());
            }
        }
    }
    found
}
