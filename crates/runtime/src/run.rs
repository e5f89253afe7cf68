//! `run`: create, start and, unless detached, wait for the container's
//! init and exit with its status; the container is then deleted.
//!
//! While waiting, signals sent to nsbox (Ctrl-C, `kill`) are forwarded to
//! the container's init, as runc does: init runs in its own session, so the
//! terminal's SIGINT reaches only nsbox, and without forwarding nsbox would
//! die and leave the container behind. Signals are taken from a signalfd
//! (blocked before the clone, so none is lost; init clears the mask before
//! exec), on the same single thread.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, Signal, WaitOptions};

use crate::console;
use crate::create::{self, CreateOptions};
use crate::Error;

/// What `run` forwards (runc forwards everything but SIGCHLD and SIGURG;
/// these are the ones a user or a supervisor sends).
const FORWARDED: [i32; 11] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGTERM,
    libc::SIGALRM,
    libc::SIGCONT,
    libc::SIGTSTP,
    libc::SIGWINCH,
    libc::SIGPWR,
];

/// How a `run` ended.
#[derive(Debug)]
pub struct Outcome {
    /// The program's exit code, or 128 + the signal that killed it; 0
    /// when detached.
    pub code: u8,
    /// poststart/poststop hook failures (the lifecycle went on).
    pub warnings: Vec<Error>,
}

/// Runs the container.
pub fn run(opts: &CreateOptions, detach: bool) -> Result<Outcome, Error> {
    let signals = if detach {
        None
    } else {
        Some(SignalFd::block()?)
    };
    let mut created = create::create_with_console(opts, !detach)?;
    let mut warnings = std::mem::take(&mut created.warnings);
    match crate::start::start(&opts.root, &opts.id) {
        Ok(w) => warnings.extend(w),
        Err(e) => {
            let _ = crate::delete::delete(&opts.root, &opts.id, true);
            return Err(e);
        }
    }
    let Some(signals) = signals else {
        return Ok(Outcome { code: 0, warnings });
    };
    let status = match &created.console {
        Some(master) => {
            let _raw = console::RawMode::enter();
            console::copy_size(master);
            wait_proxying(created.pid, created.pidfd.as_ref(), &signals, master)?
        }
        None => wait_forwarding(created.pid, created.pidfd.as_ref(), &signals)?,
    };
    warnings.extend(crate::delete::delete(&opts.root, &opts.id, true)?);
    Ok(Outcome {
        code: exit_code(status),
        warnings,
    })
}

/// Waits for init (our child), forwarding signals until it exits.
pub(crate) fn wait_forwarding(
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
pub(crate) fn wait_proxying(
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
            console::pump(master.as_fd(), stdout);
        }
        if input && !console::pump(stdin, master.as_fd()) {
            stdin_open = false;
        }
        if signalled {
            match signals.read() {
                Some(Signal::WINCH) => console::copy_size(master),
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
    drain(master);
    wait_forwarding(pid, None, signals)
}

/// What the container wrote before exiting, without blocking.
fn drain(master: &OwnedFd) {
    let _ = rustix::io::ioctl_fionbio(master, true);
    let mut buf = [0u8; 8192];
    // EAGAIN: nothing left; EIO: the slave side is closed and empty.
    while let Ok(n @ 1..) = rustix::io::read(master, &mut buf) {
        let _ = rustix::io::write(rustix::stdio::stdout(), &buf[..n]);
    }
}

/// The forwarded signals, blocked, readable from a descriptor.
pub(crate) struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    pub(crate) fn block() -> Result<SignalFd, Error> {
        let err = |source| Error::Signals { source };
        // SAFETY: `set` is initialised by sigemptyset before use and only
        // read by sigprocmask and signalfd; blocking signals in a
        // single-threaded process changes nothing but this thread's mask.
        // signalfd returns a new descriptor that we alone own.
        let fd = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in FORWARDED {
                libc::sigaddset(&mut set, s);
            }
            if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return Err(err(std::io::Error::last_os_error()));
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
            if fd < 0 {
                return Err(err(std::io::Error::last_os_error()));
            }
            OwnedFd::from_raw_fd(fd)
        };
        Ok(SignalFd { fd })
    }

    fn read(&self) -> Option<Signal> {
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

pub(crate) fn exit_code(status: rustix::process::WaitStatus) -> u8 {
    if let Some(code) = status.exit_status() {
        code as u8
    } else if let Some(sig) = status.terminating_signal() {
        (128 + sig) as u8
    } else {
        1
    }
}
