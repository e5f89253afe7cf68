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
        format!("nsbox: exec {id}: exec \"/bin/nope\": No such file or directory")
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
