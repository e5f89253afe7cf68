//! An unprivileged user runs a container: `spec --rootless` maps root in
//! the container to the caller; nsbox writes the maps itself.

mod oci_common;

use std::os::unix::fs::chown;

use oci_common::{Oci, NSBOX};

const UID: u32 = 1000;

/// Runs nsbox as UID:UID with no supplementary groups.
fn as_user(args: &[&str]) -> nsbox_testutil::Output {
    let uid = UID.to_string();
    let mut all = vec!["--reuid", &uid, "--regid", &uid, "--clear-groups", NSBOX];
    all.extend_from_slice(args);
    nsbox_testutil::run("setpriv", &all)
}

#[test]
fn rootless_spec_runs_unprivileged() {
    let oci = Oci::new("oci-rootless");
    let fresh = oci.dir.join("rl");
    std::fs::create_dir(&fresh).unwrap();
    chown(&fresh, Some(UID), Some(UID)).unwrap();
    let state = oci.dir.join("rl-state");
    std::fs::create_dir(&state).unwrap();
    chown(&state, Some(UID), Some(UID)).unwrap();
    let fresh_s = fresh.display().to_string();
    as_user(&["spec", "--rootless", "--bundle", &fresh_s]).success();
    let mut c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fresh.join("config.json")).unwrap()).unwrap();
    assert_eq!(c["linux"]["uidMappings"][0]["hostID"], UID);
    c["process"]["terminal"] = false.into();
    c["process"]["args"] =
        serde_json::json!(["sh", "-c", "id; cat /proc/self/uid_map; echo pid=$$"]);
    c["root"]["path"] = oci.bundle.join("rootfs").display().to_string().into();
    std::fs::write(fresh.join("config.json"), c.to_string()).unwrap();
    let id = oci.id("rootless");
    let state_s = state.display().to_string();
    let out = as_user(&["--root", &state_s, "run", "--bundle", &fresh_s, &id]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("uid=0(root) gid=0(root)"), "{out:?}");
    assert!(out.stdout.contains("0       1000          1"), "{out:?}");
    assert!(out.stdout.contains("pid=1\n"), "{out:?}");
    assert!(!state.join(&id).exists());
}
