//! create → state → start → kill → delete, checked against the kernel.

mod oci_common;

use oci_common::{base_config, wait_status, Oci};

fn alive(pid: i64) -> bool {
    nsbox_ns::procstat::Stat::read(pid as u32)
        .ok()
        .flatten()
        .is_some_and(|s| !s.has_exited())
}

#[test]
fn create_start_kill_delete() {
    let oci = Oci::new("oci-life");
    oci.write_config(&base_config(&["sleep", "1000"]));
    let id = oci.id("life");
    let pid_file = oci.dir.join("pid");
    let bundle = oci.bundle.display().to_string();
    let pid_file_s = pid_file.display().to_string();
    oci.detached(&[
        "create",
        "--bundle",
        &bundle,
        "--pid-file",
        &pid_file_s,
        &id,
    ]);

    let st = oci.state(&id);
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["ociVersion"], "1.2.0");
    assert_eq!(st["bundle"], bundle.as_str());
    assert!(
        st["rootfs"].as_str().unwrap().ends_with("bundle/rootfs"),
        "{st}"
    );
    assert!(st["created"].as_str().unwrap().ends_with('Z'), "{st}");
    assert_eq!(st["owner"], "root");
    let pid = st["pid"].as_i64().unwrap();
    assert!(alive(pid));
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    // The program has not started: init still runs nsbox, waiting on the fifo.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "nsbox");

    let list = oci.nsbox(&["list", "-q"]).success();
    assert_eq!(list.stdout, format!("{id}\n"));
    let table = oci.nsbox(&["list"]).success();
    assert!(table.stdout.starts_with("ID "), "{table:?}");
    assert!(table.stdout.contains("created"), "{table:?}");

    oci.nsbox(&["start", &id]).success();
    assert_eq!(oci.state(&id)["status"], "running");
    // start returns once init is released; its execve follows right after.
    let comm = || std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while comm().trim() != "sleep" && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(comm().trim(), "sleep");
    // A second start has nothing to release.
    let again = oci.nsbox(&["start", &id]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("is running, not created"),
        "{again:?}"
    );

    // Running: delete refuses without --force.
    let refuse = oci.nsbox(&["delete", &id]);
    assert_eq!(refuse.code, 1, "{refuse:?}");
    assert!(refuse.stderr.contains("use --force"), "{refuse:?}");

    oci.nsbox(&["kill", &id, "KILL"]).success();
    let st = wait_status(&oci, &id, "stopped");
    assert_eq!(st["status"], "stopped", "{st}");
    assert_eq!(st["pid"], 0);
    let json = oci.nsbox(&["list", "--format", "json"]).success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v[0]["status"], "stopped");

    oci.nsbox(&["delete", &id]).success();
    assert!(!oci.state_dir(&id).exists());
    assert!(!oci_common::host_mounts_mention(&oci.bundle));
    let gone = oci.nsbox(&["state", &id]);
    assert_eq!(gone.code, 1);
    assert_eq!(
        gone.stderr.trim(),
        format!("nsbox: state {id}: container \"{id}\" does not exist")
    );
}

#[test]
fn killed_init_is_stopped_and_delete_cleans() {
    let oci = Oci::new("oci-kill9");
    oci.write_config(&base_config(&["sleep", "1000"]));
    let id = oci.id("kill9");
    oci.create_detached(&id);
    let pid = oci.state(&id)["pid"].as_i64().unwrap();
    nsbox_testutil::run("kill", ["-9", &pid.to_string()]).success();
    let st = wait_status(&oci, &id, "stopped");
    assert_eq!(st["status"], "stopped", "{st}");
    let start = oci.nsbox(&["start", &id]);
    assert_eq!(start.code, 1, "{start:?}");
    let kill = oci.nsbox(&["kill", &id]);
    assert_eq!(kill.code, 1, "{kill:?}");
    oci.nsbox(&["delete", &id]).success();
    assert!(!oci.state_dir(&id).exists());
}

#[test]
fn delete_of_created_kills_it_and_force_deletes_running() {
    let oci = Oci::new("oci-del");
    oci.write_config(&base_config(&["sleep", "1000"]));
    let created = oci.id("created");
    oci.create_detached(&created);
    let pid = oci.state(&created)["pid"].as_i64().unwrap();
    oci.nsbox(&["delete", &created]).success();
    assert!(!alive(pid));
    assert!(!oci.state_dir(&created).exists());

    let running = oci.id("running");
    let bundle = oci.bundle.display().to_string();
    oci.detached(&["run", "-d", "--bundle", &bundle, &running]);
    let pid = oci.state(&running)["pid"].as_i64().unwrap();
    assert_eq!(oci.state(&running)["status"], "running");
    oci.nsbox(&["delete", "--force", &running]).success();
    assert!(!alive(pid));
    assert!(!oci.state_dir(&running).exists());
    // --force on what does not exist is not an error (runc's behaviour).
    oci.nsbox(&["delete", "--force", &running]).success();
}

#[test]
fn kill_all_reaches_every_process() {
    let oci = Oci::new("oci-killall");
    oci.write_config(&base_config(&[
        "sh",
        "-c",
        "sleep 1000 & sleep 1000 & wait",
    ]));
    let id = oci.id("all");
    let bundle = oci.bundle.display().to_string();
    oci.detached(&["run", "-d", "--bundle", &bundle, &id]);
    let pid = oci.state(&id)["pid"].as_i64().unwrap();
    oci.nsbox(&["kill", "--all", &id, "9"]).success();
    let st = wait_status(&oci, &id, "stopped");
    assert_eq!(st["status"], "stopped");
    assert!(!alive(pid));
}

#[test]
fn log_file_gets_json_error_lines() {
    let oci = Oci::new("oci-log");
    let log = oci.dir.join("log.json");
    let log_s = log.display().to_string();
    let out = oci.nsbox(&["--log", &log_s, "--log-format", "json", "state", "nope"]);
    assert_eq!(out.code, 1);
    let text = std::fs::read_to_string(&log).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(v["level"], "error");
    assert_eq!(v["msg"], "container \"nope\" does not exist");
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn run_forwards_signals_to_the_container() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let oci = Oci::new("oci-fwd");
    oci.write_config(&base_config(&[
        "sh",
        "-c",
        "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done",
    ]));
    let id = oci.id("fwd");
    let mut child = Command::new(oci_common::NSBOX)
        .arg("--root")
        .arg(&oci.root)
        .args(["run", "--bundle"])
        .arg(&oci.bundle)
        .arg(&id)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    nsbox_testutil::run("kill", ["-TERM", &child.id().to_string()]).success();
    let status = child.wait().unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "got-term\n");
    assert_eq!(status.code(), Some(42));
    assert!(!oci.state_dir(&id).exists());
}

#[test]
fn ps_lists_the_containers_processes() {
    let oci = Oci::new("oci-ps");
    oci.write_config(&base_config(&[
        "sh",
        "-c",
        "sleep 1001 & sleep 1002 & wait",
    ]));
    let id = oci.id("ps");
    let bundle = oci.bundle.display().to_string();
    oci.detached(&["run", "-d", "--bundle", &bundle, &id]);
    let init = oci.state(&id)["pid"].as_i64().unwrap();
    // The sleeps may not have started yet.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let pids = loop {
        let out = oci.nsbox(&["ps", "--format", "json", &id]).success();
        let pids: Vec<i64> = serde_json::from_str(&out.stdout).unwrap();
        if pids.len() == 3 || std::time::Instant::now() > deadline {
            break pids;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(pids.len(), 3, "{pids:?}");
    assert_eq!(pids[0], init);
    let table = oci.nsbox(&["ps", &id]).success().stdout;
    assert!(table.starts_with("UID"), "{table}");
    assert!(
        table.contains("sleep 1001") && table.contains("sleep 1002"),
        "{table}"
    );
    assert_eq!(table.lines().count(), 4, "{table}");
}
