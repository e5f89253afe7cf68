//! `--no-pivot` (runc's flag): the rootfs is moved onto / (MS_MOVE) and
//! chrooted into instead of pivot_root; every other step still happens
//! (mounts, masked and read-only paths, read-only root), all inside the
//! container's mount namespace, so the host's mount table never changes.

mod oci_common;

use std::collections::BTreeSet;

use oci_common::{base_config, Oci};

fn host_mounts() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn no_pivot_enters_the_rootfs_and_changes_no_host_mount() {
    let oci = Oci::new("oci-nopivot");
    std::fs::write(oci.bundle.join("rootfs/marker"), "inside-rootfs\n").unwrap();
    let before = host_mounts();
    let bundle = oci.bundle.display().to_string();

    let mut c = base_config(&[
        "sh",
        "-c",
        "cat /marker; pwd; wc -c </proc/timer_list; \
         grep -c ' /proc/sys ro,' /proc/self/mountinfo; \
         touch /x 2>/dev/null || echo root-ro",
    ]);
    c["root"]["readonly"] = true.into();
    oci.write_config(&c);
    let id = oci.id("nopivot");
    let out = oci
        .nsbox(&["run", "--no-pivot", "--bundle", &bundle, &id])
        .success();
    // The rootfs is /, /proc/timer_list masked, /proc/sys read-only, the
    // root read-only.
    assert_eq!(out.stdout, "inside-rootfs\n/\n0\n1\nroot-ro\n", "{out:?}");

    // Created, exec'd into, deleted: the host's mounts are as before. The
    // root given through a symlink: its own proc must survive the hiding
    // of the host's.
    std::os::unix::fs::symlink("rootfs", oci.bundle.join("rootfs-link")).unwrap();
    c["root"]["path"] = "rootfs-link".into();
    c["root"]["readonly"] = false.into();
    c["process"]["args"] = serde_json::json!(["sleep", "1000"]);
    oci.write_config(&c);
    let id = oci.id("nopivot-live");
    oci.detached(&["create", "--no-pivot", "--bundle", &bundle, &id]);
    let pid = oci.state(&id)["pid"].as_u64().unwrap();
    let marker = std::fs::read_to_string(format!("/proc/{pid}/root/marker")).unwrap();
    assert_eq!(marker, "inside-rootfs\n");
    let out = oci
        .nsbox(&["exec", &id, "sh", "-c", "cat /marker /proc/1/comm"])
        .success();
    // Not started yet: PID 1 is still nsbox's init.
    assert_eq!(out.stdout, "inside-rootfs\nnsbox\n");
    oci.nsbox(&["start", &id]).success();
    oci.nsbox(&["delete", "--force", &id]).success();
    assert!(!oci_common::host_mounts_mention(&oci.bundle));
    let after = host_mounts();
    assert_eq!(
        before.symmetric_difference(&after).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "the host's mount table changed"
    );
}
