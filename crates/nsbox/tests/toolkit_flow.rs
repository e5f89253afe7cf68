//! The namespace toolkit used together, as the seeds use util-linux: a
//! namespace kept on a file by `nsbox unshare --net=FILE` outlives its
//! process, is entered by `nsbox enter --net=FILE`, and `nsbox ns ls` lists
//! it with what holds it. Only nsbox commands are used.

use std::path::Path;

use nsbox_testutil::{require_root, run, Output, TempDir};

fn nsbox(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_nsbox"), args)
}

/// Unmounts the kept namespace even when an assertion fails (TempDir would
/// too, but this keeps the order explicit: unmount, then remove the file).
struct Kept<'a>(&'a Path);

impl Drop for Kept<'_> {
    fn drop(&mut self) {
        nsbox_testutil::unmount_beneath(self.0);
    }
}

fn ns_inode_of(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}

#[test]
fn kept_net_namespace_is_entered_and_listed_with_its_holder() {
    require_root();
    let dir = TempDir::new("flow");
    let file = dir.join("netns");
    let _kept = Kept(&file);

    // The process configures its namespace and exits; the namespace stays.
    nsbox(&[
        "unshare",
        &format!("--net={}", file.display()),
        "sh",
        "-c",
        "ip link set lo up",
    ])
    .success();
    let ino = ns_inode_of(&file);
    assert_ne!(
        ino,
        ns_inode_of(Path::new("/proc/self/ns/net")),
        "a new namespace was kept"
    );

    // Entering it finds the same namespace, with lo still up from before.
    let out = nsbox(&[
        "enter",
        &format!("--net={}", file.display()),
        "sh",
        "-c",
        // Not /sys/class/net: sysfs shows the namespace it was mounted in.
        "readlink /proc/self/ns/net; ip -o link show",
    ])
    .success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], format!("net:[{ino}]"), "{out:?}");
    assert_eq!(lines.len(), 2, "only lo in the kept namespace: {out:?}");
    assert!(
        lines[1].starts_with("1: lo: <LOOPBACK,UP,LOWER_UP>"),
        "lo is still up from the first process: {out:?}"
    );

    // ns ls lists it with no process and names the mount that holds it.
    let out = nsbox(&["ns", "ls", "-J", "-t", "net", "-o", "NS,TYPE,NPROCS,HOLDER"]).success();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let row = json["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ns"] == ino)
        .unwrap_or_else(|| panic!("namespace {ino} not listed: {}", out.stdout));
    assert_eq!(row["type"], "net");
    assert_eq!(row["nprocs"], 0);
    assert_eq!(row["holder"], format!("mount {}", file.display()));

    // Once unmounted, nothing holds it and it is gone from the listing.
    nsbox_testutil::unmount_beneath(&file);
    let out = nsbox(&["ns", "ls", "-J", "-t", "net", "-o", "NS"]).success();
    assert!(!out.stdout.contains(&ino.to_string()), "{}", out.stdout);
}
