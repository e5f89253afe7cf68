//! OCI hooks: each runs at its point, reads the state on stdin; failures
//! before start fail create, later ones are warnings.

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
