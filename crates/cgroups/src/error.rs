//! Errors of `nsbox-cgroups`: one variant per step, each naming its object
//! (cgroup file, directory, field of the resources, pid), the kernel's cause
//! kept as `#[source]`. Printed as a chain joined by ": ", a failed limit reads
//! `memory.limit: write 67108864 to /sys/fs/cgroup/memory/x/memory.limit_in_bytes: Device or resource busy`.

use std::io;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("write {data:?} to {path}")]
    Write {
        path: PathBuf,
        data: String,
        #[source]
        source: io::Error,
    },

    /// A resource limit the kernel refused: names the field of the
    /// resources, the value and the cgroup file.
    #[error("{field}: write {data:?} to {path}")]
    Apply {
        field: String,
        path: PathBuf,
        data: String,
        #[source]
        source: io::Error,
    },

    #[error("{path}:{line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: &'static str,
    },

    #[error("{path}: unexpected content {content:?}")]
    BadValue { path: PathBuf, content: String },

    #[error("no cgroup file system is mounted (looked in {path})")]
    NoCgroupFs { path: PathBuf },

    #[error("{path} has no entry for the {hierarchy} hierarchy")]
    OwnCgroupUnknown { path: PathBuf, hierarchy: String },

    #[error("cgroup {cgroup} lies outside the {hierarchy} mount at {mount} (mount root {root})")]
    OutsideMount {
        cgroup: PathBuf,
        hierarchy: String,
        mount: PathBuf,
        root: PathBuf,
    },

    #[error("cgroups path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },

    /// A field whose controller has no hierarchy on this host.
    #[error("{field}: controller {controller} is not available on this host")]
    NoController { field: String, controller: String },

    /// A v2 controller the host has, but the parent did not enable for this
    /// cgroup (it is missing from `path`, the cgroup's cgroup.controllers).
    #[error("{field}: controller {controller} is not enabled for this cgroup (not in {path})")]
    NotEnabled {
        field: String,
        controller: String,
        path: PathBuf,
    },

    /// A field this cgroup version cannot express at all.
    #[error("{field}: not supported by cgroup {version}")]
    Unsupported {
        field: String,
        version: &'static str,
    },

    #[error("{field}: invalid value {value}: {reason}")]
    Invalid {
        field: String,
        value: String,
        reason: &'static str,
    },

    #[error("enable controller {controller} in {path}")]
    EnableController {
        controller: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// cgroup v2's no-internal-processes rule: cgroup `path` holds
    /// processes, so it cannot hand `controller` to its child cgroups.
    /// Checked before anything is written.
    #[error(
        "cannot enable controller {controller} in {path}: it holds {procs} process(es), and cgroup v2 \
         hands controllers to child cgroups only from the root cgroup or from one without processes; \
         give an absolute cgroups path beneath a cgroup that holds none"
    )]
    Delegation {
        controller: String,
        path: PathBuf,
        procs: usize,
    },

    #[error("create cgroup directory {path}")]
    Mkdir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("remove cgroup directory {path}")]
    Rmdir {
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

    #[error("add process {pid} to {path}")]
    AddProcess {
        pid: u32,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{path} did not reach state {want} in {millis} ms (last: {last})")]
    FreezeTimeout {
        path: PathBuf,
        want: &'static str,
        last: String,
        millis: u128,
    },

    #[error("kill process {pid} of {path}")]
    Kill {
        pid: u32,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("processes still in {path} after {millis} ms: {pids:?}")]
    KillTimeout {
        path: PathBuf,
        pids: Vec<u32>,
        millis: u128,
    },

    #[error("{operation} needs a cgroup v2 (unified) hierarchy, and this host has none")]
    NoUnified { operation: &'static str },

    /// A step of loading or attaching the v2 device filter (`bpf(2)`).
    #[error("bpf {op} for {path}")]
    Bpf {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The kernel's verifier refused the device program; `log` is its reason.
    #[error("bpf: load device program for {path}: verifier says {log:?}")]
    BpfVerifier {
        path: PathBuf,
        log: String,
        #[source]
        source: io::Error,
    },

    // --- kernel-ignored limits ---
    /// The kernel took the write but did not apply it (v1
    /// `memory.kmem.limit_in_bytes` on Linux >= 6.1 accepts and ignores any
    /// value): reading the file back shows something else.
    #[error("{field}: wrote \"{value}\" to {path} but the kernel ignored it (reads back {found:?}); this kernel cannot apply {field}")]
    Ignored {
        field: String,
        path: PathBuf,
        value: i64,
        found: String,
    },

    /// A systemd cgroups path where systemd does not run.
    #[error("systemd cgroups path {path:?}: no systemd runs on this host (/run/systemd/system is missing)")]
    NoSystemd { path: String },

    #[error("connect to the systemd {bus} manager's bus")]
    SystemdConnect {
        bus: &'static str,
        #[source]
        source: Box<zbus::Error>,
    },

    #[error("systemd ({bus} manager): {method} {unit}")]
    SystemdCall {
        method: &'static str,
        unit: String,
        bus: &'static str,
        #[source]
        source: Box<zbus::Error>,
    },

    #[error("systemd: {method} {unit}: the job ended with result {result:?}")]
    SystemdJob {
        method: &'static str,
        unit: String,
        result: String,
    },

    #[error("systemd: {method} {unit}: the job did not end within {secs} s")]
    SystemdTimeout {
        method: &'static str,
        unit: String,
        secs: u64,
    },
}
