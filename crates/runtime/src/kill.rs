//! `kill`: a signal to the container's init, through a pidfd opened and
//! then checked against the recorded start time, so a reused pid is never
//! signalled; with `--all`, to every process in its cgroup (frozen
//! meanwhile, so none forks away; SIGKILL by v2's `cgroup.kill` where the
//! kernel has it), or, for a container created without a cgroup, in its
//! PID namespace.

use std::os::fd::OwnedFd;
use std::path::Path;

use nsbox_ns::NsKind;
use rustix::process::{Pid, PidfdFlags, Signal};

use crate::state::{self, StateDir};
use crate::Error;

/// `KILL`, `SIGKILL`, `kill` or `9`.
pub fn parse_signal(text: &str) -> Result<Signal, Error> {
    let bad = || Error::BadSignal(text.to_string());
    let number = nsbox_ns::signal::parse(text).ok_or_else(bad)?;
    Signal::from_named_raw(number).ok_or_else(bad)
}

/// Sends `signal` to the container `id`.
pub fn kill(root: &Path, id: &str, signal: Signal, all: bool) -> Result<(), Error> {
    let dir = StateDir::open(root, id)?;
    let record = dir.read()?;
    if let (true, Some(cg)) = (all, &record.cgroup) {
        return kill_cgroup(id, cg, signal);
    }
    let pid = record.live_pid().ok_or_else(|| Error::WrongStatus {
        id: id.to_string(),
        status: "stopped",
        wanted: "created or running",
    })?;
    let pidfd = open_checked(pid, record.start_time).ok_or_else(|| Error::WrongStatus {
        id: id.to_string(),
        status: "stopped",
        wanted: "created or running",
    })?;
    if all {
        for other in members(pid) {
            if let Some(fd) = state::start_time(other)
                .ok()
                .flatten()
                .and_then(|t| open_checked(other, t))
            {
                let _ = rustix::process::pidfd_send_signal(&fd, signal);
            }
        }
    }
    rustix::process::pidfd_send_signal(&pidfd, signal).map_err(|e| Error::Signal {
        signal: signal.as_raw(),
        pid,
        source: e.into(),
    })
}

/// `kill --all` through the cgroup: also reaches what outlived init.
fn kill_cgroup(id: &str, cg: &nsbox_cgroups::Cgroup, signal: Signal) -> Result<(), Error> {
    let procs = cg.procs().map_err(|source| Error::Cgroup {
        what: "list the container's processes".into(),
        source,
    })?;
    if procs.is_empty() {
        return Err(Error::WrongStatus {
            id: id.to_string(),
            status: "stopped",
            wanted: "created or running",
        });
    }
    let result = if signal == Signal::KILL {
        cg.kill()
    } else {
        cg.signal_all(signal)
    };
    result.map_err(|source| Error::Cgroup {
        what: format!("signal {} to every process in the cgroup", signal.as_raw()),
        source,
    })
}

/// A pidfd for `pid` if it is still the process that had `start`: the
/// pidfd pins the process, then the start time proves it is the same one.
pub fn open_checked(pid: u32, start: u64) -> Option<OwnedFd> {
    let fd = rustix::process::pidfd_open(Pid::from_raw(pid as i32)?, PidfdFlags::empty()).ok()?;
    state::is_alive(pid, start).then_some(fd)
}

/// The other processes in `init`'s PID namespace, when init has one of its
/// own (otherwise the container is only its init, as far as we can tell
/// without its cgroup).
pub(crate) fn members(init: u32) -> Vec<u32> {
    let Ok(ns) = nsbox_ns::ns_of_pid(init, NsKind::Pid) else {
        return Vec::new();
    };
    let Ok(mine) = nsbox_ns::ns_of_pid(std::process::id(), NsKind::Pid) else {
        return Vec::new();
    };
    if ns == mine {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| p != init && nsbox_ns::ns_of_pid(p, NsKind::Pid).is_ok_and(|n| n == ns))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_spellings() {
        for s in ["KILL", "SIGKILL", "kill", "9"] {
            assert_eq!(parse_signal(s).unwrap(), Signal::KILL, "{s}");
        }
        assert_eq!(parse_signal("TERM").unwrap(), Signal::TERM);
        for bad in ["NOPE", "0", "99", ""] {
            let err = parse_signal(bad).unwrap_err();
            assert_eq!(err.to_string(), format!("unknown signal {bad:?}"));
        }
    }
}
