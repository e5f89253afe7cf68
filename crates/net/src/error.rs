//! Errors of nsbox-net: one variant per step, the cause as its source.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("invalid network namespace name {name:?}: {why}")]
    BadName { name: String, why: &'static str },

    #[error("network namespace {name:?} does not exist (no {path})")]
    NoSuchNetns { name: String, path: PathBuf },

    #[error("network namespace {name:?} already exists ({path})")]
    NetnsExists { name: String, path: PathBuf },

    #[error("network namespace {name:?} is in use by process {pids} (kept; stop them first)", pids = list(pids))]
    NetnsInUse { name: String, pids: Vec<u32> },

    #[error("no process {pid}")]
    NoSuchProcess { pid: u32 },

    #[error("{what} {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{what}")]
    Sys {
        what: String,
        #[source]
        source: io::Error,
    },

    #[error(transparent)]
    Ns(#[from] nsbox_ns::Error),

    #[error("netlink: {what}")]
    Netlink {
        what: String,
        #[source]
        source: io::Error,
    },

    #[error("netlink: {what}: unexpected reply: {reply}")]
    NetlinkReply { what: String, reply: String },
}

fn list(pids: &[u32]) -> String {
    pids.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
