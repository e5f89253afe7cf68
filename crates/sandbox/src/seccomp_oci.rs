//! nsbox-seccomp's plain [`Profile`](nsbox_seccomp::Profile) in OCI's
//! form (`linux.seccomp`): the inverse of `nsbox_runtime::seccomp::profile`,
//! so a generated spec carries nsbox-seccomp's default profile and the
//! runtime compiles it as it compiles any config's.

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompBuilder,
    LinuxSeccompOperator, LinuxSyscallBuilder,
};

use crate::error::{build, Error};

/// nsbox-seccomp's plain profile as OCI's `linux.seccomp`.
pub fn from_profile(p: &nsbox_seccomp::Profile) -> Result<LinuxSeccomp, Error> {
    use nsbox_seccomp::{Action, CompareOp};
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
    let mut syscalls = Vec::new();
    for r in &p.rules {
        let (a, errno) = action(r.action);
        let mut args = Vec::new();
        for c in &r.args {
            args.push(build(
                LinuxSeccompArgBuilder::default()
                    .index(c.index as usize)
                    .value(c.value)
                    .value_two(c.value_two)
                    .op(op(c.op))
                    .build(),
            )?);
        }
        let mut b = LinuxSyscallBuilder::default()
            .names(r.names.clone())
            .action(a);
        if let Some(e) = errno {
            b = b.errno_ret(e);
        }
        if !args.is_empty() {
            b = b.args(args);
        }
        syscalls.push(build(b.build())?);
    }
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
    build(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile_survives_the_trip_through_oci() {
        let p = nsbox_seccomp::default_profile();
        let back = nsbox_runtime::seccomp::profile(&from_profile(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
