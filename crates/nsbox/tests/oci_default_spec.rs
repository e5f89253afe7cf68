//! A container from a default `nsbox spec` is closed to the host's kernel
//! keyrings, module loading and new user namespaces (its default seccomp
//! profile), while an ordinary workload runs. Each refusal is checked
//! against the same spec without `linux.seccomp`, so the test shows what the
//! profile changes, not what the kernel would refuse anyway.

mod oci_common;

use oci_common::Oci;
use serde_json::{json, Value};

/// The probe's source (keyctl, finit_module, raw clone and clone3).
const PROBE_C: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/probes/syscall_probe.c");

/// `nsbox spec`'s config.json, made to run `script` without a terminal.
fn default_spec(oci: &Oci, script: &str) -> Value {
    let config = oci.bundle.join("config.json");
    std::fs::remove_file(&config).unwrap();
    let bundle = oci.bundle.display().to_string();
    oci.nsbox(&["spec", "--bundle", &bundle]).success();
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert!(
        c["linux"]["seccomp"]["syscalls"].is_array(),
        "nsbox spec wrote no seccomp profile: {c}"
    );
    c["process"]["terminal"] = json!(false);
    c["process"]["args"] = json!(["sh", "-c", script]);
    c
}

/// Runs `config` and returns its stdout (exit 0 required).
fn run(oci: &Oci, config: &Value, name: &str) -> String {
    oci.write_config(config);
    let out = oci.run(&oci.id(name));
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout
}

/// The host root's user keyring (the one a container's uid 0 shares).
fn host_user_keyring() -> i64 {
    // SAFETY: keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0) takes
    // integers only and creates nothing.
    let id = unsafe { libc::syscall(libc::SYS_keyctl, 0, -4, 0) };
    assert!(id > 0, "{}", std::io::Error::last_os_error());
    id
}

const PROBES: &str = "probe keyctl; probe finit_module; probe clone_newuser; probe clone3; \
     if unshare -U true; then echo unshare: ok; fi; exit 0";

#[test]
fn default_spec_closes_keyring_modules_and_user_namespaces() {
    let oci = Oci::new("oci-default-spec");
    oci_common::install_probe(&oci, PROBE_C);
    let host_ring = host_user_keyring();
    let c = default_spec(&oci, PROBES);

    let out = run(&oci, &c, "closed");
    assert!(out.contains("keyctl: Operation not permitted\n"), "{out}");
    assert!(!out.contains(&host_ring.to_string()), "{out}");
    assert!(
        out.contains("finit_module: Operation not permitted\n"),
        "{out}"
    );
    assert!(
        out.contains("clone_newuser: Operation not permitted\n"),
        "{out}"
    );
    // clone3's flags are out of a filter's reach: ENOSYS sends libc to clone.
    assert!(out.contains("clone3: Function not implemented\n"), "{out}");
    assert!(!out.contains("unshare: ok"), "{out}");

    // The same spec without the profile: the container reaches the host
    // root's keyring and makes a user namespace; the kernel, not a
    // capability check, answers finit_module and clone3.
    let mut open = c.clone();
    open["linux"]
        .as_object_mut()
        .unwrap()
        .remove("seccomp")
        .unwrap();
    let out = run(&oci, &open, "open");
    assert!(out.contains(&format!("keyctl: ok {host_ring}\n")), "{out}");
    assert!(out.contains("clone_newuser: ok"), "{out}");
    assert!(out.contains("unshare: ok"), "{out}");
    assert!(!out.contains("clone3: Function not implemented"), "{out}");
}

#[test]
fn added_capability_does_not_rewrite_the_written_profile() {
    // nsbox spec chose the profile for runc's three capabilities. Adding
    // CAP_SYS_MODULE to the process afterwards leaves module loading
    // refused by the profile (as a Docker profile written for those
    // capabilities would); without the profile, the capability gets the
    // call past the permission check (EBADF, or ENOSYS on a kernel without
    // modules), so the EPERM is the profile's.
    let oci = Oci::new("oci-default-spec-caps");
    oci_common::install_probe(&oci, PROBE_C);
    let mut c = default_spec(&oci, "probe finit_module; exit 0");
    for set in ["bounding", "effective", "permitted"] {
        c["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SYS_MODULE"));
    }
    let out = run(&oci, &c, "module");
    assert_eq!(out, "finit_module: Operation not permitted\n");

    c["linux"].as_object_mut().unwrap().remove("seccomp");
    let out = run(&oci, &c, "module-open");
    assert!(out.starts_with("finit_module: "), "{out}");
    assert_ne!(out, "finit_module: Operation not permitted\n");
}

#[test]
fn default_spec_runs_an_ordinary_workload() {
    let oci = Oci::new("oci-default-spec-work");
    // Processes, pipes, files in a tmpfs, signals, the clock, ps's /proc.
    let c = default_spec(
        &oci,
        "set -e; echo hello | tr a-z A-Z; (sleep 0.1 &); wait; \
         mkdir -p /dev/shm/w && echo data > /dev/shm/w/f && cat /dev/shm/w/f; \
         date +%Y >/dev/null; ps | grep -c sh >/dev/null; \
         sh -c 'kill -TERM $$' || echo killed=$?; \
         cat /proc/self/status | grep -q Seccomp:.2 && echo filtered",
    );
    let out = run(&oci, &c, "work");
    assert_eq!(out, "HELLO\ndata\nkilled=143\nfiltered\n");
}
