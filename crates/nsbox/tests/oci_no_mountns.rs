//! A config with no mount namespace (runtime-tools' `linux_ns_itype`): the
//! container shares the host's mount namespace, is chrooted into its
//! rootfs, and the host's mount table does not change.

mod oci_common;

use oci_common::{base_config, Oci};
use serde_json::{json, Value};

/// base_config without a mount namespace (and without what needs one).
fn shared_mounts_config(args: &[&str]) -> Value {
    let mut c = base_config(args);
    c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}]);
    let linux = c["linux"].as_object_mut().unwrap();
    linux.remove("maskedPaths");
    linux.remove("readonlyPaths");
    c
}

/// The line of the host's root mount (its propagation included).
fn host_root_line() -> String {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .unwrap()
        .to_string()
}

fn mnt_ns(pid: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn runs_chrooted_in_the_hosts_mount_namespace() {
    let oci = Oci::new("oci-nomntns");
    std::fs::write(oci.bundle.join("rootfs/marker"), "inside-rootfs\n").unwrap();
    let root_before = host_root_line();
    oci.write_config(&shared_mounts_config(&[
        "sh",
        "-c",
        "cat /marker; echo procs=$(ls /proc | wc -l); pwd; hostname",
    ]));
    let id = oci.id("nomnt");
    let out = oci.run(&id).success();
    // The rootfs is /, nothing was mounted in it (its /proc stays empty).
    assert_eq!(
        out.stdout, "inside-rootfs\nprocs=0\n/\noci-test\n",
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("mounts: not applied without a mount namespace"),
        "{out:?}"
    );
    assert!(!oci_common::host_mounts_mention(&oci.bundle));

    // Created and looked at from outside: our mount namespace, its root.
    oci.write_config(&shared_mounts_config(&["sleep", "1000"]));
    let id = oci.id("nomnt-live");
    oci.create_detached(&id);
    let pid = oci.state(&id)["pid"].as_u64().unwrap().to_string();
    assert_eq!(mnt_ns(&pid), mnt_ns("self"));
    let marker = std::fs::read_to_string(format!("/proc/{pid}/root/marker")).unwrap();
    assert_eq!(marker, "inside-rootfs\n");
    assert!(!oci_common::host_mounts_mention(&oci.bundle));
    // exec lands in the same root.
    let out = oci.nsbox(&["exec", &id, "cat", "/marker"]).success();
    assert_eq!(out.stdout, "inside-rootfs\n");
    oci.nsbox(&["delete", "--force", &id]).success();
    assert!(!oci_common::host_mounts_mention(&oci.bundle));
    assert_eq!(host_root_line(), root_before, "the host's / changed");
}

#[test]
fn what_needs_a_mount_namespace_is_refused() {
    let oci = Oci::new("oci-nomntns-refused");
    let mut c = shared_mounts_config(&["true"]);
    c["linux"]["maskedPaths"] = json!(["/proc/kcore"]);
    oci.write_config(&c);
    let id = oci.id("nomnt-refused");
    let out = oci.run(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("linux.maskedPaths: needs a mount namespace"),
        "{out:?}"
    );
    assert!(!oci.state_dir(&id).exists());
}
