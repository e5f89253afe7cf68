//! A network namespace named as ip's commands name one (`ip -n NS`,
//! `ip link set DEV netns NS`): a path when it holds a '/', else a name in
//! /run/netns, else a process id; and a netlink socket inside one.

use std::path::Path;

use nsbox_ns::{NsFile, NsKind};

use crate::rtnl::Rtnl;
use crate::{netns, Error};

/// Opens the network namespace `spec` refers to (see the module doc).
pub fn open(spec: &str) -> Result<NsFile, Error> {
    if spec.contains('/') {
        let path = Path::new(spec);
        if !path.exists() {
            return Err(Error::NoSuchNetns {
                name: spec.to_owned(),
                path: path.to_path_buf(),
            });
        }
        return Ok(NsFile::open(path, Some(NsKind::Net))?);
    }
    match netns::existing(spec) {
        Ok(path) => Ok(NsFile::open(&path, Some(NsKind::Net))?),
        Err(e) => match spec.parse::<u32>() {
            Ok(pid) if Path::new(&format!("/proc/{pid}")).exists() => {
                Ok(NsFile::of_pid(pid, NsKind::Net)?)
            }
            Ok(pid) => Err(Error::NoSuchProcess { pid }),
            Err(_) => Err(e),
        },
    }
}

/// An rtnetlink socket of namespace `ns`. A socket keeps talking to the
/// namespace it was opened in, so a short-lived thread joins `ns` and
/// opens it; the caller's thread never changes namespace.
pub fn socket_in(ns: &NsFile) -> Result<Rtnl, Error> {
    Rtnl::open_in(std::os::fd::AsFd::as_fd(ns))
}
