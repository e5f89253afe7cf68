//! What a process in a default container (`nsbox spec`'s config: runc's
//! safe defaults) must not be able to do, checked by trying it inside.

mod oci_common;

use oci_common::Oci;
use serde_json::Value;

/// `nsbox spec`'s config, made to run `sh -c script` without a terminal.
fn spec_config(oci: &Oci, script: &str) -> Value {
    let dir = oci.bundle.display().to_string();
    let _ = std::fs::remove_file(oci.bundle.join("config.json"));
    oci.nsbox(&["spec", "--bundle", &dir]).success();
    let text = std::fs::read_to_string(oci.bundle.join("config.json")).unwrap();
    let mut c: Value = serde_json::from_str(&text).unwrap();
    c["process"]["terminal"] = Value::Bool(false);
    c["process"]["args"] = serde_json::json!(["sh", "-c", script]);
    c
}

/// Runs `script` in a default container; every line it prints is one
/// attempt's outcome.
fn attempt(tag: &str, script: &str) -> String {
    let oci = Oci::new(tag);
    let c = spec_config(&oci, script);
    oci.write_config(&c);
    let out = oci.run(&oci.id(tag));
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout
}

#[test]
fn default_container_cannot_reach_the_host() {
    let host_pid = std::process::id();
    let out = attempt(
        "security",
        &format!(
            // Harmless attempts only: 'h' asks sysrq for help; printk is
            // written back with its own value.
            "echo h > /proc/sysrq-trigger 2>/dev/null && echo SYSRQ;
             cat /proc/sys/kernel/printk > /proc/sys/kernel/printk 2>/dev/null && echo PROCSYS;
             touch /sys/kernel/nsbox-test 2>/dev/null && echo SYS;
             mount -t tmpfs none /mnt 2>/dev/null && echo MOUNT;
             mknod /tmp/disk b 8 0 2>/dev/null && echo MKNOD;
             mknod /tmp/disk2 b 254 0 2>/dev/null && echo MKNOD2;
             chroot / true 2>/dev/null && echo CHROOT;
             insmod /nonexistent.ko 2>/dev/null; grep -q '^CapEff:' /proc/self/status && echo CAPS_READ;
             kill -0 {host_pid} 2>/dev/null && echo HOSTPID;
             ls /proc | grep -c '^[0-9]';
             grep '^CapEff:' /proc/self/status"
        ),
    );
    for forbidden in [
        "SYSRQ", "PROCSYS", "SYS\n", "MOUNT", "MKNOD", "CHROOT", "HOSTPID",
    ] {
        assert!(!out.contains(forbidden), "{forbidden} succeeded: {out}");
    }
    assert!(out.contains("CAPS_READ"), "{out}");
    // Only the container's own processes: sh and its children (ls, grep).
    let procs: u32 = out
        .lines()
        .find_map(|l| l.trim().parse().ok())
        .expect("process count");
    assert!(procs <= 4, "sees {procs} processes: {out}");
    // No capability to load modules (CAP_SYS_MODULE, bit 16) or to open
    // files by handle (CAP_DAC_READ_SEARCH, bit 2), or to chroot (bit 18).
    let eff = out
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .expect("CapEff");
    for (bit, name) in [
        (16, "CAP_SYS_MODULE"),
        (2, "CAP_DAC_READ_SEARCH"),
        (18, "CAP_SYS_CHROOT"),
        (21, "CAP_SYS_ADMIN"),
        (27, "CAP_MKNOD"),
    ] {
        assert_eq!(eff & (1 << bit), 0, "{name} is effective: {out}");
    }
}
