//! linux.seccomp (and LSM labels), checked by what the container's
//! processes see: errno values, argument conditions, kills, exec'd
//! processes, the NOTIFY listener handed to `listenerPath`.

mod oci_common;

use oci_common::{base_config, Oci};
use serde_json::{json, Value};

fn with_seccomp(args: &[&str], nnp: bool, seccomp: Value) -> Value {
    let mut c = base_config(args);
    c["process"]["noNewPrivileges"] = json!(nnp);
    c["linux"]["seccomp"] = seccomp;
    c
}

fn deny_mkdir(errno: u32) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]
    })
}

#[test]
fn errno_ret_reaches_the_process_with_and_without_nnp() {
    let oci = Oci::new("seccomp-errno");
    // Without no_new_privs the filter must go in while CAP_SYS_ADMIN is
    // held (the config's capabilities do not include it).
    for nnp in [true, false] {
        oci.write_config(&with_seccomp(
            &[
                "sh",
                "-c",
                "mkdir /made; echo rc=$?; touch /file && echo touched",
            ],
            nnp,
            deny_mkdir(libc::EACCES as u32),
        ));
        let out = oci.run(&oci.id(&format!("errno-{nnp}")));
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stderr.contains("Permission denied"), "{out:?}");
        assert!(
            out.stdout.contains("rc=1") && out.stdout.contains("touched"),
            "{out:?}"
        );
        assert!(!oci.bundle.join("rootfs/made").exists());
    }
}

#[test]
fn argument_conditions_select_calls() {
    let oci = Oci::new("seccomp-args");
    let seccomp = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 2, "value": 0o777, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fchmod"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 0o7777, "valueTwo": 0o777, "op": "SCMP_CMP_MASKED_EQ"}]}
        ]
    });
    oci.write_config(&with_seccomp(
        &[
            "sh",
            "-c",
            "touch /f; chmod 755 /f && echo ok755; chmod 777 /f || echo denied777; stat -c %a /f",
        ],
        true,
        seccomp,
    ));
    let out = oci.run(&oci.id("args"));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "ok755\ndenied777\n755\n", "{out:?}");
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
}

#[test]
fn default_action_errno_applies_to_unlisted_calls() {
    let oci = Oci::new("seccomp-default");
    // Allow every call libseccomp knows but mkdir/mkdirat: those get the default.
    let mut names = Vec::new();
    for nr in 0..1024 {
        if let Ok(name) = libseccomp::ScmpSyscall::from(nr).get_name() {
            if name != "mkdir" && name != "mkdirat" {
                names.push(name);
            }
        }
    }
    let seccomp = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": libc::EROFS,
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]
    });
    oci.write_config(&with_seccomp(&["mkdir", "/made"], true, seccomp));
    let out = oci.run(&oci.id("default"));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
}

#[test]
fn kill_process_ends_with_sigsys() {
    let oci = Oci::new("seccomp-kill");
    let seccomp = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]
    });
    oci.write_config(&with_seccomp(&["mkdir", "/made"], true, seccomp));
    let out = oci.run(&oci.id("kill"));
    assert_eq!(out.code, 128 + libc::SIGSYS, "{out:?}");
}

#[test]
fn unknown_names_are_one_line_and_leave_nothing() {
    let oci = Oci::new("seccomp-bad");
    for (seccomp, want) in [
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_EXPLODE"}]}),
            r#"linux.seccomp.syscalls[0].action: unknown seccomp action "SCMP_ACT_EXPLODE""#,
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}),
            r#"linux.seccomp.architectures[0]: unknown seccomp architecture "SCMP_ARCH_Z80""#,
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_BOGUS"]}),
            r#"linux.seccomp.flags[0]: unknown seccomp flag "SECCOMP_FILTER_FLAG_BOGUS""#,
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW",
                                 "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_ALMOST"}]}]}),
            r#"linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "SCMP_CMP_ALMOST""#,
        ),
    ] {
        oci.write_config(&with_seccomp(&["true"], true, seccomp));
        let id = oci.id("bad");
        let out = oci.run(&id);
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(out.stderr.contains(want), "{out:?}");
        assert!(!oci.state_dir(&id).exists());
    }
}

#[test]
fn exec_gets_the_container_filter() {
    let oci = Oci::new("seccomp-exec");
    oci.write_config(&with_seccomp(
        &["sleep", "30"],
        true,
        deny_mkdir(libc::EACCES as u32),
    ));
    let id = oci.id("exec");
    oci.create_detached(&id);
    oci.nsbox(&["start", &id]).success();
    let out = oci.nsbox(&["exec", &id, "mkdir", "/made"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("Permission denied"), "{out:?}");
    oci.nsbox(&["exec", &id, "touch", "/file"]).success();
}

#[test]
fn notify_hands_the_listener_to_listener_path() {
    use std::os::unix::net::UnixListener;
    let oci = Oci::new("seccomp-notify");
    let path = oci.dir.join("agent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let mut c = with_seccomp(
        &["mkdir", "/made"],
        true,
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": path,
            "listenerMetadata": "hello",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
        }),
    );
    c["process"]["noNewPrivileges"] = json!(true);
    oci.write_config(&c);
    let id = oci.id("notify");
    let agent = agent(listener);
    let out = oci.run(&id);
    let (state, nfds) = agent.join().unwrap();
    assert_eq!(nfds, 1, "{state}");
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["metadata"], "hello", "{state}");
    assert_eq!(state["state"]["id"], id.as_str(), "{state}");
    assert!(state["pid"].as_u64().unwrap() > 1, "{state}");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("Function not implemented"), "{out:?}");
}

/// Whether AppArmor is enabled, by the runtime's own test (the module
/// says so and its securityfs directory is there).
fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|v| v.trim_start().starts_with('Y'))
        && std::path::Path::new("/sys/kernel/security/apparmor").exists()
}

fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// A config asking for `value` at `pointer` (`/process/apparmorProfile`,
/// `/process/selinuxLabel`), running `args`.
fn with_label(pointer: &str, value: &str, args: &[&str]) -> Value {
    let mut c = base_config(args);
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    c.pointer_mut(parent).unwrap()[key] = json!(value);
    c
}

/// A label for an LSM the host does not run is one error before anything
/// is made (as runc). On a host that runs it (tests/vm's Debian kernel has
/// AppArmor on), see `apparmor_profile_is_applied_or_its_absence_named`.
#[test]
fn unavailable_lsm_is_one_error() {
    let oci = Oci::new("lsm");
    let mut cases = vec![];
    if !apparmor_enabled() {
        cases.push((
            "/process/apparmorProfile",
            "process.apparmorProfile: AppArmor profile \"nsbox-test\" requested but AppArmor",
        ));
    }
    if !selinux_enabled() {
        cases.push((
            "/process/selinuxLabel",
            "process.selinuxLabel: SELinux label \"nsbox-test\" requested but SELinux",
        ));
    }
    if cases.is_empty() {
        return nsbox_testutil::skip_here("AppArmor and SELinux both enabled", &["v2"]);
    }
    for (pointer, want) in cases {
        oci.write_config(&with_label(pointer, "nsbox-test", &["true"]));
        let id = oci.id("lsm");
        let out = oci.run(&id);
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(
            out.stderr.trim_end(),
            format!("nsbox: run {id}: config.json: {want} is not enabled on this host")
        );
        assert!(!oci.state_dir(&id).exists());
    }
}

/// With AppArmor on, the profile becomes the container process's at exec:
/// `unconfined` (always there) is taken, and a profile not loaded fails
/// the run naming the file init wrote, leaving nothing.
#[test]
fn apparmor_profile_is_applied_or_its_absence_named() {
    if !apparmor_enabled() {
        return nsbox_testutil::skip_here("AppArmor is not enabled", &["v2"]);
    }
    let oci = Oci::new("apparmor");
    let pointer = "/process/apparmorProfile";
    oci.write_config(&with_label(
        pointer,
        "unconfined",
        &["cat", "/proc/self/attr/current"],
    ));
    let out = oci.run(&oci.id("aa-unconfined"));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout.trim_end_matches(['\n', '\0']),
        "unconfined",
        "{out:?}"
    );
    oci.write_config(&with_label(pointer, "nsbox-test-not-loaded", &["true"]));
    let id = oci.id("aa-missing");
    let out = oci.run(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!("nsbox: run {id}: ")),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(
            "set exec label in /proc/thread-self/attr/apparmor/exec: No such file or directory"
        ),
        "{out:?}"
    );
    assert!(!oci.state_dir(&id).exists());
}

/// A mount label cannot protect anything without SELinux, and `context=`
/// would make every mount fail: the container runs, with a warning.
#[test]
fn mount_label_without_selinux_is_ignored_with_a_warning() {
    if selinux_enabled() {
        return nsbox_testutil::skip_here("SELinux is enabled", &["v2"]);
    }
    let oci = Oci::new("mountlabel");
    let mut c = base_config(&["sh", "-c", "grep -c context= /proc/self/mountinfo || true"]);
    c["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0");
    oci.write_config(&c);
    let out = oci.run(&oci.id("mountlabel"));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout.trim(),
        "0",
        "no mount got a context= option: {out:?}"
    );
    assert!(
        out.stderr.contains(
            "config.json: linux.mountLabel: ignored: SELinux is not enabled on this host"
        ),
        "{out:?}"
    );
}

#[test]
fn flags_are_accepted_and_the_filter_works() {
    let oci = Oci::new("seccomp-flags");
    let mut seccomp = deny_mkdir(libc::EACCES as u32);
    seccomp["flags"] = json!([
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_TSYNC"
    ]);
    oci.write_config(&with_seccomp(&["mkdir", "/made"], true, seccomp));
    let out = oci.run(&oci.id("flags"));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("Permission denied"), "{out:?}");
}

#[test]
fn default_spec_still_runs() {
    let oci = Oci::new("seccomp-spec");
    std::fs::remove_file(oci.bundle.join("config.json")).unwrap();
    let bundle = oci.bundle.display().to_string();
    oci.nsbox(&["spec", "--bundle", &bundle]).success();
    let path = oci.bundle.join("config.json");
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    c["process"]["terminal"] = json!(false);
    c["process"]["args"] = json!(["echo", "hi"]);
    oci.write_config(&c);
    let out = oci.run(&oci.id("spec"));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "hi\n");
}

/// A seccomp agent for one connection: the message nsbox sends (the
/// container process state) and how many descriptors came with it (closed
/// at once: the notified calls then fail with ENOSYS).
fn agent(listener: std::os::unix::net::UnixListener) -> std::thread::JoinHandle<(Value, usize)> {
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 65536];
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = rustix::net::RecvAncillaryBuffer::new(&mut space);
        let n = rustix::net::recvmsg(
            &conn,
            &mut [std::io::IoSliceMut::new(&mut buf)],
            &mut control,
            rustix::net::RecvFlags::empty(),
        )
        .unwrap()
        .bytes;
        let fds: Vec<_> = control
            .drain()
            .filter_map(|m| match m {
                rustix::net::RecvAncillaryMessage::ScmRights(fds) => Some(fds.collect::<Vec<_>>()),
                _ => None,
            })
            .flatten()
            .collect();
        let state: Value = serde_json::from_slice(&buf[..n]).unwrap();
        (state, fds.len())
    })
}

#[test]
fn exec_hands_its_own_listener_over() {
    use std::os::unix::net::UnixListener;
    let oci = Oci::new("seccomp-notify-exec");
    let path = oci.dir.join("agent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    oci.write_config(&with_seccomp(
        &["sleep", "30"],
        true,
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": path,
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
        }),
    ));
    let id = oci.id("notify-exec");
    let first = agent(listener.try_clone().unwrap());
    oci.create_detached(&id);
    let (state, nfds) = first.join().unwrap();
    assert_eq!(
        (nfds, state["state"]["status"].as_str()),
        (1, Some("creating")),
        "{state}"
    );
    oci.nsbox(&["start", &id]).success();
    let second = agent(listener);
    let out = oci.nsbox(&["exec", &id, "mkdir", "/made"]);
    let (state, nfds) = second.join().unwrap();
    assert_eq!(nfds, 1, "{state}");
    assert_eq!(state["state"]["status"], "running", "{state}");
    assert_ne!(
        state["pid"], state["state"]["pid"],
        "the exec'd process's own pid: {state}"
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("Function not implemented"), "{out:?}");
}
