//! The profile `nsbox run` applies when the user gives none.
//!
//! Everything is allowed except calls that reach kernel-wide state a
//! container has no business touching (modules, kexec, clocks, swap, mounts,
//! keyrings, BPF, perf, ptrace of other processes) and the creation of new
//! namespaces, the main door to kernel attack surface from inside a
//! container. clone3 gets ENOSYS so libc falls back to clone, whose flags a
//! filter can inspect (a filter cannot read clone3's struct).

use crate::{Action, ArgCondition, CompareOp, LoadFlags, Profile, Rule};

/// Calls that fail with EPERM.
const DENIED: &[&str] = &[
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "init_module",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "query_module",
    "quotactl",
    "quotactl_fd",
    "reboot",
    "request_key",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "_sysctl",
    "syslog",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
];

/// Namespace flags that clone may not carry (CLONE_NEWNS .. CLONE_NEWNET,
/// CLONE_NEWCGROUP, CLONE_NEWTIME).
const NAMESPACE_FLAGS: &[u64] = &[
    0x0002_0000, // CLONE_NEWNS
    0x0200_0000, // CLONE_NEWCGROUP
    0x0400_0000, // CLONE_NEWUTS
    0x0800_0000, // CLONE_NEWIPC
    0x1000_0000, // CLONE_NEWUSER
    0x2000_0000, // CLONE_NEWPID
    0x4000_0000, // CLONE_NEWNET
    0x0000_0080, // CLONE_NEWTIME
];

/// nsbox's default profile for the native architecture and its compat ones.
pub fn default_profile() -> Profile {
    let mut rules = vec![
        Rule {
            names: DENIED.iter().map(|s| s.to_string()).collect(),
            action: Action::Errno(libc::EPERM as u32),
            args: vec![],
        },
        Rule {
            names: vec!["clone3".into()],
            action: Action::Errno(libc::ENOSYS as u32),
            args: vec![],
        },
    ];
    // One alternative per flag: any namespace flag set in clone's flags
    // argument (arg 0 on x86 and arm) makes the call fail.
    rules.push(Rule {
        names: vec!["clone".into()],
        action: Action::Errno(libc::EPERM as u32),
        args: NAMESPACE_FLAGS
            .iter()
            .map(|&f| ArgCondition {
                index: 0,
                value: f,
                value_two: f,
                op: CompareOp::MaskedEqual,
            })
            .collect(),
    });
    Profile {
        default_action: Action::Allow,
        architectures: native_architectures(),
        flags: LoadFlags::default(),
        rules,
    }
}

fn native_architectures() -> Vec<String> {
    let names: &[&str] = if cfg!(target_arch = "x86_64") {
        &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    } else if cfg!(target_arch = "aarch64") {
        &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    } else {
        &[]
    };
    names.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_without_unknown_names_that_matter() {
        let p = crate::compile(&default_profile()).unwrap();
        // Old calls absent from x86_64 tables may be unknown; the dangerous
        // modern ones must all be known.
        for name in [
            "mount",
            "unshare",
            "setns",
            "bpf",
            "open_by_handle_at",
            "init_module",
            "kexec_load",
        ] {
            assert!(
                !p.unknown_syscalls.iter().any(|n| n == name),
                "{name} unknown"
            );
        }
    }
}
