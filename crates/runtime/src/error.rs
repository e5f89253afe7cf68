//! Errors of `nsbox-runtime`: one variant per step, each naming its object
//! (bundle file and field, state path, pid, signal); the cause as `#[source]`.
//! Failures inside the container's init arrive as [`Error::Init`], rebuilt
//! from the step and errno the child sent.

use std::io;
use std::path::PathBuf;

use crate::step::Step;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid container id {id:?}: {why}")]
    BadId { id: String, why: &'static str },

    #[error("read {path}")]
    ReadConfig {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Malformed JSON: where it broke.
    #[error("{file}: line {line} column {column}: {msg}")]
    ConfigSyntax {
        file: &'static str,
        line: usize,
        column: usize,
        msg: String,
    },

    /// Well-formed JSON that is not a valid config: the field and why.
    #[error("{file}: {field}: {msg}")]
    ConfigField {
        file: &'static str,
        field: String,
        msg: String,
    },

    #[error("root.path {path}")]
    Rootfs {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("container {id:?} already in use ({path} exists)")]
    IdInUse { id: String, path: PathBuf },

    #[error("container {id:?} does not exist")]
    NotFound { id: String },

    #[error("create {path}")]
    CreateState {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("lock {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("read state {path}")]
    ReadState {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("state {path} is corrupt: {msg}")]
    BadState { path: PathBuf, msg: String },

    #[error("write {path}")]
    WriteState {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("remove {path}")]
    RemoveState {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("exec fifo {path}")]
    Fifo {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("nsbox has {threads} threads; clone needs a single-threaded caller")]
    Threaded { threads: u64 },

    #[error("open {kind} namespace {path} (linux.namespaces[{index}].path)")]
    JoinNs {
        index: usize,
        kind: nsbox_ns::NsKind,
        path: PathBuf,
        #[source]
        source: nsbox_ns::Error,
    },

    #[error("socketpair")]
    Socketpair {
        #[source]
        source: io::Error,
    },

    #[error("start init")]
    Clone {
        #[source]
        source: nsbox_ns::Error,
    },

    #[error("write id maps of pid {pid}")]
    IdMaps {
        pid: u32,
        #[source]
        source: nsbox_ns::Error,
    },

    /// A step of the container's init failed; the child sent step and errno.
    #[error("{step}")]
    Init {
        step: Step,
        #[source]
        source: io::Error,
    },

    /// A createContainer hook failed inside init.
    #[error("{kind} hook[{index}] {path}: {why}")]
    InitHook {
        kind: String,
        index: usize,
        path: String,
        why: String,
    },

    #[error("container init: expected {expected}, got {got}")]
    Protocol {
        expected: &'static str,
        got: &'static str,
    },

    #[error("container init exited before {expected} ({status})")]
    ChildDied {
        expected: &'static str,
        status: String,
    },

    #[error("talk to container init")]
    Channel {
        #[source]
        source: io::Error,
    },

    #[error("read /proc/{pid}/stat")]
    ProcStat {
        pid: u32,
        #[source]
        source: io::Error,
    },

    #[error("write pid file {path}")]
    PidFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("container {id:?} is {status}, not {wanted}")]
    WrongStatus {
        id: String,
        status: &'static str,
        wanted: &'static str,
    },

    #[error("unknown signal {0:?}")]
    BadSignal(String),

    #[error("send {signal} to pid {pid}")]
    Signal {
        signal: i32,
        pid: u32,
        #[source]
        source: io::Error,
    },

    #[error("wait for pid {pid}")]
    Wait {
        pid: u32,
        #[source]
        source: io::Error,
    },

    #[error("connect to console socket {path}")]
    ConsoleSocket {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("receive the container's pty")]
    Console {
        #[source]
        source: io::Error,
    },

    #[error("{kind} hook[{index}] {path}")]
    Hook {
        kind: &'static str,
        index: usize,
        path: PathBuf,
        #[source]
        source: HookFailure,
    },

    /// `exec`: nsbox itself on the initial CPUs, before the clone.
    #[error("set initial CPU affinity {cpus} (process.execCPUAffinity.initial)")]
    ExecAffinity {
        cpus: String,
        #[source]
        source: io::Error,
    },

    /// Limits asked by a user who may not make cgroups here.
    #[error(
        "resource limits need a cgroup this user may create: a cgroup v2 subtree delegated \
         to the user (under systemd: systemd-run --user --scope -p Delegate=yes ...), or run \
         as root; without limits the container runs in the caller's cgroup"
    )]
    CgroupNotDelegated {
        #[source]
        source: nsbox_cgroups::Error,
    },

    /// A config field nsbox leaves alone on purpose (as runc does), said.
    #[error("{file}: {field}: ignored: {why}")]
    Ignored {
        file: &'static str,
        field: String,
        why: &'static str,
    },

    /// A label for an LSM the host does not run, where ignoring it is safe.
    #[error("config.json: {field}: ignored: {lsm} is not enabled on this host")]
    LsmIgnored {
        field: &'static str,
        lsm: &'static str,
    },

    #[error("supervise the container's process")]
    Supervise {
        #[source]
        source: nsbox_ns::Error,
    },

    #[error("cannot delete container {id:?} that is {status} (use --force)")]
    DeleteRunning { id: String, status: &'static str },

    #[error("write {path}")]
    WriteSpec {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{path} already exists")]
    SpecExists { path: PathBuf },

    #[error("list {path}")]
    List {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    // --- seccomp and LSM labels ---
    /// `linux.seccomp` could not be compiled; the field at fault.
    #[error("config.json: {field}")]
    Seccomp {
        field: String,
        #[source]
        source: nsbox_seccomp::Error,
    },

    /// An LSM label asked for on a host without that LSM (runc errors too).
    #[error("config.json: {field}: {lsm} {what} {value:?} requested but {lsm} is not enabled on this host")]
    LsmUnavailable {
        field: &'static str,
        what: &'static str,
        value: String,
        lsm: &'static str,
    },

    /// Handing the seccomp notification fd to `linux.seccomp.listenerPath`.
    #[error("send the seccomp listener to {path} (linux.seccomp.listenerPath)")]
    SeccompListener {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    // --- cgroups ---
    /// A cgroup step: what was being done; the library's error names the
    /// OCI field and the cgroup file.
    #[error("{what}")]
    Cgroup {
        what: String,
        #[source]
        source: nsbox_cgroups::Error,
    },

    /// A systemd-style cgroupsPath: it needs a driver nsbox does not have.
    #[error("config.json: linux.cgroupsPath {path:?} is systemd's slice:prefix:name form, which needs the systemd cgroup driver: {why}; give a cgroupfs path (absolute, or relative to nsbox's own cgroup)")]
    SystemdCgroupPath { path: String, why: &'static str },

    #[error("container {id:?} has no cgroup (it was created unprivileged without one)")]
    NoCgroup { id: String },

    #[error("{path}")]
    ResourcesJson {
        path: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("read {path}")]
    ReadResources {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error("{flag}: {msg}")]
    UpdateFlag { flag: &'static str, msg: String },

    /// `update` with `memory.checkBeforeUpdate`: a limit not above usage.
    #[error("--resources: memory.{field}: refusing the {what} limit {limit}: not above the cgroup's current usage {usage} (memory.checkBeforeUpdate); nothing changed")]
    MemoryBelowUsage {
        field: &'static str,
        what: &'static str,
        limit: i64,
        usage: u64,
    },

    #[error("write event")]
    Events {
        #[source]
        source: io::Error,
    },

    // --- idmapped mounts (idmapped.rs) ---
    #[error(
        "mounts[{index}]: idmapped mount of {} on {}: user namespace for its id maps",
        from.display(),
        dest.display()
    )]
    IdmapUserns {
        index: usize,
        from: PathBuf,
        dest: PathBuf,
        #[source]
        source: Box<nsbox_ns::Error>,
    },

    #[error(
        "mounts[{index}]: idmapped mount of {} on {}{hint}",
        from.display(),
        dest.display()
    )]
    IdmapMount {
        index: usize,
        from: PathBuf,
        dest: PathBuf,
        hint: &'static str,
        #[source]
        source: io::Error,
    },

    // --- no mount namespace ---
    /// A config field that only a mount namespace of the container's own
    /// could apply (a warning: the host's mount table is left alone).
    #[error(
        "config.json: {field}: not applied without a mount namespace \
         (they would be the host's mounts; ignored)"
    )]
    NoMountNs { field: &'static str },

    // --- linux.netDevices ---
    #[error("open the container's network namespace {path}")]
    OpenNetns {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Moving `linux.netDevices[name]` into the container failed.
    #[error("linux.netDevices {name:?}: move into the container's network namespace")]
    NetDevice {
        name: String,
        #[source]
        source: nsbox_net::Error,
    },
}

/// Why one hook failed.
#[derive(Debug, thiserror::Error)]
pub enum HookFailure {
    #[error("{0}")]
    Spawn(#[source] std::io::Error),
    #[error("{0}")]
    Exit(std::process::ExitStatus),
    #[error("timed out after {0}s")]
    Timeout(i64),
    #[error("timeout {0} must be positive")]
    BadTimeout(i64),
}

impl Error {
    /// Why the container's program could not be started, when that is what
    /// failed (init's execve or the lookup before it): engines and shells
    /// turn it into exit 127 (not found) or 126 (not executable).
    pub fn exec_failure(&self) -> Option<&io::Error> {
        match self {
            Error::Init {
                step: Step::Exec { .. },
                source,
            } => Some(source),
            _ => None,
        }
    }
}

/// The errno of a failed exec of the container's program, worded as runc
/// (Go) words it: lowercase, "no such file or directory". Docker's CLI
/// turns a runtime's create error into exit 127 or 126 only when it
/// holds those words, matched case-sensitively.
#[derive(Debug)]
pub struct ExecCause(pub i32);

impl ExecCause {
    /// As an `io::Error` of the errno's kind, displayed in these words.
    pub fn io(errno: i32) -> io::Error {
        io::Error::new(io::Error::from_raw_os_error(errno).kind(), ExecCause(errno))
    }
}

impl std::fmt::Display for ExecCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = io::Error::from_raw_os_error(self.0).to_string();
        let text = text.split(" (os error").next().unwrap_or(&text);
        let mut chars = text.chars();
        if let Some(first) = chars.next() {
            write!(f, "{}{}", first.to_lowercase(), chars.as_str())?;
        }
        Ok(())
    }
}

impl std::error::Error for ExecCause {}
