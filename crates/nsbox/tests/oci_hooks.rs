//! OCI hooks: each runs at its point, reads the state on stdin; failures
//! before start fail create, a poststart one fails start (and stops the
//! container), a poststop one is a warning (docs/hooks.md).

mod oci_common;

use oci_common::{base_config, Oci};
use serde_json::{json, Value};

/// A hook appending "NAME <state json>" to `log`.
fn recorder(name: &str, log: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("printf '{name} ' >> {log}; cat >> {log}; echo >> {log}")]
    })
}

#[test]
fn hooks_run_in_order_with_state() {
    let oci = Oci::new("oci-hooks");
    let log = oci.dir.join("hooks.log").display().to_string();
    let mut c = base_config(&["true"]);
    c["hooks"] = json!({
        "prestart": [recorder("prestart", &log)],
        "createRuntime": [recorder("createRuntime", &log)],
        "createContainer": [recorder("createContainer", &log)],
        // Runs inside the container, after pivot_root: its own /tmp.
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /tmp/startContainer.json"]}],
        "poststart": [recorder("poststart", &log)],
        "poststop": [recorder("poststop", &log)]
    });
    oci.write_config(&c);
    let id = oci.id("hooks");
    oci.run(&id).success();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<(&str, Value)> = text
        .lines()
        .map(|l| {
            let (name, json) = l.split_once(' ').unwrap();
            (name, serde_json::from_str(json).unwrap())
        })
        .collect();
    let names: Vec<&str> = lines.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ]
    );
    let (_, create_runtime) = &lines[1];
    assert_eq!(lines[0].1["status"], "created");
    assert_eq!(create_runtime["status"], "creating");
    assert_eq!(create_runtime["id"], id.as_str());
    assert!(create_runtime["pid"].as_i64().unwrap() > 1);
    assert_eq!(lines[2].1["pid"], create_runtime["pid"]);
    assert_eq!(lines[3].1["status"], "running");
    assert_eq!(lines[4].1["status"], "stopped");
    let inside =
        std::fs::read_to_string(oci.bundle.join("rootfs/tmp/startContainer.json")).unwrap();
    let v: Value = serde_json::from_str(&inside).unwrap();
    assert_eq!(v["status"], "running");
}

#[test]
fn failing_hooks_before_start_fail_create_and_leave_nothing() {
    let oci = Oci::new("oci-hooks-fail");
    for kind in ["createRuntime", "createContainer"] {
        let mut c = base_config(&["sleep", "1000"]);
        c["hooks"] = json!({ kind: [{"path": "/bin/false"}] });
        oci.write_config(&c);
        let id = oci.id(kind);
        let out = oci.create(&id);
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(
            out.stderr.trim(),
            format!("nsbox: create {id}: {kind} hook[0] /bin/false: exit status: 1")
        );
        assert!(!oci.state_dir(&id).exists());
    }
}

#[test]
fn failing_poststop_is_a_warning() {
    let oci = Oci::new("oci-hooks-warn");
    let mut c = base_config(&["true"]);
    c["hooks"] = json!({ "poststop": [{"path": "/bin/false"}] });
    oci.write_config(&c);
    let id = oci.id("warn");
    let out = oci.run(&id);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        format!("nsbox: run {id}: warning: poststop hook[0] /bin/false: exit status: 1")
    );
    assert!(!oci.state_dir(&id).exists());
}

#[test]
fn container_namespace_hooks_without_env_see_the_process_env() {
    let oci = Oci::new("oci-hooks-env");
    let out = oci.dir.join("create.env").display().to_string();
    let mut c = base_config(&["true"]);
    c["process"]["env"] = json!(["PATH=/bin", "ONE=two"]);
    c["hooks"] = json!({
        // Before pivot_root: the host's paths.
        "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c",
            format!("test \"$ONE\" = two && echo \"$ONE|$HOME\" > {out}")]}],
        // After it: the container's /tmp; a failure would stop the program.
        "startContainer": [
            {"path": "/bin/sh", "args": ["sh", "-c",
                "test \"$ONE\" = two && echo \"$ONE|$HOME\" > /tmp/start.env"]},
            {"path": "/bin/sh", "args": ["sh", "-c", "echo \"$ONE|$X\" > /tmp/own.env"],
             "env": ["X=ex"]}
        ]
    });
    oci.write_config(&c);
    oci.run(&oci.id("env")).success();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "two|\n");
    let tmp = oci.bundle.join("rootfs/tmp");
    // startContainer sees the process's environment as exec'd, HOME added.
    assert_eq!(
        std::fs::read_to_string(tmp.join("start.env")).unwrap(),
        "two|/root\n"
    );
    // A hook with an `env` of its own gets exactly that.
    assert_eq!(
        std::fs::read_to_string(tmp.join("own.env")).unwrap(),
        "|ex\n"
    );
}

#[test]
fn failing_poststart_fails_start_and_stops_the_container() {
    let oci = Oci::new("oci-hooks-poststart");
    let mut c = base_config(&["sleep", "1000"]);
    c["hooks"] = json!({ "poststart": [{"path": "/bin/false"}] });
    oci.write_config(&c);
    let id = oci.id("ps");
    oci.create_detached(&id);
    let out = oci.nsbox(&["start", &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        format!("nsbox: start {id}: poststart hook[0] /bin/false: exit status: 1")
    );
    // Killed and gone before start returned; the state stays for delete.
    assert_eq!(oci.state(&id)["status"], "stopped");
    oci.nsbox(&["delete", &id]).success();
    assert!(!oci.state_dir(&id).exists());
    // `run`: the same error, and nothing left.
    let id = oci.id("ps-run");
    let out = oci.run(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        format!("nsbox: run {id}: poststart hook[0] /bin/false: exit status: 1")
    );
    assert!(!oci.state_dir(&id).exists());
}

#[test]
fn failing_poststop_on_delete_is_a_warning() {
    let oci = Oci::new("oci-hooks-poststop");
    let log = oci.dir.join("second").display().to_string();
    let mut c = base_config(&["sleep", "1000"]);
    c["hooks"] = json!({ "poststop": [
        {"path": "/bin/false"},
        {"path": "/bin/sh", "args": ["sh", "-c", format!("echo ran > {log}")]}
    ] });
    oci.write_config(&c);
    let id = oci.id("pst");
    oci.create_detached(&id);
    let out = oci.nsbox(&["delete", &id]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        format!("nsbox: delete {id}: warning: poststop hook[0] /bin/false: exit status: 1")
    );
    // The remaining hooks run, and the container is gone.
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "ran\n");
    assert!(!oci.state_dir(&id).exists());
}
