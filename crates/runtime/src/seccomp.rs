//! `linux.seccomp` → `nsbox_seccomp::Profile`, compiled in the parent
//! before the clone (libseccomp allocates and takes milliseconds), loaded by
//! init with one seccomp(2) call (see `init::confine`). libseccomp itself
//! is `nsbox_seccomp`'s: this module only speaks OCI.
//!
//! OCI meaning kept as runc gives it: `errnoRet` (EPERM when absent) for
//! SCMP_ACT_ERRNO and SCMP_ACT_TRACE, `defaultErrnoRet` for the default
//! action, SCMP_ACT_KILL as SCMP_ACT_KILL_THREAD, every comparison operator
//! (`SCMP_CMP_MASKED_EQ`: `value` is the mask, `valueTwo` the datum),
//! architectures, flags. Unknown action, operator, architecture or flag
//! names are rejected by the parser (`bundle`) with the field's path; what
//! only this module can check (ranges, the listener path) names its field
//! here. Syscall names libseccomp does not know are skipped, as runc does.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nsbox_seccomp::{Action, ArgCondition, CompareOp, LoadFlags, Profile, Program, Rule};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator, Spec};

use crate::Error;

/// Where compiled programs are cached under the state root.
pub const CACHE_DIR: &str = ".seccomp-cache";

/// The largest errno a filter can return (SECCOMP_RET_DATA is 16 bits, and
/// the kernel treats values above MAX_ERRNO as success).
const MAX_ERRNO: u32 = 4095;

fn field(field: String, msg: impl Into<String>) -> Error {
    Error::ConfigField {
        file: "config.json",
        field,
        msg: msg.into(),
    }
}

fn action(
    a: LinuxSeccompAction,
    errno: Option<u32>,
    at: impl Fn() -> String,
) -> Result<Action, Error> {
    use LinuxSeccompAction as A;
    let ret = |e: Option<u32>| -> Result<u32, Error> {
        let e = e.unwrap_or(libc::EPERM as u32);
        if e > MAX_ERRNO {
            return Err(field(
                at(),
                format!("{e} is out of range (0..={MAX_ERRNO})"),
            ));
        }
        Ok(e)
    };
    Ok(match a {
        A::ScmpActKillProcess => Action::KillProcess,
        A::ScmpActKill | A::ScmpActKillThread => Action::KillThread,
        A::ScmpActTrap => Action::Trap,
        A::ScmpActErrno => Action::Errno(ret(errno)?),
        A::ScmpActTrace => Action::Trace(ret(errno)?),
        A::ScmpActAllow => Action::Allow,
        A::ScmpActLog => Action::Log,
        A::ScmpActNotify => Action::Notify,
    })
}

fn op(o: LinuxSeccompOperator) -> CompareOp {
    use LinuxSeccompOperator as O;
    match o {
        O::ScmpCmpNe => CompareOp::NotEqual,
        O::ScmpCmpLt => CompareOp::Less,
        O::ScmpCmpLe => CompareOp::LessOrEqual,
        O::ScmpCmpEq => CompareOp::Equal,
        O::ScmpCmpGe => CompareOp::GreaterOrEqual,
        O::ScmpCmpGt => CompareOp::Greater,
        O::ScmpCmpMaskedEq => CompareOp::MaskedEqual,
    }
}

/// The OCI (and libseccomp) name of a serde enum value, e.g. `SCMP_ARCH_X86_64`.
fn oci_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Converts `linux.seccomp`; every error names its field.
pub fn profile(s: &LinuxSeccomp) -> Result<Profile, Error> {
    let default_action = action(s.default_action(), s.default_errno_ret(), || {
        "linux.seccomp.defaultErrnoRet".into()
    })?;
    let architectures = s
        .architectures()
        .iter()
        .flatten()
        .map(oci_name)
        // SCMP_ARCH_NATIVE is what an empty list means already.
        .filter(|a| a != "SCMP_ARCH_NATIVE")
        .collect();
    let flags = LoadFlags::from_names(s.flags().iter().flatten().map(|f| match f {
        oci_spec::runtime::LinuxSeccompFilterFlag::SeccompFilterFlagLog => {
            "SECCOMP_FILTER_FLAG_LOG"
        }
        oci_spec::runtime::LinuxSeccompFilterFlag::SeccompFilterFlagTsync => {
            "SECCOMP_FILTER_FLAG_TSYNC"
        }
        oci_spec::runtime::LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
        }
        oci_spec::runtime::LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
        }
    }))
    .map_err(|e| field("linux.seccomp.flags".into(), e.to_string()))?;
    let mut rules = Vec::new();
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        let action = action(sc.action(), sc.errno_ret(), || {
            format!("linux.seccomp.syscalls[{i}].errnoRet")
        })?;
        let mut args = Vec::new();
        for (j, a) in sc.args().iter().flatten().enumerate() {
            if a.index() > 5 {
                return Err(field(
                    format!("linux.seccomp.syscalls[{i}].args[{j}].index"),
                    format!("{} is out of range (0..=5)", a.index()),
                ));
            }
            args.push(ArgCondition {
                index: a.index() as u32,
                value: a.value(),
                value_two: a.value_two().unwrap_or(0),
                op: op(a.op()),
            });
        }
        if sc.names().iter().any(|n| n.is_empty()) {
            return Err(field(
                format!("linux.seccomp.syscalls[{i}].names"),
                "an empty syscall name",
            ));
        }
        rules.push(Rule {
            names: sc.names().clone(),
            action,
            args,
        });
    }
    let profile = Profile {
        default_action,
        architectures,
        flags,
        rules,
    };
    if profile.needs_listener() && s.listener_path().is_none() {
        return Err(field(
            "linux.seccomp.listenerPath".into(),
            "required by SCMP_ACT_NOTIFY (where the listener fd is sent)",
        ));
    }
    Ok(profile)
}

/// The inverse of [`profile`]: a plain profile in OCI's form, as `nsbox
/// spec` and `nsbox run` write it (the default profile is data in
/// `nsbox_seccomp`; the OCI types stop here).
pub fn to_oci(p: &Profile) -> LinuxSeccomp {
    use oci_spec::runtime::{LinuxSeccompArgBuilder, LinuxSeccompBuilder, LinuxSyscallBuilder};
    let action = |a: Action| -> (LinuxSeccompAction, Option<u32>) {
        use LinuxSeccompAction as A;
        match a {
            Action::KillProcess => (A::ScmpActKillProcess, None),
            Action::KillThread => (A::ScmpActKillThread, None),
            Action::Trap => (A::ScmpActTrap, None),
            Action::Errno(e) => (A::ScmpActErrno, Some(e)),
            Action::Trace(t) => (A::ScmpActTrace, Some(t)),
            Action::Allow => (A::ScmpActAllow, None),
            Action::Log => (A::ScmpActLog, None),
            Action::Notify => (A::ScmpActNotify, None),
        }
    };
    let op = |o: CompareOp| match o {
        CompareOp::NotEqual => LinuxSeccompOperator::ScmpCmpNe,
        CompareOp::Less => LinuxSeccompOperator::ScmpCmpLt,
        CompareOp::LessOrEqual => LinuxSeccompOperator::ScmpCmpLe,
        CompareOp::Equal => LinuxSeccompOperator::ScmpCmpEq,
        CompareOp::GreaterOrEqual => LinuxSeccompOperator::ScmpCmpGe,
        CompareOp::Greater => LinuxSeccompOperator::ScmpCmpGt,
        CompareOp::MaskedEqual => LinuxSeccompOperator::ScmpCmpMaskedEq,
    };
    let syscalls = p
        .rules
        .iter()
        .map(|r| {
            let (a, errno) = action(r.action);
            let args: Vec<_> = r
                .args
                .iter()
                .map(|c| {
                    LinuxSeccompArgBuilder::default()
                        .index(c.index as usize)
                        .value(c.value)
                        .value_two(c.value_two)
                        .op(op(c.op))
                        .build()
                        .expect("every field set")
                })
                .collect();
            let mut b = LinuxSyscallBuilder::default()
                .names(r.names.clone())
                .action(a);
            if let Some(e) = errno {
                b = b.errno_ret(e);
            }
            if !args.is_empty() {
                b = b.args(args);
            }
            b.build().expect("every field set")
        })
        .collect::<Vec<_>>();
    let (default_action, default_errno) = action(p.default_action);
    let archs = p
        .architectures
        .iter()
        .filter_map(|a| serde_json::from_value(serde_json::Value::String(a.clone())).ok())
        .collect::<Vec<oci_spec::runtime::Arch>>();
    let mut b = LinuxSeccompBuilder::default()
        .default_action(default_action)
        .architectures(archs)
        .syscalls(syscalls);
    if let Some(e) = default_errno {
        b = b.default_errno_ret(e);
    }
    b.build().expect("every field set")
}

/// nsbox's default profile (`nsbox_seccomp::default_profile`) in OCI's
/// form for a process with `caps`: the lines its bounding set lifts are
/// left out (OCI has no capability conditions, so the writer decides).
pub fn default_for(caps: Option<&oci_spec::runtime::LinuxCapabilities>) -> LinuxSeccomp {
    let names: Vec<String> = caps
        .and_then(|c| c.bounding().as_ref())
        .into_iter()
        .flatten()
        .map(oci_name)
        .collect();
    to_oci(&nsbox_seccomp::default_profile(&names))
}

/// The compiled filter of `spec`'s `linux.seccomp`, if any, through the
/// cache under `root`. Compile errors name the field at fault.
pub fn prepare(spec: &Spec, root: &Path) -> Result<Option<Compiled>, Error> {
    let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    let profile = profile(s)?;
    let cache = nsbox_seccomp::Cache::new(root.join(CACHE_DIR));
    let program = cache
        .get_or_compile(&profile)
        .map_err(|e| compile_error(s, e))?;
    Ok(Some(Compiled {
        program,
        listener_path: s.listener_path().clone(),
        listener_metadata: s.listener_metadata().clone(),
    }))
}

/// Names the field a compile error is about.
fn compile_error(s: &LinuxSeccomp, e: nsbox_seccomp::Error) -> Error {
    use nsbox_seccomp::Error as E;
    let at = match &e {
        E::UnknownArch(name) | E::AddArch { arch: name, .. } => s
            .architectures()
            .iter()
            .flatten()
            .position(|a| oci_name(a) == *name)
            .map(|i| format!("linux.seccomp.architectures[{i}]"))
            .unwrap_or_else(|| "linux.seccomp.architectures".into()),
        E::AddRule { name, .. } => s
            .syscalls()
            .iter()
            .flatten()
            .position(|sc| sc.names().contains(name))
            .map(|i| format!("linux.seccomp.syscalls[{i}]"))
            .unwrap_or_else(|| "linux.seccomp.syscalls".into()),
        _ => "linux.seccomp".into(),
    };
    Error::Seccomp {
        field: at,
        source: e,
    }
}

/// A filter ready for init to load, and where a NOTIFY listener goes.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub program: Program,
    pub listener_path: Option<PathBuf>,
    pub listener_metadata: Option<String>,
}

/// For SCMP_ACT_NOTIFY: the socketpair init sends the listener fd back on
/// (ours, the child's), none otherwise.
pub fn listener_pair(c: Option<&Compiled>) -> Result<(Option<OwnedFd>, Option<OwnedFd>), Error> {
    if !c.is_some_and(|c| c.program.needs_listener) {
        return Ok((None, None));
    }
    let (ours, theirs) = nsbox_ns::fdpass::socketpair(nsbox_ns::fdpass::PairKind::Stream)
        .map_err(|source| Error::Socketpair { source })?;
    Ok((Some(ours), Some(theirs)))
}

/// Receives the listener fd from init (on `ours` of [`listener_pair`]) and
/// hands it to `linux.seccomp.listenerPath` as the OCI spec says: one
/// message on a unix stream socket, the container process state as JSON
/// with `fds: ["seccompFd"]`, the fd attached with SCM_RIGHTS.
pub fn hand_over_listener(
    c: &Compiled,
    ours: &OwnedFd,
    state: oci_spec::runtime::State,
    pid: u32,
) -> Result<(), Error> {
    let path = c.listener_path.clone().unwrap_or_default();
    let err = |source: std::io::Error| Error::SeccompListener {
        path: path.clone(),
        source,
    };
    let fd = nsbox_ns::fdpass::recv_fd(ours.as_fd()).map_err(err)?;
    let mut message = serde_json::json!({
        "ociVersion": state.version(),
        "fds": [oci_spec::runtime::SECCOMP_FD_NAME],
        "pid": pid,
        "state": state,
    });
    if let Some(m) = &c.listener_metadata {
        message["metadata"] = serde_json::Value::String(m.clone());
    }
    let text = serde_json::to_vec(&message).map_err(|e| err(e.into()))?;
    let socket = rustix::net::socket_with(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::STREAM,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| err(e.into()))?;
    let addr = rustix::net::SocketAddrUnix::new(&path).map_err(|e| err(e.into()))?;
    rustix::net::connect(&socket, &addr).map_err(|e| err(e.into()))?;
    nsbox_ns::fdpass::send_fd_with(socket.as_fd(), &text, fd.as_fd()).map_err(err)
}

/// Every architecture name OCI defines.
const OCI_ARCHS: &[&str] = &[
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

/// `features`' seccomp section, found out rather than assumed: the
/// architectures libseccomp can compile for, every action and operator, and
/// the flags this kernel accepts (both probed by `nsbox_seccomp`).
pub fn features() -> oci_spec::runtime::Seccomp {
    let archs = OCI_ARCHS
        .iter()
        .filter(|a| nsbox_seccomp::arch_supported(a))
        .filter_map(|a| serde_json::from_value(serde_json::Value::String(a.to_string())).ok())
        .collect();
    use LinuxSeccompAction as A;
    let actions = vec![
        A::ScmpActAllow,
        A::ScmpActErrno,
        A::ScmpActKill,
        A::ScmpActKillProcess,
        A::ScmpActKillThread,
        A::ScmpActLog,
        A::ScmpActNotify,
        A::ScmpActTrace,
        A::ScmpActTrap,
    ];
    let operators = [
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_LE",
        "SCMP_CMP_LT",
        "SCMP_CMP_MASKED_EQ",
        "SCMP_CMP_NE",
    ];
    let supported = nsbox_seccomp::kernel_flags()
        .into_iter()
        .map(String::from)
        .collect();
    let mut f = oci_spec::runtime::Seccomp::default();
    f.set_enabled(Some(true));
    f.set_actions(Some(actions));
    f.set_operators(Some(operators.map(String::from).to_vec()));
    f.set_archs(Some(archs));
    f.set_known_flags(Some(
        nsbox_seccomp::FILTER_FLAGS
            .iter()
            .map(|(n, _)| n.to_string())
            .collect(),
    ));
    f.set_supported_flags(Some(supported));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(seccomp: &str) -> Result<Profile, Error> {
        let text = format!(
            r#"{{"ociVersion": "1.0.2", "root": {{"path": "rootfs"}},
            "process": {{"args": ["sh"], "cwd": "/", "user": {{"uid": 0, "gid": 0}}}},
            "linux": {{"namespaces": [{{"type": "mount"}}], "seccomp": {seccomp}}}}}"#
        );
        let spec = crate::bundle::parse(&text)?;
        profile(spec.linux().as_ref().unwrap().seccomp().as_ref().unwrap())
    }

    #[test]
    fn default_profile_survives_the_trip_through_oci() {
        for caps in [vec![], vec!["CAP_SYS_ADMIN".to_string()]] {
            let p = nsbox_seccomp::default_profile(&caps);
            assert_eq!(profile(&to_oci(&p)).unwrap(), p);
        }
        let every = Profile {
            default_action: Action::Errno(38),
            architectures: vec!["SCMP_ARCH_X86_64".into()],
            flags: LoadFlags::default(),
            rules: [
                Action::KillProcess,
                Action::KillThread,
                Action::Trap,
                Action::Trace(3),
                Action::Allow,
                Action::Log,
            ]
            .into_iter()
            .map(|action| Rule {
                names: vec!["x".into()],
                action,
                args: [
                    CompareOp::NotEqual,
                    CompareOp::Less,
                    CompareOp::LessOrEqual,
                    CompareOp::Equal,
                    CompareOp::GreaterOrEqual,
                    CompareOp::Greater,
                    CompareOp::MaskedEqual,
                ]
                .into_iter()
                .enumerate()
                .map(|(i, op)| ArgCondition {
                    index: i as u32 % 6,
                    value: 7,
                    value_two: 4,
                    op,
                })
                .collect(),
            })
            .collect(),
        };
        assert_eq!(profile(&to_oci(&every)).unwrap(), every);
    }

    #[test]
    fn default_for_reads_the_bounding_set() {
        let spec = crate::spec::default_spec();
        let caps = spec.process().as_ref().unwrap().capabilities().as_ref();
        let p = profile(&default_for(caps)).unwrap();
        assert!(p.rules[0].names.iter().any(|n| n == "mount"));
        let mut admin = caps.unwrap().clone();
        let mut b = admin.bounding().clone().unwrap();
        b.insert(oci_spec::runtime::Capability::SysAdmin);
        admin.set_bounding(Some(b));
        let p = profile(&default_for(Some(&admin))).unwrap();
        assert!(!p.rules[0].names.iter().any(|n| n == "mount"));
        assert!(p.rules[0].names.iter().any(|n| n == "keyctl"));
    }

    #[test]
    fn every_action_and_operator_converts() {
        let p = parse(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_NATIVE"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"],
            "syscalls": [
              {"names": ["a"], "action": "SCMP_ACT_KILL"},
              {"names": ["b"], "action": "SCMP_ACT_KILL_PROCESS"},
              {"names": ["c"], "action": "SCMP_ACT_TRAP"},
              {"names": ["d"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
              {"names": ["e"], "action": "SCMP_ACT_TRACE"},
              {"names": ["f"], "action": "SCMP_ACT_LOG"},
              {"names": ["g"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 1, "value": 511, "op": "SCMP_CMP_NE"},
                        {"index": 2, "value": 7, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"}]}
            ]}"#,
        )
        .unwrap();
        assert_eq!(p.default_action, Action::Errno(38));
        assert_eq!(p.architectures, vec!["SCMP_ARCH_X86_64".to_string()]);
        assert!(p.flags.log);
        let actions: Vec<Action> = p.rules.iter().map(|r| r.action).collect();
        assert_eq!(
            actions,
            vec![
                Action::KillThread,
                Action::KillProcess,
                Action::Trap,
                Action::Errno(13),
                Action::Trace(1),
                Action::Log,
                Action::Allow
            ]
        );
        let g = &p.rules[6].args;
        assert_eq!(g[0].op, CompareOp::NotEqual);
        assert_eq!(
            (g[1].op, g[1].value, g[1].value_two),
            (CompareOp::MaskedEqual, 7, 4)
        );
        nsbox_seccomp::compile(&Profile {
            rules: p.rules[..6].to_vec(),
            ..p.clone()
        })
        .unwrap();
    }

    #[test]
    fn bad_values_name_their_field() {
        let err = parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
              {"names": ["x"], "action": "SCMP_ACT_ERRNO"},
              {"names": ["y"], "action": "SCMP_ACT_EXPLODE"}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"config.json: linux.seccomp.syscalls[1].action: unknown seccomp action "SCMP_ACT_EXPLODE""#
        );
        let err =
            parse(r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}"#)
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"config.json: linux.seccomp.architectures[0]: unknown seccomp architecture "SCMP_ARCH_Z80""#
        );
        let err = parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
              {"names": ["x"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("syscalls[0].errnoRet: 70000 is out of range"),
            "{err}"
        );
        let err = parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
              {"names": ["x"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("syscalls[0].args[0].index"),
            "{err}"
        );
        let err = parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_NOTIFY"}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("linux.seccomp.listenerPath"),
            "{err}"
        );
    }
}
