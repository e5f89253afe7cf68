//! What a step of the container's init (or of an exec'd process) is, and
//! how its failure travels: [`Step`] names the step and its object,
//! [`Failure`] adds the errno, [`StepResult::step`] attaches the step to a
//! kernel error. A leaf: the error type, the parent/child protocol, init
//! and the console all speak it, and it imports none of them.

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};

/// A step of the container's init, naming its object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    JoinNs {
        kind: String,
        path: String,
    },
    Unshare {
        kinds: String,
    },
    SetIds,
    Fork,
    Setsid,
    RootPropagation {
        flags: String,
    },
    BindRootfs {
        path: String,
    },
    Resolve {
        path: String,
    },
    Mount {
        typ: String,
        source: String,
        dest: String,
    },
    Remount {
        dest: String,
        options: String,
    },
    Propagation {
        dest: String,
        flag: String,
    },
    Mknod {
        path: String,
    },
    BindDevice {
        path: String,
    },
    Chown {
        path: String,
    },
    Symlink {
        path: String,
        target: String,
    },
    Mask {
        path: String,
    },
    ReadonlyPath {
        path: String,
    },
    PivotRoot {
        path: String,
    },
    /// Without a mount namespace of the container's own (bundle.rs).
    Chroot {
        path: String,
    },
    RootReadonly,
    Hostname {
        name: String,
    },
    Domainname {
        name: String,
    },
    LoopbackUp,
    TimeOffsets,
    Sysctl {
        key: String,
    },
    OomScoreAdj {
        value: i32,
    },
    Rlimit {
        name: String,
    },
    Groups,
    Setgid {
        gid: u32,
    },
    Setuid {
        uid: u32,
    },
    Capabilities {
        set: String,
    },
    NoNewPrivs,
    Chdir {
        path: String,
    },
    Exec {
        path: String,
    },
    Console {
        what: String,
    },
    Send,
    // --- seccomp and LSM labels ---
    Seccomp,
    LsmLabel {
        file: String,
    },
    JoinCgroup {
        path: String,
    },
    // --- personality, session keyring, --no-pivot ---
    Personality {
        value: String,
    },
    SessionKeyring {
        name: String,
    },
    MoveRoot {
        path: String,
    },
    // --- mount extensions ---
    /// `tmpcopyup`: copying the rootfs's content into the tmpfs.
    CopyUp {
        path: String,
    },
    // --- scheduling: policy, I/O priority, memory policy, CPU affinity ---
    /// `denied`: EPERM for a real-time policy (the message says what it needs).
    Scheduler {
        policy: String,
        denied: bool,
    },
    IoPriority {
        class: String,
        level: i64,
    },
    MemoryPolicy {
        mode: String,
    },
    /// `cpus` as the config lists them.
    CpuAffinity {
        cpus: String,
    },
    /// Back to every CPU (no execCPUAffinity; init).
    CpuAffinityReset,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::JoinNs { kind, path } => write!(f, "join {kind} namespace {path}"),
            Step::Unshare { kinds } => write!(f, "unshare {kinds}"),
            Step::SetIds => f.write_str("become root in the new user namespace"),
            Step::Fork => f.write_str("fork into the PID namespace"),
            Step::Setsid => f.write_str("setsid"),
            Step::RootPropagation { flags } => write!(f, "make / {flags}"),
            Step::BindRootfs { path } => write!(f, "bind rootfs {path} onto itself"),
            Step::Resolve { path } => write!(f, "resolve {path} inside rootfs"),
            Step::Mount { typ, source, dest } => {
                if typ == "bind" || typ.is_empty() || typ == source {
                    write!(f, "mount {source} on {dest}")
                } else {
                    write!(f, "mount {typ} {source} on {dest}")
                }
            }
            Step::Remount { dest, options } => write!(f, "remount {dest} {options}"),
            Step::Propagation { dest, flag } => write!(f, "make {dest} {flag}"),
            Step::Mknod { path } => write!(f, "mknod {path}"),
            Step::BindDevice { path } => write!(f, "bind device {path}"),
            Step::Chown { path } => write!(f, "chown {path}"),
            Step::Symlink { path, target } => write!(f, "symlink {path} -> {target}"),
            Step::Mask { path } => write!(f, "mask {path}"),
            Step::ReadonlyPath { path } => write!(f, "make {path} read-only"),
            Step::PivotRoot { path } => write!(f, "pivot_root to {path}"),
            Step::Chroot { path } => write!(f, "chroot to {path}"),
            Step::RootReadonly => f.write_str("make / read-only (root.readonly)"),
            Step::Hostname { name } => write!(f, "set hostname {name:?}"),
            Step::Domainname { name } => write!(f, "set domainname {name:?}"),
            Step::LoopbackUp => f.write_str("bring up lo in the new network namespace"),
            Step::TimeOffsets => f.write_str("write /proc/self/timens_offsets (linux.timeOffsets)"),
            Step::Sysctl { key } => write!(f, "sysctl {key}"),
            Step::OomScoreAdj { value } => write!(f, "set oom_score_adj {value}"),
            Step::Rlimit { name } => write!(f, "set {name}"),
            Step::Groups => f.write_str("setgroups (process.user.additionalGids)"),
            Step::Setgid { gid } => write!(f, "setgid {gid}"),
            Step::Setuid { uid } => write!(f, "setuid {uid}"),
            Step::Capabilities { set } => write!(f, "set {set} capabilities"),
            Step::NoNewPrivs => f.write_str("set no_new_privs"),
            Step::Chdir { path } => write!(f, "chdir {path} (process.cwd)"),
            Step::Exec { path } => write!(f, "exec {path:?}"),
            Step::Console { what } => write!(f, "console: {what}"),
            Step::Send => f.write_str("report to nsbox"),
            Step::Seccomp => f.write_str("load seccomp filter (linux.seccomp)"),
            Step::LsmLabel { file } => write!(f, "set exec label in {file}"),
            Step::JoinCgroup { path } => write!(f, "join cgroup {path}"),
            Step::Personality { value } => {
                write!(f, "set personality {value} (linux.personality)")
            }
            Step::SessionKeyring { name } => write!(f, "join session keyring {name:?}"),
            Step::MoveRoot { path } => write!(f, "move rootfs {path} onto / (--no-pivot)"),
            Step::CopyUp { path } => write!(f, "copy {path} into its tmpfs (tmpcopyup)"),
            Step::Scheduler { policy, denied } => {
                write!(f, "set scheduler {policy} (process.scheduler")?;
                if *denied {
                    f.write_str(
                        "; a real-time policy needs CAP_SYS_NICE in the host's user namespace \
                         and, under a cgroup v1 cpu controller, real-time runtime for the \
                         container's cgroup: linux.resources.cpu.realtimeRuntime",
                    )?;
                }
                f.write_str(")")
            }
            Step::IoPriority { class, level } => {
                write!(f, "set I/O priority {class} {level} (process.ioPriority)")
            }
            Step::MemoryPolicy { mode } => {
                write!(f, "set memory policy {mode} (linux.memoryPolicy)")
            }
            Step::CpuAffinity { cpus } => {
                write!(f, "set CPU affinity {cpus} (process.execCPUAffinity)")
            }
            Step::CpuAffinityReset => f.write_str("reset CPU affinity to every CPU"),
        }
    }
}

/// A failed step: what the child sends back.
#[derive(Debug)]
pub struct Failure {
    pub step: Step,
    pub errno: i32,
}

/// Attaches the step to a kernel error.
pub trait StepResult<T> {
    fn step(self, step: impl FnOnce() -> Step) -> Result<T, Failure>;
}

impl<T, E: Into<io::Error>> StepResult<T> for Result<T, E> {
    fn step(self, step: impl FnOnce() -> Step) -> Result<T, Failure> {
        self.map_err(|e| Failure {
            step: step(),
            errno: e.into().raw_os_error().unwrap_or(libc::EIO),
        })
    }
}
