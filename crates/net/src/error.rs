//! Errors of nsbox-net: one variant per step, the cause as its source.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("subnet {subnet} has no free address ({leases} in use)")]
    SubnetExhausted { subnet: String, leases: usize },

    #[error("no CNI network {name:?} in {dirs}")]
    NoCniNetwork { name: String, dirs: String },

    #[error("CNI configuration {path}: {why}")]
    CniConf { path: PathBuf, why: String },

    #[error("CNI plugin {plugin:?} not found in {dirs}")]
    NoCniPlugin { plugin: String, dirs: String },

    #[error("CNI plugin {plugin} {command}: {why}")]
    CniPlugin {
        plugin: String,
        command: String,
        why: String,
    },

    #[error("nft: {what}: {why}")]
    Nft { what: String, why: String },

    #[error("invalid subnet {subnet}: {why}")]
    BadSubnet { subnet: String, why: &'static str },

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

    #[error("invalid device name {name:?}: {why}")]
    BadDeviceName { name: String, why: &'static str },

    #[error("device {name:?} does not exist")]
    NoSuchDevice { name: String },

    #[error("device {name:?} already exists")]
    DeviceExists { name: String },

    #[error("device {name:?} is not a bridge")]
    NotABridge { name: String },

    #[error("invalid MTU {mtu} for {name:?}: it takes {min} to {max}")]
    BadMtu {
        name: String,
        mtu: u32,
        min: u32,
        max: u32,
    },

    #[error("invalid address {text:?}: {why}")]
    BadAddress { text: String, why: &'static str },

    #[error("address {addr} already on {dev:?}")]
    AddressExists { addr: String, dev: String },

    #[error("address {addr} is not on {dev:?}")]
    NoSuchAddress { addr: String, dev: String },

    #[error("route {route} already exists")]
    RouteExists { route: String },

    #[error("no route {route}")]
    NoSuchRoute { route: String },

    #[error("route {route}: gateway {via} is not on a directly connected network")]
    GatewayUnreachable { route: String, via: String },

    #[error("route {route}: its device is down")]
    RouteDeviceDown { route: String },

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
    /// The errno of a kernel refusal (a netlink error), if this is one.
    pub fn netlink_errno(&self) -> Option<i32> {
        match self {
            Error::Netlink { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
