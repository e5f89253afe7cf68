//! `nsbox exec`: a new process inside a running container.

mod oci_common;

use oci_common::{base_config, Oci};

fn running(oci: &Oci, name: &str) -> String {
    oci.write_config(&base_config(&["sleep", "1000"]));
    let id = oci.id(name);
    let bundle = oci.bundle.display().to_string();
    oci.detached(&["run", "-d", "--bundle", &bundle, &id]);
    id
}

#[test]
fn exec_joins_the_container() {
    let oci = Oci::new("oci-exec-join");
    let id = running(&oci, "ej");
    let out = oci.nsbox(&[
        "exec",
        "-e",
        "X=y",
        "--cwd",
        "/tmp",
        &id,
        "sh",
        "-c",
        "hostname; echo x=$X; pwd; ls /proc | grep -c '^[0-9]'; cat /proc/1/comm; exit 5",
    ]);
    assert_eq!(out.code, 5, "{out:?}");
    let o = &out.stdout;
    assert!(o.starts_with("oci-test\nx=y\n/tmp\n"), "{o}");
    assert!(o.contains("sleep\n"), "{o}");
    // sleep, sh, and the subshell's ls and grep: the container's processes only.
    let n: u32 = o.lines().nth(3).unwrap().parse().unwrap();
    assert!(n <= 5, "{o}");
}

#[test]
fn exec_as_user_and_failures() {
    let oci = Oci::new("oci-exec-user");
    let id = running(&oci, "eu");
    let out = oci
        .nsbox(&["exec", "--user", "1000:1000", &id, "id"])
        .success();
    assert!(out.stdout.starts_with("uid=1000 gid=1000"), "{out:?}");
    let out = oci.nsbox(&["exec", &id, "/bin/nope"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        format!("nsbox: exec {id}: exec \"/bin/nope\": no such file or directory")
    );
    oci.nsbox(&["kill", &id, "KILL"]).success();
    assert_eq!(
        oci_common::wait_status(&oci, &id, "stopped")["status"],
        "stopped"
    );
    let out = oci.nsbox(&["exec", &id, "true"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("is stopped"), "{out:?}");
}

#[test]
fn exec_into_a_user_namespace_container() {
    let oci = Oci::new("oci-exec-userns");
    let mut c = base_config(&["sleep", "1000"]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"type": "user"}));
    c["linux"]["uidMappings"] =
        serde_json::json!([{"containerID": 0, "hostID": 500000, "size": 65536}]);
    c["linux"]["gidMappings"] =
        serde_json::json!([{"containerID": 0, "hostID": 500000, "size": 65536}]);
    oci.write_config(&c);
    let id = oci.id("eus");
    let bundle = oci.bundle.display().to_string();
    oci.detached(&["run", "-d", "--bundle", &bundle, &id]);
    let out = oci
        .nsbox(&[
            "exec",
            &id,
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map; touch /tmp/f && ls -n /tmp/f",
        ])
        .success();
    let o = &out.stdout;
    assert!(o.starts_with("0\n"), "{o}");
    assert!(o.contains("0     500000      65536"), "{o}");
    assert!(o.contains(" 0        0 "), "{o}");
}

#[test]
fn exec_with_a_tty() {
    let oci = Oci::new("oci-exec-tty");
    let id = running(&oci, "etty");
    let out = oci.nsbox(&["exec", "--tty", &id, "sh", "-c", "tty; exit 3"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stdout.replace('\r', ""), "/dev/pts/0\n");
    let out = oci.nsbox(&["exec", "-t", "-d", &id, "true"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("needs --console-socket"), "{out:?}");
}

#[test]
fn exec_process_json_detached_with_pid_file() {
    // How containerd's shim calls it.
    let oci = Oci::new("oci-exec-proc");
    let id = running(&oci, "ep");
    let process = oci.dir.join("process.json");
    std::fs::write(
        &process,
        serde_json::json!({
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh", "-c", "echo $$ > /tmp/exec.pid; sleep 1000"],
            "env": ["PATH=/bin"],
            "cwd": "/"
        })
        .to_string(),
    )
    .unwrap();
    let pid_file = oci.dir.join("exec.pid");
    let p = process.display().to_string();
    let f = pid_file.display().to_string();
    oci.detached(&["exec", "--process", &p, "--detach", "--pid-file", &f, &id]);
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let ns = |p: i32| std::fs::read_link(format!("/proc/{p}/ns/pid")).unwrap();
    let init = oci.state(&id)["pid"].as_i64().unwrap() as i32;
    assert_eq!(ns(pid), ns(init));
    // A bad process.json names its field.
    std::fs::write(
        &process,
        r#"{"args": "sh", "cwd": "/", "user": {"uid": 0, "gid": 0}}"#,
    )
    .unwrap();
    let out = oci.nsbox(&["exec", "--process", &p, &id]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("process.json: args: invalid type: string"),
        "{out:?}"
    );
}
