//! nsbox's children, supervised: the wait for the process `run` and `exec`
//! started (signals passed on by `nsbox_ns::supervise`, the one
//! implementation every waiting part of nsbox uses; with a pty, our stdio
//! proxied meanwhile), how a child ended, and the guard that kills and
//! reaps the children of a failed `create` or `exec`.
//!
//! Signals are blocked before the clone (init clears the mask before exec),
//! so one sent while the container starts waits in the signalfd.

use std::os::fd::{AsFd, OwnedFd};

use nsbox_ns::supervise::{self, Child, Reap, Signals, Terminal};
use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, Signal};

use crate::pty_proxy;
use crate::Error;

/// Blocks what `run` and `exec` forward: the container's process is in a
/// session of its own, so everything on nsbox_ns's list is passed on,
/// job control and the terminal's own signals included (runc's choice).
pub fn block_signals() -> Result<Signals, Error> {
    Signals::block_for(Terminal::Own).map_err(|source| Error::Supervise { source })
}

/// Waits for our child `pid` (init, or an exec'd process), forwarding
/// signals; with a pty `master`, copying between our stdio and it
/// meanwhile (SIGWINCH then resizes the pty instead of being forwarded,
/// and output still in the pty at the end is drained). Returns the exit
/// code a shell would give: the program's, or 128 + the killing signal.
pub fn wait(
    pid: u32,
    pidfd: Option<&OwnedFd>,
    signals: &Signals,
    master: Option<&OwnedFd>,
) -> Result<u8, Error> {
    let Some(child_pid) = Pid::from_raw(pid as i32) else {
        return Err(Error::Wait {
            pid,
            source: std::io::Error::from_raw_os_error(libc::ESRCH),
        });
    };
    let own_pidfd = match pidfd {
        Some(_) => None,
        None => child_pidfd(pid),
    };
    let pidfd = pidfd.or(own_pidfd.as_ref());
    let mut hung_up = false;
    if let (Some(master), Some(pidfd)) = (master, pidfd) {
        // Our terminal raw while the container's pty does the line
        // discipline; restored before the status is reaped.
        let _raw = pty_proxy::RawMode::enter();
        pty_proxy::copy_size(master);
        hung_up = proxy_until_exit(child_pid, pidfd, signals, master)?;
    }
    let child = Child {
        pid: child_pid,
        pidfd: pidfd.map(|f| f.as_fd()),
    };
    let status = supervise::wait(child, signals, Reap::Child)
        .map_err(|source| Error::Supervise { source })?;
    Ok(match status {
        // Ended for the hang-up (see nsbox_ns::hangup), as supervise::wait
        // reports it.
        supervise::ChildStatus::Signaled(libc::SIGKILL) if hung_up => 128 + libc::SIGHUP as u8,
        _ => status.code(),
    })
}

/// Copies between our stdio and the pty until the child's pidfd says it
/// exited, passing signals on as [`supervise::wait`] would (a hang-up of
/// our terminal included: returns whether the child was ended for it).
fn proxy_until_exit(
    child: Pid,
    pidfd: &OwnedFd,
    signals: &Signals,
    master: &OwnedFd,
) -> Result<bool, Error> {
    let pid = child.as_raw_nonzero().get() as u32;
    let mut hung_up = false;
    let stdin = rustix::stdio::stdin();
    let stdout = rustix::stdio::stdout();
    let mut stdin_open = true;
    loop {
        let mut fds = vec![
            PollFd::new(pidfd, PollFlags::IN),
            PollFd::from_borrowed_fd(signals.fd(), PollFlags::IN),
            PollFd::new(master, PollFlags::IN),
        ];
        if stdin_open {
            fds.push(PollFd::from_borrowed_fd(stdin, PollFlags::IN));
        }
        match rustix::event::poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(Error::Wait {
                    pid,
                    source: e.into(),
                })
            }
        }
        let ready = |i: usize| {
            fds.get(i)
                .is_some_and(|f| !(f.revents() & (PollFlags::IN | PollFlags::HUP)).is_empty())
        };
        let (exited, output, input) = (ready(0), ready(2), ready(3));
        drop(fds);
        if output {
            pty_proxy::pump(master.as_fd(), stdout);
        }
        if input && !pty_proxy::pump(stdin, master.as_fd()) {
            stdin_open = false;
        }
        while let Some(r) = signals.read() {
            if r.signal == libc::SIGWINCH {
                pty_proxy::copy_size(master);
            } else if signals.should_forward(r) {
                if let Some(sig) = Signal::from_named_raw(r.signal) {
                    let _ = rustix::process::pidfd_send_signal(pidfd, sig);
                }
            }
            if r.signal == libc::SIGHUP && !hung_up && nsbox_ns::hangup::ends_child(child) {
                hung_up = true;
                let _ = rustix::process::pidfd_send_signal(pidfd, Signal::KILL);
            }
        }
        if exited {
            break;
        }
    }
    pty_proxy::drain(master);
    Ok(hung_up)
}

/// A pidfd for `pid`, our child (init or an exec'd process forked with
/// CLONE_PARENT) and not reaped yet, so the pid cannot have been reused.
pub fn child_pidfd(pid: u32) -> Option<OwnedFd> {
    let pid = Pid::from_raw(pid as i32)?;
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
}

/// The child died without a word: its exit status is all there is.
pub fn died(pid: u32, expected: &'static str) -> Error {
    Error::ChildDied {
        expected,
        status: reap(pid),
    }
}

/// Waits for our child `pid` and describes how it ended.
pub fn reap(pid: u32) -> String {
    let Some(p) = rustix::process::Pid::from_raw(pid as i32) else {
        return "no such process".into();
    };
    match rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty()) {
        Ok(Some((_, status))) => describe(status),
        Ok(None) => "still running".into(),
        Err(e) => format!("wait: {e}"),
    }
}

/// How a child ended, in words (`exit status 1`, `killed by signal 9`).
pub fn describe(status: rustix::process::WaitStatus) -> String {
    if let Some(code) = status.exit_status() {
        format!("exit status {code}")
    } else if let Some(sig) = status.terminating_signal() {
        format!("killed by signal {sig}")
    } else {
        format!("wait status {:#x}", status.as_raw())
    }
}

/// Kills and reaps, newest first, the children of a `create` or `exec`
/// that failed half-way; [`Reaper::disarm`] when they are the container's.
#[derive(Debug, Default)]
pub struct Reaper(Vec<u32>);

impl Reaper {
    /// Takes `pid` (our child) in charge.
    pub fn push(&mut self, pid: u32) {
        self.0.push(pid);
    }

    /// The children are the container's now: leave them be.
    pub fn disarm(&mut self) {
        self.0.clear();
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        for &pid in self.0.iter().rev() {
            if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                let _ = rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty());
            }
        }
    }
}
