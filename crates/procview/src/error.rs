//! One error enum for the crate: a variant per step, naming its object, the
//! cause as `#[source]`.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("detect the host's cgroup hierarchies")]
    Host(#[source] nsbox_cgroups::Error),
    #[error("read the cgroups of process {pid}")]
    ProcCgroup {
        pid: u32,
        #[source]
        source: nsbox_cgroups::Error,
    },
    #[error("read {}", path.display())]
    Cgroup {
        path: PathBuf,
        #[source]
        source: nsbox_cgroups::Error,
    },
    #[error("read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: not a CPU list: {text:?}", path.display())]
    CpuList { path: PathBuf, text: String },
    #[error("{}: no uptime in {text:?}", path.display())]
    Uptime { path: PathBuf, text: String },
    #[error("read the start time of process {pid}")]
    ProcStat {
        pid: u32,
        #[source]
        source: nsbox_ns::procstat::StatError,
    },
    #[error("block the signals that stop the server")]
    Signals(#[source] nsbox_ns::Error),
    #[error("the proc view runs already (pid {pid}, mounted on {})", mount_point.display())]
    Running { pid: u32, mount_point: PathBuf },
    #[error("create the mount point {}", path.display())]
    MountPoint {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("mount the proc view on {}", path.display())]
    Mount {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("/dev/fuse: {step}")]
    Device {
        step: &'static str,
        #[source]
        source: rustix::io::Errno,
    },
    #[error("start the proc view's holder")]
    Spawn {
        #[source]
        source: io::Error,
    },
    #[error("the proc view did not come up ({}): {why}", log.display())]
    NotStarted { log: PathBuf, why: String },
    #[error("unmount the proc view from {}", path.display())]
    Unmount {
        path: PathBuf,
        #[source]
        source: rustix::io::Errno,
    },
    #[error("write the state file {}", path.display())]
    WriteState {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("read the state file {}", path.display())]
    ReadState {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the state file {} is not valid", path.display())]
    BadState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("signal the proc view server (pid {pid})")]
    Signal {
        pid: u32,
        #[source]
        source: rustix::io::Errno,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its causes joined by ": ".
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
