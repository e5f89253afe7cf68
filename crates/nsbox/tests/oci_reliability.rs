//! Reliability under what engines do to a runtime. A `create` killed with
//! SIGKILL part-way (an engine's timeout, a crash) leaves nothing that
//! `delete --force` does not take away: the kernel, not nsbox's files, is
//! the judge (no cgroup named after the container in any hierarchy, no
//! process of it left, e.g. an init blocked on the exec fifo of a state
//! directory that is gone). Two creates of one id race: one wins, whole.
//! `list` and `state` during churn never see a half-written state.

mod oci_common;

use std::path::PathBuf;
use std::time::Duration;

use oci_common::{alive, base_config, cgroups_named, live_processes_with, Oci};
use serde_json::json;

/// Every cgroup directory named `nsbox-ID` on this host.
fn cgroups_of(id: &str) -> Vec<PathBuf> {
    cgroups_named(&format!("nsbox-{id}"))
}

/// Live processes whose command line holds `needle`.
fn processes_with(needle: &str) -> Vec<u32> {
    live_processes_with(needle, &[])
}

/// Empties every `created` list of a recorded cgroup handle: as recorded
/// before anything was made.
fn forget_made(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "created" {
                    *x = json!([]);
                } else {
                    forget_made(x);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(forget_made),
        _ => {}
    }
}

fn limited(oci: &Oci) {
    let mut c = base_config(&["sleep", "100"]);
    c["linux"]["resources"] = json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 100}});
    oci.write_config(&c);
}

/// The create got as far as its cgroup and its init (blocked on the exec
/// fifo) but not to state.json: `delete --force` kills the init and
/// removes the cgroup from what was recorded beside the state.
#[test]
fn a_create_killed_before_its_state_leaves_nothing_after_delete() {
    let oci = Oci::new("killed-after-cgroup");
    limited(&oci);
    for planned in [false, true] {
        let id = oci.id(if planned { "planned" } else { "made" });
        oci.create_detached(&id);
        let init = oci.state(&id)["pid"].as_u64().unwrap() as u32;
        let dir = oci.state_dir(&id);
        // as if killed before writing state.json ...
        std::fs::remove_file(dir.join("state.json")).unwrap();
        if planned {
            // ... and even before the cgroup was recorded as made
            let path = dir.join("cgroup.json");
            let mut v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            v["planned"] = json!(true);
            forget_made(&mut v);
            std::fs::write(&path, v.to_string()).unwrap();
        }
        assert!(!cgroups_of(&id).is_empty());
        oci.nsbox(&["delete", "--force", &id]).success();
        assert!(!dir.exists());
        assert_eq!(cgroups_of(&id), Vec::<PathBuf>::new(), "planned: {planned}");
        assert!(!alive(init), "init {init} left (planned: {planned})");
    }
}

/// 60 `run -d` killed after a random 0-8 ms, each followed by `delete
/// --force`: no cgroup, no process, no state left (issue 12's check; it
/// left a third of the cgroups and stray inits before).
#[test]
fn runs_killed_at_random_moments_leave_nothing() {
    let oci = Oci::new("killed-runs");
    limited(&oci);
    let root = oci.root.display().to_string();
    let bundle = oci.bundle.display().to_string();
    let mut rng = nsbox_testutil::Lcg(u64::from(std::process::id()));
    for i in 0..60 {
        let id = oci.id(&format!("k{i}"));
        let mut child = std::process::Command::new(oci_common::NSBOX)
            .args(["--root", &root, "run", "-d", "--bundle", &bundle, &id])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.draw() % 8000));
        let _ = child.kill();
        let _ = child.wait();
        oci.nsbox(&["delete", "--force", &id]).success();
        assert_eq!(cgroups_of(&id), Vec::<PathBuf>::new(), "{id}");
    }
    assert_eq!(processes_with(&root), Vec::<u32>::new());
    let left: Vec<_> = std::fs::read_dir(&oci.root)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// Two `create`s of one id at once, 10 times: exactly one wins each time,
/// the other fails with one line saying the id is in use, and the winner
/// is intact (created, its init waiting).
#[test]
fn two_creates_of_one_id_exactly_one_wins() {
    let oci = Oci::new("create-race");
    limited(&oci);
    let root = oci.root.display().to_string();
    let bundle = oci.bundle.display().to_string();
    for i in 0..10 {
        let id = oci.id(&format!("race{i}"));
        // stderr to files: the winner's init inherits it and lives on
        let spawn = |n: u32| {
            let err = oci.dir.join(format!("race{i}-{n}.err"));
            let child = std::process::Command::new(oci_common::NSBOX)
                .args(["--root", &root, "create", "--bundle", &bundle, &id])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(&err).unwrap())
                .spawn()
                .unwrap();
            (child, err)
        };
        let (mut a, mut b) = (spawn(0), spawn(1));
        let codes = [a.0.wait().unwrap(), b.0.wait().unwrap()];
        let said = [a.1, b.1].map(|p| std::fs::read_to_string(p).unwrap());
        assert_eq!(
            codes.iter().filter(|c| c.success()).count(),
            1,
            "{codes:?} {said:?}"
        );
        let lost = &said[usize::from(codes[0].success())];
        assert!(
            lost.starts_with(&format!(
                "nsbox: create {id}: container {id:?} already in use"
            )),
            "{lost}"
        );
        assert_eq!(lost.lines().count(), 1, "{lost}");
        let st = oci.state(&id);
        assert_eq!(st["status"], "created", "{st}");
        assert!(alive(st["pid"].as_u64().unwrap() as u32), "{st}");
        oci.nsbox(&["delete", "--force", &id]).success();
    }
}

/// `list` and `state` while containers are created, started and deleted
/// beside them: every call succeeds with whole JSON (state.json is only
/// ever replaced whole), 200 times.
#[test]
fn list_and_state_during_churn_see_whole_states() {
    let oci = Oci::new("list-churn");
    oci.write_config(&base_config(&["true"]));
    let root = oci.root.display().to_string();
    let bundle = oci.bundle.display().to_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (root, bundle, stop) = (root.clone(), bundle.clone(), stop.clone());
        let ids: Vec<String> = (0..1000).map(|i| oci.id(&format!("churn{i}"))).collect();
        std::thread::spawn(move || {
            for id in ids {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let run = nsbox_testutil::run(
                    oci_common::NSBOX,
                    ["--root", &root, "run", "--bundle", &bundle, &id],
                );
                assert_eq!(run.code, 0, "{run:?}");
            }
        })
    };
    for _ in 0..200 {
        let out = nsbox_testutil::run(
            oci_common::NSBOX,
            ["--root", &root, "list", "--format", "json"],
        );
        assert_eq!(out.code, 0, "{out:?}");
        let all: serde_json::Value =
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        for c in all.as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            let st = nsbox_testutil::run(oci_common::NSBOX, ["--root", &root, "state", id]);
            // gone in between is fine; anything else must be whole
            if st.code == 0 {
                let v: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
                assert_eq!(v["id"], id, "{v}");
            } else {
                assert!(st.stderr.contains("does not exist"), "{st:?}");
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
}

/// `start`, `exec` and `delete` killed with SIGKILL after a random 0-8 ms,
/// 20 times each, as an engine's timeout would: meanwhile `state` either
/// says the container does not exist or gives a whole state with a real
/// status, `list` parses, and `delete --force` then leaves no cgroup, no
/// process and no state.
#[test]
fn start_exec_and_delete_killed_at_random_moments_leave_nothing() {
    let oci = Oci::new("killed-verbs");
    limited(&oci);
    let root = oci.root.display().to_string();
    let mut rng = nsbox_testutil::Lcg(u64::from(std::process::id()) ^ 0x5eed);
    for verb in ["start", "exec", "delete"] {
        for i in 0..20 {
            let id = oci.id(&format!("{verb}{i}"));
            oci.create_detached(&id);
            if verb != "start" {
                oci.nsbox(&["start", &id]).success();
            }
            if verb == "delete" {
                oci.nsbox(&["kill", &id, "KILL"]).success();
                oci_common::wait_status(&oci, &id, "stopped");
            }
            let args: Vec<&str> = match verb {
                "start" => vec!["start", &id],
                "exec" => vec!["exec", &id, "sleep", "50"],
                _ => vec!["delete", &id],
            };
            let mut child = std::process::Command::new(oci_common::NSBOX)
                .args(["--root", &root])
                .args(&args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_micros(rng.draw() % 8000));
            let _ = child.kill();
            let _ = child.wait();

            let st = oci.nsbox(&["state", &id]);
            if st.code == 0 {
                let v: serde_json::Value = serde_json::from_str(&st.stdout)
                    .unwrap_or_else(|e| panic!("{id}: {e}: {st:?}"));
                let status = v["status"].as_str().unwrap_or_default().to_string();
                assert!(
                    ["created", "running", "stopped", "paused"].contains(&status.as_str()),
                    "{id}: {v}"
                );
            } else {
                assert!(st.stderr.contains("does not exist"), "{id}: {st:?}");
            }
            let list = oci.nsbox(&["list", "--format", "json"]).success();
            serde_json::from_str::<serde_json::Value>(&list.stdout)
                .unwrap_or_else(|e| panic!("{id}: list: {e}: {list:?}"));
            oci.nsbox(&["delete", "--force", &id]).success();
            assert_eq!(cgroups_of(&id), Vec::<PathBuf>::new(), "{id}");
            assert!(!oci.state_dir(&id).exists(), "{id}: state left");
        }
    }
    assert_eq!(processes_with(&root), Vec::<u32>::new());
}
