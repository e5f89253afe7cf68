//! nsbox's default seccomp profile: what `nsbox spec` writes into
//! `linux.seccomp` and what `nsbox run -- CMD` applies. One table
//! ([`REFUSALS`]) plus three argument rules (clone's namespace flags,
//! clone3, personality); docs/seccomp.md explains each line.
//!
//! Everything not listed is allowed: the list names the calls that reach
//! kernel-wide state a container has no business touching (keyrings,
//! modules, kexec, clocks, swap, accounting), that open a new door to kernel
//! attack surface (namespaces, mounts, BPF, perf, io_uring, userfaultfd), or
//! that reach other processes' memory by handle. (Docker's profile is an
//! allow-list instead; an allow-list answers EPERM to every call newer than
//! itself, which breaks a libc that probes a new call and falls back on
//! ENOSYS only: the faccessat2 breakage of 2021. runc patches ENOSYS in for
//! that; libseccomp alone cannot.)
//!
//! Capabilities decide some lines, as Docker's `includes.caps` do: a line
//! is dropped when the process's bounding set holds one of its
//! capabilities, so a container given CAP_SYS_ADMIN may mount, one given
//! CAP_SYS_TIME may set the clock. The OCI profile has no such conditions:
//! the spec writer applies them once, from the process's capabilities in
//! the same spec ([`default_profile`]'s argument).

use crate::{Action, ArgCondition, CompareOp, LoadFlags, Profile, Rule};

/// Calls refused with EPERM unless the bounding set holds one of `unless`.
struct Refusal {
    names: &'static [&'static str],
    /// Capabilities that lift the refusal; empty: always refused.
    unless: &'static [&'static str],
}

const SYS_ADMIN: &str = "CAP_SYS_ADMIN";

/// The refusals, one line per reason (see docs/seccomp.md).
const REFUSALS: &[Refusal] = &[
    // Keyrings are not namespaced: uid 0's user keyring in the container is
    // the host root's.
    Refusal {
        names: &["add_key", "keyctl", "request_key"],
        unless: &[],
    },
    // Code into the running kernel, or a new kernel.
    Refusal {
        names: &["init_module", "finit_module", "delete_module"],
        unless: &["CAP_SYS_MODULE"],
    },
    Refusal {
        names: &["create_module", "get_kernel_syms", "query_module"],
        unless: &[],
    },
    Refusal {
        names: &["kexec_load", "kexec_file_load"],
        unless: &[],
    },
    Refusal {
        names: &["reboot"],
        unless: &["CAP_SYS_BOOT"],
    },
    // The realtime clock is the host's (a time namespace offsets only the
    // monotonic and boot clocks). adjtimex/clock_adjtime stay allowed:
    // reading (modes 0) is what ntp_gettime and chrony's status do, and the
    // kernel refuses a change without CAP_SYS_TIME (the modes are in memory,
    // out of a filter's reach).
    Refusal {
        names: &["clock_settime", "clock_settime64", "settimeofday", "stime"],
        unless: &["CAP_SYS_TIME"],
    },
    // Mounts and namespaces: with a new user namespace a process regains
    // every capability over new objects, the first step of most container
    // escapes through kernel bugs. clone's flags are the rule below.
    Refusal {
        names: &[
            "mount",
            "umount",
            "umount2",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "unshare",
            "setns",
            "sethostname",
            "setdomainname",
            "quotactl",
            "quotactl_fd",
            "lookup_dcookie",
            "fanotify_init",
            "name_to_handle_at",
        ],
        unless: &[SYS_ADMIN],
    },
    // The runtime pivots before the filter is loaded; the workload never needs to.
    Refusal {
        names: &["pivot_root"],
        unless: &[],
    },
    Refusal {
        names: &["bpf"],
        unless: &[SYS_ADMIN, "CAP_BPF"],
    },
    Refusal {
        names: &["perf_event_open"],
        unless: &[SYS_ADMIN, "CAP_PERFMON"],
    },
    Refusal {
        names: &["syslog"],
        unless: &[SYS_ADMIN, "CAP_SYSLOG"],
    },
    // Opens any file on a file system by handle, past the mount namespace
    // (the 2014 "shocker" escape).
    Refusal {
        names: &["open_by_handle_at"],
        unless: &["CAP_DAC_READ_SEARCH"],
    },
    // Other processes' files and memory by handle; ptrace itself stays
    // (kernels since 4.8 re-check seccomp after a tracer's change).
    Refusal {
        names: &["kcmp", "pidfd_getfd", "process_madvise"],
        unless: &["CAP_SYS_PTRACE"],
    },
    Refusal {
        names: &["acct"],
        unless: &["CAP_SYS_PACCT"],
    },
    Refusal {
        names: &["iopl", "ioperm"],
        unless: &["CAP_SYS_RAWIO"],
    },
    Refusal {
        names: &["vhangup"],
        unless: &["CAP_SYS_TTY_CONFIG"],
    },
    // NUMA placement is the host's to decide.
    Refusal {
        names: &[
            "get_mempolicy",
            "set_mempolicy",
            "set_mempolicy_home_node",
            "mbind",
            "migrate_pages",
            "move_pages",
        ],
        unless: &["CAP_SYS_NICE"],
    },
    Refusal {
        names: &["chroot"],
        unless: &["CAP_SYS_CHROOT"],
    },
    Refusal {
        names: &["swapon", "swapoff"],
        unless: &[],
    },
    // userfaultfd stalls the kernel at a chosen page fault (the race
    // window of many exploits); io_uring's operations pass no filter at all.
    Refusal {
        names: &[
            "userfaultfd",
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
        ],
        unless: &[],
    },
    // Obsolete or unused calls with a history of bugs.
    Refusal {
        names: &[
            "nfsservctl",
            "uselib",
            "ustat",
            "_sysctl",
            "sysfs",
            "vm86",
            "vm86old",
        ],
        unless: &[],
    },
];

/// Namespace flags that clone may not carry without CAP_SYS_ADMIN.
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

/// clone's flags argument (s390 swaps the first two).
const CLONE_FLAGS_ARG: u32 = if cfg!(target_arch = "s390x") { 1 } else { 0 };

/// The personality flags the kernel itself clears on a setuid exec
/// (PER_CLEAR_ON_SETID): READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE,
/// ADDR_COMPAT_LAYOUT, MMAP_PAGE_ZERO. They weaken the process's own
/// protection (ASLR, W^X, page zero).
const PERSONALITY_FLAGS: &[u64] = &[0x0040_0000, 0x0004_0000, 0x0020_0000, 0x0010_0000];

/// The personality query (`personality(0xffffffff)` reads, changes nothing).
const PERSONALITY_QUERY: u64 = 0xffff_ffff;

/// nsbox's default profile for a process whose bounding set is `caps`
/// (`CAP_*` names), for the native architecture and its compat ones.
pub fn default_profile<S: AsRef<str>>(caps: &[S]) -> Profile {
    let has = |c: &str| caps.iter().any(|have| have.as_ref() == c);
    let mut names: Vec<String> = REFUSALS
        .iter()
        .filter(|r| !r.unless.iter().any(|c| has(c)))
        .flat_map(|r| r.names.iter().map(|s| s.to_string()))
        .collect();
    names.sort();
    let eperm = Action::Errno(libc::EPERM as u32);
    let mut rules = vec![Rule {
        names,
        action: eperm,
        args: vec![],
    }];
    if !has(SYS_ADMIN) {
        // Any namespace flag in clone's flags fails the call (one
        // alternative per flag). clone3's flags are in memory, out of a
        // filter's reach: ENOSYS makes libc fall back to clone.
        rules.push(Rule {
            names: vec!["clone".into()],
            action: eperm,
            args: NAMESPACE_FLAGS
                .iter()
                .map(|&f| masked(CLONE_FLAGS_ARG, f, f))
                .collect(),
        });
        rules.push(Rule {
            names: vec!["clone3".into()],
            action: Action::Errno(libc::ENOSYS as u32),
            args: vec![],
        });
    }
    rules.push(Rule {
        names: vec!["personality".into()],
        action: eperm,
        args: personality_conditions(),
    });
    Profile {
        default_action: Action::Allow,
        architectures: native_architectures(),
        flags: LoadFlags::default(),
        rules,
    }
}

fn masked(index: u32, mask: u64, value: u64) -> ArgCondition {
    ArgCondition {
        index,
        value: mask,
        value_two: value,
        op: CompareOp::MaskedEqual,
    }
}

/// One alternative per (flag, other bit): the flag set and some other bit
/// of the low 32 clear. Together: any value carrying one of
/// [`PERSONALITY_FLAGS`] except the query, whose 32 bits are all set (a
/// filter cannot AND two tests of one argument, so "flag set and not the
/// query" is spelt out bit by bit).
fn personality_conditions() -> Vec<ArgCondition> {
    let mut out = Vec::new();
    for &flag in PERSONALITY_FLAGS {
        for bit in (0..32).map(|b| 1u64 << b).filter(|&b| b != flag) {
            debug_assert_eq!(PERSONALITY_QUERY & bit, bit);
            out.push(masked(0, flag | bit, flag));
        }
    }
    out
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

    fn refused(p: &Profile) -> &[String] {
        &p.rules[0].names
    }

    #[test]
    fn compiles_without_unknown_names_that_matter() {
        let p = crate::compile(&default_profile::<&str>(&[])).unwrap();
        // Old calls absent from x86_64 tables may be unknown; the dangerous
        // modern ones must all be known.
        for name in [
            "mount",
            "unshare",
            "setns",
            "bpf",
            "open_by_handle_at",
            "init_module",
            "finit_module",
            "kexec_load",
            "keyctl",
            "add_key",
            "request_key",
            "userfaultfd",
            "io_uring_setup",
        ] {
            assert!(
                !p.unknown_syscalls.iter().any(|n| n == name),
                "{name} unknown"
            );
        }
        // Small enough to load fast and to stay far from the kernel's
        // 4096-instruction limit.
        assert!(p.len() < 2048, "{} instructions", p.len());
    }

    #[test]
    fn capabilities_lift_their_lines_only() {
        let none = default_profile::<&str>(&[]);
        for name in [
            "keyctl",
            "finit_module",
            "mount",
            "unshare",
            "clock_settime",
        ] {
            assert!(refused(&none).iter().any(|n| n == name), "{name}");
        }
        assert!(none.rules.iter().any(|r| r.names == ["clone3"]));

        let module = default_profile(&["CAP_SYS_MODULE"]);
        assert!(!refused(&module).iter().any(|n| n == "finit_module"));
        assert!(refused(&module).iter().any(|n| n == "keyctl"));

        let admin = default_profile(&["CAP_SYS_ADMIN"]);
        for name in ["mount", "unshare", "setns", "bpf", "perf_event_open"] {
            assert!(!refused(&admin).iter().any(|n| n == name), "{name}");
        }
        assert!(!admin.rules.iter().any(|r| r.names == ["clone"]));
        assert!(!admin.rules.iter().any(|r| r.names == ["clone3"]));
        // Keyrings, kexec and swap have no capability that lifts them.
        for name in ["keyctl", "kexec_load", "swapon", "open_by_handle_at"] {
            assert!(refused(&admin).iter().any(|n| n == name), "{name}");
        }
    }

    #[test]
    fn personality_refuses_the_weakening_flags_but_not_the_query() {
        let conds = personality_conditions();
        let refused = |v: u64| {
            conds
                .iter()
                .any(|c| v & c.value == c.value_two && c.index == 0)
        };
        for ok in [0, 8, 0x2_0000, 0x2_0008, PERSONALITY_QUERY] {
            assert!(!refused(ok), "{ok:#x}");
        }
        for bad in [
            0x0004_0000,
            0x0040_0008,
            0x0010_0000,
            0x8004_0000,
            0x0020_0000,
        ] {
            assert!(refused(bad), "{bad:#x}");
        }
    }
}
