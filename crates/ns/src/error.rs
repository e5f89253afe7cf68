//! Errors of `nsbox-ns`: one variant per step, each naming its object, the
//! kernel's cause kept as `#[source]`.

use std::io;
use std::path::PathBuf;

use crate::NsKind;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("process {pid} does not exist")]
    NoSuchProcess { pid: u32 },

    #[error("stat {path}")]
    Stat {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("open {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{path} is not a namespace file")]
    NotNamespace { path: PathBuf },

    #[error("{path} is a {found} namespace, not {expected}")]
    WrongKind {
        path: PathBuf,
        expected: NsKind,
        found: NsKind,
    },

    #[error("ioctl {op} on {what}")]
    Ioctl {
        op: &'static str,
        what: String,
        #[source]
        source: io::Error,
    },

    #[error("unshare {kinds}")]
    Unshare {
        kinds: String,
        #[source]
        source: io::Error,
    },

    /// ENOSPC from unshare/clone: a `/proc/sys/user/max_*_namespaces` limit (or
    /// the nesting depth of 32) was reached. `limits` names each file and value.
    #[error("create {kinds} namespace: limit reached ({limits})")]
    LimitReached { kinds: String, limits: String },

    #[error("setns into {kind} namespace {path}")]
    Setns {
        kind: NsKind,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("clone3")]
    Clone {
        #[source]
        source: io::Error,
    },

    #[error("fork")]
    Fork {
        #[source]
        source: io::Error,
    },

    #[error("invalid id map {text:?}: {why}")]
    BadIdMap { text: String, why: &'static str },

    #[error("run {program}")]
    Spawn {
        program: &'static str,
        #[source]
        source: io::Error,
    },

    #[error("{program} {args} failed: {status}")]
    HelperFailed {
        program: &'static str,
        args: String,
        status: String,
    },

    #[error("bind {source_path} on {target}")]
    Persist {
        source_path: PathBuf,
        target: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("mount {what} on {target}")]
    Mount {
        what: &'static str,
        target: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("unmount {target}")]
    Unmount {
        target: PathBuf,
        #[source]
        source: io::Error,
    },

    // --- enter ---
    #[error("process {pid} exited before its namespaces were opened")]
    TargetExited { pid: u32 },

    #[error("pidfd_open {pid}")]
    PidfdOpen {
        pid: u32,
        #[source]
        source: io::Error,
    },

    #[error("{kind} namespace: no file given and no target process")]
    NoTarget { kind: NsKind },

    #[error("{what}: needs a target process")]
    NoTargetFor { what: &'static str },

    #[error("drop supplementary groups")]
    SetGroups {
        #[source]
        source: io::Error,
    },

    #[error("setgid {gid}")]
    SetGid {
        gid: u32,
        #[source]
        source: io::Error,
    },

    #[error("setuid {uid}")]
    SetUid {
        uid: u32,
        #[source]
        source: io::Error,
    },

    #[error("wait for process {pid}")]
    Wait {
        pid: u32,
        #[source]
        source: io::Error,
    },

    /// Setting up the wait for a forked program: signal mask, signalfd, pipe.
    #[error("{step}")]
    Supervise {
        step: &'static str,
        #[source]
        source: io::Error,
    },

    // --- enter and unshare ---
    #[error("chroot to {path}")]
    Chroot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("change directory to {path}")]
    Chdir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("exec {program}")]
    Exec {
        program: String,
        #[source]
        source: io::Error,
    },

    // --- unshare ---
    #[error("create {path} to keep the {kind} namespace")]
    PersistCreate {
        kind: NsKind,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("make {target} {mode}")]
    Propagation {
        target: PathBuf,
        mode: &'static str,
        #[source]
        source: io::Error,
    },

    #[error("set parent-death signal {signal}")]
    DeathSignal {
        signal: i32,
        #[source]
        source: io::Error,
    },

    #[error("parent process exited before the command started")]
    ParentGone,

    #[error("keep capabilities in the new user namespace")]
    KeepCaps {
        #[source]
        source: io::Error,
    },

    #[error("{what}")]
    Sys {
        what: &'static str,
        #[source]
        source: io::Error,
    },

    #[error("{peer} broke the setup protocol: expected {expected}, got {got}")]
    Protocol {
        peer: &'static str,
        expected: &'static str,
        got: String,
    },

    #[error("{what}({id})")]
    SetId {
        what: &'static str,
        id: u32,
        #[source]
        source: io::Error,
    },

    #[error("no user named {name:?}")]
    NoSuchUser { name: String },

    #[error("no group named {name:?}")]
    NoSuchGroup { name: String },
}

impl Error {
    /// Turns "stat /proc/PID/...: not found" into "process PID does not exist"
    /// when the process is the missing thing, not the file.
    pub(crate) fn for_pid(self, pid: u32) -> Error {
        match &self {
            Error::Stat { source, .. }
            | Error::Open { source, .. }
            | Error::Read { source, .. }
                if matches!(
                    source.raw_os_error(),
                    Some(libc::ENOENT) | Some(libc::ESRCH)
                ) && !std::path::Path::new(&format!("/proc/{pid}")).exists() =>
            {
                Error::NoSuchProcess { pid }
            }
            _ => self,
        }
    }

    /// The kernel's errno behind this error, if there is one.
    pub fn errno(&self) -> Option<i32> {
        use std::error::Error as _;
        self.source()
            .and_then(|s| s.downcast_ref::<io::Error>())
            .and_then(|e| e.raw_os_error())
    }
}
