//! nsbox's children, supervised: the signals `run` and `exec` forward to
//! the process they wait for (taken from a signalfd on the one thread, so
//! none is lost and no handler runs), the wait itself (with or without a
//! pty to proxy), how a child ended, and the guard that kills and reaps
//! the children of a failed `create` or `exec`.
//!
//! Signals are blocked before the clone (init clears the mask before exec),
//! so one sent while the container starts waits in the signalfd.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, Signal, WaitOptions};

use crate::pty_proxy;
use crate::Error;

/// What `run` and `exec` forward to the process they wait for: the signals
/// a user or a supervisor sends to stop, reload or notify a program (runc
/// forwards everything but SIGCHLD and SIGURG). The program runs in its own
/// session, so without forwarding none of these would reach it.
const FORWARDED: [i32; 11] = [
    libc::SIGHUP,   // the terminal went away, or "reload" to a daemon
    libc::SIGINT,   // Ctrl-C at nsbox's terminal
    libc::SIGQUIT,  // Ctrl-\ at nsbox's terminal
    libc::SIGUSR1,  // program-defined notices
    libc::SIGUSR2,  // program-defined notices
    libc::SIGTERM,  // `kill`, `docker stop`: the polite end
    libc::SIGALRM,  // timers set from outside (`timeout -s ALRM`)
    libc::SIGCONT,  // resume after a stop sent to nsbox
    libc::SIGTSTP,  // Ctrl-Z at nsbox's terminal
    libc::SIGWINCH, // our terminal resized (with a pty: the pty is resized instead)
    libc::SIGPWR,   // power failure notice from an init system
];

/// Waits for init (our child), forwarding signals until it exits.
pub fn wait_forwarding(
    pid: u32,
    pidfd: Option<&OwnedFd>,
    signals: &SignalFd,
) -> Result<rustix::process::WaitStatus, Error> {
    let wait_err = |e: rustix::io::Errno| Error::Wait {
        pid,
        source: e.into(),
    };
    if let Some(pidfd) = pidfd {
        loop {
            let mut fds = [
                PollFd::new(pidfd, PollFlags::IN),
                PollFd::new(&signals.fd, PollFlags::IN),
            ];
            match rustix::event::poll(&mut fds, None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(wait_err(e)),
            }
            if fds[0].revents().contains(PollFlags::IN) {
                break;
            }
            if fds[1].revents().contains(PollFlags::IN) {
                if let Some(sig) = signals.read() {
                    let _ = rustix::process::pidfd_send_signal(pidfd, sig);
                }
            }
        }
    }
    loop {
        match rustix::process::waitpid(Pid::from_raw(pid as i32), WaitOptions::empty()) {
            Ok(Some((_, status))) => return Ok(status),
            Ok(None) | Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(wait_err(e)),
        }
    }
}

/// Like [`wait_forwarding`], copying between our stdio and the
/// container's pty meanwhile; SIGWINCH resizes the pty instead of being
/// forwarded. Output still in the pty when init exits is drained.
pub fn wait_proxying(
    pid: u32,
    pidfd: Option<&OwnedFd>,
    signals: &SignalFd,
    master: &OwnedFd,
) -> Result<rustix::process::WaitStatus, Error> {
    let Some(pidfd) = pidfd else {
        return wait_forwarding(pid, None, signals);
    };
    let stdin = rustix::stdio::stdin();
    let stdout = rustix::stdio::stdout();
    let mut stdin_open = true;
    loop {
        let mut fds = vec![
            PollFd::new(pidfd, PollFlags::IN),
            PollFd::new(&signals.fd, PollFlags::IN),
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
        let (exited, signalled, output, input) = (ready(0), ready(1), ready(2), ready(3));
        drop(fds);
        if output {
            pty_proxy::pump(master.as_fd(), stdout);
        }
        if input && !pty_proxy::pump(stdin, master.as_fd()) {
            stdin_open = false;
        }
        if signalled {
            match signals.read() {
                Some(Signal::WINCH) => pty_proxy::copy_size(master),
                Some(sig) => {
                    let _ = rustix::process::pidfd_send_signal(pidfd, sig);
                }
                None => {}
            }
        }
        if exited {
            break;
        }
    }
    pty_proxy::drain(master);
    wait_forwarding(pid, None, signals)
}

/// The forwarded signals, blocked, readable from a descriptor.
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// Blocks the forwarded signals and opens a descriptor to read them.
    pub fn block() -> Result<SignalFd, Error> {
        let err = |source| Error::Signals { source };
        // SAFETY: sigset_t is plain data (a bit array) for which all zeroes
        // is a valid value; sigemptyset sets it properly next.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a live, writable sigset_t.
        unsafe { libc::sigemptyset(&mut set) };
        for s in FORWARDED {
            // SAFETY: `set` is a live, initialised sigset_t; `s` is a valid
            // signal number.
            unsafe { libc::sigaddset(&mut set, s) };
        }
        // SAFETY: `set` is initialised and only read; a null old-set pointer
        // is allowed. Blocking signals changes only this thread's mask (the
        // only thread: create and exec refuse to clone otherwise).
        if unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } != 0 {
            return Err(err(std::io::Error::last_os_error()));
        }
        // SAFETY: `set` is initialised and only read; -1 asks for a new
        // descriptor.
        let raw = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        if raw < 0 {
            return Err(err(std::io::Error::last_os_error()));
        }
        // SAFETY: signalfd returned a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(SignalFd { fd })
    }

    /// The next pending signal, if any (the descriptor never blocks).
    pub fn read(&self) -> Option<Signal> {
        let mut buf = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
        match rustix::io::read(self.fd.as_fd(), &mut buf) {
            Ok(n) if n == buf.len() => {
                // ssi_signo is the first field (u32, native endian).
                let signo = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
                Signal::from_named_raw(signo as i32)
            }
            _ => None,
        }
    }
}

/// The exit code a shell would give: the program's own, or 128 + the
/// signal that killed it.
pub fn exit_code(status: rustix::process::WaitStatus) -> u8 {
    if let Some(code) = status.exit_status() {
        code as u8
    } else if let Some(sig) = status.terminating_signal() {
        (128 + sig) as u8
    } else {
        1
    }
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
