//! Whether a recorded process is still the one we started, from the
//! kernel, never from a file: its start time (field 22 of
//! `/proc/PID/stat`) against the recorded one, a pidfd checked that way,
//! and the other processes of its PID namespace. `/proc/PID/stat` is
//! parsed by `nsbox_ns::procstat`, as everywhere in nsbox.

use std::io;
use std::os::fd::OwnedFd;

use nsbox_ns::procstat::{Stat, StatError};
use nsbox_ns::NsKind;
use rustix::process::{Pid, PidfdFlags};

/// Start time (clock ticks since boot) of `pid`: field 22 of
/// `/proc/PID/stat`, or `None` when the process is gone or a zombie.
pub fn start_time(pid: u32) -> io::Result<Option<u64>> {
    let stat = Stat::read(pid).map_err(io_error)?;
    Ok(stat.filter(|s| !s.has_exited()).map(|s| s.start_time))
}

/// A stat file that could not be read or parsed, as the I/O error the
/// runtime's `ProcStat` carries.
pub fn io_error(e: StatError) -> io::Error {
    match e {
        StatError::Read { source, .. } => source,
        malformed => io::Error::new(io::ErrorKind::InvalidData, malformed),
    }
}

/// Whether `pid` is alive and is the process that had `start` at create.
pub fn is_alive(pid: u32, start: u64) -> bool {
    matches!(start_time(pid), Ok(Some(t)) if t == start)
}

/// A pidfd for `pid` if it is still the process that had `start`: the
/// pidfd pins the process, then the start time proves it is the same one.
pub fn open_checked(pid: u32, start: u64) -> Option<OwnedFd> {
    let fd = rustix::process::pidfd_open(Pid::from_raw(pid as i32)?, PidfdFlags::empty()).ok()?;
    is_alive(pid, start).then_some(fd)
}

/// The other processes in `init`'s PID namespace, when init has one of its
/// own (otherwise the container is only its init, as far as we can tell
/// without its cgroup).
pub fn members(init: u32) -> Vec<u32> {
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
    fn own_start_time_is_stable() {
        let me = std::process::id();
        let t = start_time(me).unwrap().unwrap();
        assert!(is_alive(me, t));
        assert!(!is_alive(me, t + 1));
    }
}
