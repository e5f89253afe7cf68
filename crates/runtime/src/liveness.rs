//! Whether a recorded process is still the one we started, from the
//! kernel, never from a file: its start time (field 22 of
//! `/proc/PID/stat`) against the recorded one, a pidfd checked that way,
//! and the other processes of its PID namespace. The runtime's one reader
//! of `/proc/PID/stat`.

use std::fs;
use std::io;
use std::os::fd::OwnedFd;

use nsbox_ns::NsKind;
use rustix::process::{Pid, PidfdFlags};

/// The fields of a `/proc/PID/stat` line after the command name (which may
/// hold spaces and parentheses): the first is field 3, the state.
pub fn stat_fields(text: &str) -> Option<std::str::SplitWhitespace<'_>> {
    Some(text[text.rfind(')')? + 1..].split_whitespace())
}

/// Start time (clock ticks since boot) of `pid`: field 22 of
/// `/proc/PID/stat`, or `None` when the process is gone or a zombie.
pub fn start_time(pid: u32) -> io::Result<Option<u64>> {
    let text = match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(parse_stat(&text))
}

/// Fields after the command name (which may hold spaces and parentheses):
/// field 3 is the state, field 22 the start time.
fn parse_stat(text: &str) -> Option<u64> {
    let fields: Vec<&str> = stat_fields(text)?.collect();
    // fields[0] is field 3 (state); field 22 is fields[19].
    if matches!(fields.first(), Some(&"Z") | Some(&"X") | Some(&"x")) {
        return None;
    }
    fields.get(19)?.parse().ok()
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
    fn stat_parsing_survives_odd_names() {
        let line =
            "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100";
        assert_eq!(parse_stat(line), Some(987654));
        let zombie = line.replace(") S ", ") Z ");
        assert_eq!(parse_stat(&zombie), None);
    }

    #[test]
    fn own_start_time_is_stable() {
        let me = std::process::id();
        let t = start_time(me).unwrap().unwrap();
        assert!(is_alive(me, t));
        assert!(!is_alive(me, t + 1));
    }
}
