//! Errors of `nsbox-ns`: one variant per step, each naming its object, the
//! kernel's cause kept as `#[source]`.
//!
//! An [`Error`] is also data: a forked child sends its failure to the parent
//! (serde, over a [`crate::channel`]), which gets back the same variant with
//! the same fields and errno. Hence `Text` (not `&'static str`) for the
//! fixed words, and exact encodings of `io::Error` and of non-UTF-8 paths.

use std::borrow::Cow;
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::NsKind;

/// Fixed words in an error (a step, a helper's name): static where the
/// error is made, owned once it has crossed from a child.
pub type Text = Cow<'static, str>;

#[derive(Debug, thiserror::Error, Serialize, Deserialize)]
pub enum Error {
    #[error("process {pid} does not exist")]
    NoSuchProcess { pid: u32 },

    #[error("stat {path}")]
    Stat {
        #[serde(with = "serde_path")]
        path: PathBuf,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("open {path}")]
    Open {
        #[serde(with = "serde_path")]
        path: PathBuf,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("read {path}")]
    Read {
        #[serde(with = "serde_path")]
        path: PathBuf,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("write {path}")]
    Write {
        #[serde(with = "serde_path")]
        path: PathBuf,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("{path} is not a namespace file")]
    NotNamespace {
        #[serde(with = "serde_path")]
        path: PathBuf,
    },

    #[error("{path} is a {found} namespace, not {expected}")]
    WrongKind {
        #[serde(with = "serde_path")]
        path: PathBuf,
        expected: NsKind,
        found: NsKind,
    },

    #[error("ioctl {op} on {what}")]
    Ioctl {
        op: Text,
        what: String,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("unshare {kinds}")]
    Unshare {
        kinds: String,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    /// ENOSPC from unshare/clone: a `/proc/sys/user/max_*_namespaces` limit (or
    /// the nesting depth of 32) was reached. `limits` names each file and value.
    #[error("create {kinds} namespace: limit reached ({limits})")]
    LimitReached { kinds: String, limits: String },

    #[error("setns into {kind} namespace {path}")]
    Setns {
        kind: NsKind,
        #[serde(with = "serde_path")]
        path: PathBuf,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("clone3")]
    Clone {
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("fork")]
    Fork {
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("invalid id map {text:?}: {why}")]
    BadIdMap { text: String, why: Text },

    #[error("run {program}")]
    Spawn {
        program: Text,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("{program} {args} failed: {status}")]
    HelperFailed {
        program: Text,
        args: String,
        status: String,
    },

    #[error("bind {source_path} on {target}")]
    Persist {
        #[serde(with = "serde_path")]
        source_path: PathBuf,
        #[serde(with = "serde_path")]
        target: PathBuf,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("mount {what} on {target}")]
    Mount {
        what: Text,
        #[serde(with = "serde_path")]
        target: PathBuf,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("unmount {target}")]
    Unmount {
        #[serde(with = "serde_path")]
        target: PathBuf,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    // --- enter ---
    #[error("process {pid} exited before its namespaces were opened")]
    TargetExited { pid: u32 },

    #[error("pidfd_open {pid}")]
    PidfdOpen {
        pid: u32,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("{kind} namespace: no file given and no target process")]
    NoTarget { kind: NsKind },

    #[error("{what}: needs a target process")]
    NoTargetFor { what: Text },

    #[error("drop supplementary groups")]
    SetGroups {
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("setgid {gid}")]
    SetGid {
        gid: u32,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("setuid {uid}")]
    SetUid {
        uid: u32,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("wait for process {pid}")]
    Wait {
        pid: u32,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    /// Setting up the wait for a forked program: signal mask, signalfd, pipe.
    #[error("{step}")]
    Supervise {
        step: Text,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    // --- enter and unshare ---
    #[error("chroot to {path}")]
    Chroot {
        #[serde(with = "serde_path")]
        path: PathBuf,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("change directory to {path}")]
    Chdir {
        #[serde(with = "serde_path")]
        path: PathBuf,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("exec {program}")]
    Exec {
        program: String,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    // --- unshare ---
    #[error("create {path} to keep the {kind} namespace")]
    PersistCreate {
        kind: NsKind,
        #[serde(with = "serde_path")]
        path: PathBuf,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("make {target} {mode}")]
    Propagation {
        #[serde(with = "serde_path")]
        target: PathBuf,
        mode: Text,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("set parent-death signal {signal}")]
    DeathSignal {
        signal: i32,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("parent process exited before the command started")]
    ParentGone,

    #[error("keep capabilities in the new user namespace")]
    KeepCaps {
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    #[error("{what}")]
    Sys {
        what: Text,
        #[source]
        #[serde(with = "serde_io")]
        source: io::Error,
    },

    /// The parent/child channel itself failed. Never sent over one: a
    /// channel error cannot cross the channel it is about (sending it fails,
    /// and the peer sees the sender's exit instead).
    #[error("{step}")]
    #[serde(skip)]
    Channel {
        step: Text,
        #[source]
        source: crate::channel::ChannelError,
    },

    #[error("{peer} broke the setup protocol: expected {expected}, got {got}")]
    Protocol {
        peer: Text,
        expected: Text,
        got: String,
    },

    #[error("{what}({id})")]
    SetId {
        what: Text,
        id: u32,
        #[source]
        #[serde(with = "serde_io")]
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

    /// The kernel's errno behind this error, if there is one: the first OS
    /// error in its chain of causes (a channel error holds it one deeper).
    pub fn errno(&self) -> Option<i32> {
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            if let Some(n) = c.downcast_ref::<io::Error>().and_then(|e| e.raw_os_error()) {
                return Some(n);
            }
            cause = c.source();
        }
        None
    }
}

/// `io::Error` on the wire: the errno when there is one (the usual case:
/// it comes back as the same OS error), else its kind's text and message
/// (`io::Error::other`, as `KeepCaps` makes).
mod serde_io {
    use std::io;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    enum Wire {
        Os(i32),
        Other(String),
    }

    pub fn serialize<S: Serializer>(e: &io::Error, s: S) -> Result<S::Ok, S::Error> {
        match e.raw_os_error() {
            Some(n) => Wire::Os(n),
            None => Wire::Other(e.to_string()),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<io::Error, D::Error> {
        Ok(match Wire::deserialize(d)? {
            Wire::Os(n) => io::Error::from_raw_os_error(n),
            Wire::Other(text) => io::Error::other(text),
        })
    }
}

/// A path as its bytes: paths need not be UTF-8.
mod serde_path {
    use std::ffi::OsString;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(p.as_os_str().as_bytes())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        Ok(PathBuf::from(OsString::from_vec(Vec::<u8>::deserialize(
            d,
        )?)))
    }
}
