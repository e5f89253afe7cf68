//! Bad input to the OCI verbs: one line naming what is wrong, exit 1, and
//! nothing left behind.

mod oci_common;

use oci_common::{base_config, Oci};
use serde_json::json;

/// Runs `create` on the bundle and checks the one-line error and that no
/// state directory was left.
fn create_fails(oci: &Oci, id: &str, want: &str) {
    let out = oci.create(id);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!("nsbox: create {id}: ")),
        "{out:?}"
    );
    assert!(out.stderr.contains(want), "want {want:?}: {out:?}");
    assert!(!oci.state_dir(id).exists(), "state dir left behind");
}

#[test]
fn malformed_json_names_line_and_column() {
    let oci = Oci::new("oci-err-json");
    std::fs::write(
        oci.bundle.join("config.json"),
        "{\n  \"ociVersion\": \"1.2.0\",\n  oops\n}",
    )
    .unwrap();
    create_fails(
        &oci,
        &oci.id("json"),
        "config.json: line 3 column 3: key must be a string",
    );
}

#[test]
fn wrong_type_and_unknown_namespace_name_the_field() {
    let oci = Oci::new("oci-err-field");
    let mut c = base_config(&["true"]);
    c["process"]["args"] = json!("true");
    oci.write_config(&c);
    create_fails(
        &oci,
        &oci.id("type"),
        "config.json: process.args: invalid type: string",
    );

    let mut c = base_config(&["true"]);
    c["linux"]["namespaces"][2] = json!({"type": "nett"});
    oci.write_config(&c);
    let id = oci.id("nett");
    let out = oci.create(&id);
    assert_eq!(
        out.stderr.trim(),
        format!(
            "nsbox: create {id}: config.json: linux.namespaces[2].type: unknown namespace type \"nett\""
        )
    );
    assert!(!oci.state_dir(&id).exists());
}

#[test]
fn missing_rootfs_and_bad_namespace_path() {
    let oci = Oci::new("oci-err-rootfs");
    let mut c = base_config(&["true"]);
    c["root"]["path"] = json!("nowhere");
    oci.write_config(&c);
    create_fails(
        &oci,
        &oci.id("rootfs"),
        "nowhere: No such file or directory",
    );

    let mut c = base_config(&["true"]);
    c["linux"]["namespaces"][1] = json!({"type": "network", "path": "/proc/self/ns/uts"});
    oci.write_config(&c);
    create_fails(&oci, &oci.id("nspath"), "linux.namespaces[1].path");
}

#[test]
fn id_in_use_and_invalid_ids() {
    let oci = Oci::new("oci-err-id");
    oci.write_config(&base_config(&["sleep", "1000"]));
    let id = oci.id("taken");
    oci.create_detached(&id);
    let pid = oci.state(&id)["pid"].as_i64().unwrap();
    let out = oci.create(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("already in use"), "{out:?}");
    // The first container is untouched.
    assert_eq!(oci.state(&id)["status"], "created");
    assert_eq!(oci.state(&id)["pid"], pid);

    for bad in ["a/b", "..", ""] {
        let out = oci.create(bad);
        assert_eq!(out.code, 1, "{bad:?}: {out:?}");
        assert!(out.stderr.contains("invalid container id"), "{out:?}");
    }
}

#[test]
fn unknown_signal_and_unknown_container() {
    let oci = Oci::new("oci-err-kill");
    oci.write_config(&base_config(&["sleep", "1000"]));
    let id = oci.id("sig");
    oci.create_detached(&id);
    let out = oci.nsbox(&["kill", &id, "NOPE"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        format!("nsbox: kill {id}: unknown signal \"NOPE\"")
    );
    assert_eq!(oci.state(&id)["status"], "created");
    let out = oci.nsbox(&["delete", "ghost"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "nsbox: delete ghost: container \"ghost\" does not exist"
    );
}

#[test]
fn spec_writes_runc_default_once_and_features_is_json() {
    let oci = Oci::new("oci-spec");
    let dir = oci.dir.join("fresh");
    std::fs::create_dir(&dir).unwrap();
    let d = dir.display().to_string();
    oci.nsbox(&["spec", "--bundle", &d]).success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(v["process"]["noNewPrivileges"], true);
    assert_eq!(v["root"]["readonly"], true);
    let again = oci.nsbox(&["spec", "--bundle", &d]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already exists"), "{again:?}");

    let f = oci.nsbox(&["features"]).success();
    let v: serde_json::Value = serde_json::from_str(&f.stdout).unwrap();
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert_eq!(v["linux"]["namespaces"].as_array().unwrap().len(), 8);
}

/// A state.json cut short (as a power loss could leave it: it is renamed
/// into place without fsync) is refused by a plain delete, naming the file,
/// and removed by `delete --force`.
#[test]
fn cut_short_state_is_removed_by_force() {
    let oci = Oci::new("cutshort");
    oci.write_config(&base_config(&["true"]));
    let id = oci.id("cut");
    // A stopped container: run it to completion, then put its directory
    // back as a crash would leave it.
    oci.run(&id).success();
    std::fs::create_dir_all(oci.state_dir(&id)).unwrap();
    std::fs::write(oci.state_dir(&id).join("state.json"), "{\"oci\": {\"id\"").unwrap();

    let plain = oci.nsbox(&["delete", &id]);
    assert_eq!(plain.code, 1, "{plain:?}");
    assert_eq!(plain.stderr.lines().count(), 1, "{plain:?}");
    assert!(plain.stderr.contains("state.json"), "{plain:?}");
    assert!(oci.state_dir(&id).exists());

    oci.nsbox(&["delete", "--force", &id]).success();
    assert!(!oci.state_dir(&id).exists());
}

/// A systemd-style cgroupsPath (what `--systemd-cgroup` engines send) needs
/// the systemd driver: one line saying so, nothing made.
#[test]
fn systemd_cgroup_path_is_refused_clearly() {
    let oci = Oci::new("systemd-cg");
    let mut c = base_config(&["true"]);
    c["linux"]["cgroupsPath"] = json!("system.slice:nsbox:sd1");
    oci.write_config(&c);
    let id = oci.id("sd");
    let bundle = oci.bundle.display().to_string();
    let out = oci.nsbox(&["--systemd-cgroup", "create", "--bundle", &bundle, &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.contains(
            "linux.cgroupsPath \"system.slice:nsbox:sd1\" is systemd's slice:prefix:name form"
        ),
        "{out:?}"
    );
    assert!(!oci.state_dir(&id).exists());
}
