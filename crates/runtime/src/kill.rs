//! `kill`: a signal to the container's init, through a pidfd opened and
//! then checked against the recorded start time, so a reused pid is never
//! signalled; with `--all`, to every process in its cgroup (frozen
//! meanwhile, so none forks away; SIGKILL by v2's `cgroup.kill` where the
//! kernel has it), or, for a container created without a cgroup, in its
//! PID namespace.

use std::path::Path;

use rustix::process::Signal;

use crate::liveness::{self, members, open_checked};
use crate::state::StateDir;
use crate::Error;

/// `KILL`, `SIGKILL`, `kill`, `9`, or a real-time signal: `RTMIN+3`,
/// `SIGRTMAX-1`, `37` (what Docker and podman send for an image whose
/// `STOPSIGNAL` is `SIGRTMIN+3`, systemd's halt signal).
pub fn parse_signal(text: &str) -> Result<Signal, Error> {
    let number = nsbox_ns::signal::parse(text).ok_or_else(|| Error::BadSignal(text.to_string()))?;
    if let Some(named) = Signal::from_named_raw(number) {
        return Ok(named);
    }
    // SAFETY: `parse` returns a signal number from 1 to SIGRTMAX, so it is
    // valid and non-zero. rustix reserves the real-time range because the
    // libc may use some of it for itself *in this process*; the value is
    // only ever sent to the container's processes (pidfd_send_signal,
    // kill), never blocked, waited for or handled here.
    Ok(unsafe { Signal::from_raw_unchecked(number) })
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
            if let Some(fd) = liveness::start_time(other)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_spellings() {
        for s in ["KILL", "SIGKILL", "kill", "9"] {
            assert_eq!(parse_signal(s).unwrap(), Signal::KILL, "{s}");
        }
        assert_eq!(parse_signal("TERM").unwrap(), Signal::TERM);
        for (text, number) in [
            ("RTMIN+3", 37),
            ("SIGRTMIN+3", 37),
            ("rtmin", 34),
            ("RTMAX-1", 63),
            ("37", 37),
            ("64", 64),
        ] {
            assert_eq!(parse_signal(text).unwrap().as_raw(), number, "{text}");
        }
        for bad in ["NOPE", "0", "99", "", "RTMIN+40", "RTMAX+1"] {
            let err = parse_signal(bad).unwrap_err();
            assert_eq!(err.to_string(), format!("unknown signal {bad:?}"));
        }
    }
}
