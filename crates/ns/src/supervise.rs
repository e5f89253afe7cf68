//! Supervising a child: passing signals on to it and waiting for it, written
//! once for every process of nsbox that waits for another: `unshare` (the
//! parent of a forked command), `enter` (after joining a PID namespace), the
//! `--init` PID 1 (which also reaps orphans); its API also fits the
//! runtime's `run`/`exec` (a container's init in a session of its own, a pty
//! proxy with a poll loop of its own: [`Signals::fd`], [`Signals::read`]).
//!
//! The forwarded signals are blocked before the child exists (so none sent
//! in between is lost) and read from a signalfd: no handlers, no races with
//! `waitpid`. A blocked signal also counts as handled for a PID namespace's
//! init, which the kernel would otherwise not deliver it to. The child's end
//! is seen on its pidfd, and on `SIGCHLD` (also read from the signalfd):
//! the pidfd still works if another thread of a library caller takes the
//! `SIGCHLD`, the signal still works where `pidfd_open` does not.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, PidfdFlags, Signal, WaitOptions, WaitStatus};

use crate::Error;

/// A signal nsbox passes on to the child it waits for.
#[derive(Clone, Copy, Debug)]
pub struct Forwarded {
    pub signal: i32,
    /// Job control: in a child that shares our process group, the terminal
    /// and the shell's `fg`/`bg` already act on the whole group, so these
    /// are left to the kernel there (blocking `SIGTSTP` would leave nsbox
    /// running while its child stops, and the shell, which waits for nsbox,
    /// would hang). A child in a session of its own gets them passed on.
    pub job_control: bool,
    /// Why it is passed on.
    pub why: &'static str,
}

/// The one list of forwarded signals (runc's choice minus the noise: it
/// forwards all but `SIGCHLD` and `SIGURG`). Left out, and why:
/// - `SIGCHLD`: ours, about our children (supervision reads it itself);
/// - `SIGKILL`, `SIGSTOP`: cannot be caught or blocked;
/// - `SIGTTIN`, `SIGTTOU`: the terminal stopping *us* for touching it from
///   the background; the child gets its own when it does;
/// - `SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`, `SIGTRAP`, `SIGSYS`, `SIGABRT`:
///   faults of our own code, meaningless to the child;
/// - `SIGPIPE`, `SIGURG`, `SIGIO`: about our own descriptors and sockets;
/// - `SIGXCPU`, `SIGXFSZ`, `SIGPROF`, `SIGVTALRM`: our own limits and
///   timers;
/// - `SIGSTKFLT` and real-time signals: no meaning a supervisor could know.
pub const FORWARDED: [Forwarded; 11] = [
    fwd(
        libc::SIGHUP,
        "the controlling terminal or a supervisor hung up",
    ),
    fwd(libc::SIGINT, "Ctrl-C, or a supervisor's interrupt"),
    fwd(
        libc::SIGQUIT,
        "Ctrl-\\, or a supervisor asking for a core dump",
    ),
    fwd(
        libc::SIGTERM,
        "the polite stop every supervisor sends first",
    ),
    fwd(
        libc::SIGUSR1,
        "user-defined: reload, reopen logs, dump state",
    ),
    fwd(libc::SIGUSR2, "user-defined, as SIGUSR1"),
    fwd(
        libc::SIGALRM,
        "timeout(1 -s ALRM) and alarm-based supervisors",
    ),
    fwd(libc::SIGPWR, "power failure notices from init systems"),
    fwd(
        libc::SIGWINCH,
        "terminal resize (a pty proxy resizes instead)",
    ),
    Forwarded {
        signal: libc::SIGTSTP,
        job_control: true,
        why: "Ctrl-Z: stop the child along with us",
    },
    Forwarded {
        signal: libc::SIGCONT,
        job_control: true,
        why: "resume a child stopped along with us",
    },
];

const fn fwd(signal: i32, why: &'static str) -> Forwarded {
    Forwarded {
        signal,
        job_control: false,
        why,
    }
}

/// Where the supervised child stands relative to our terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminal {
    /// In our process group (unshare, enter, PID 1's command): what the
    /// terminal sends (Ctrl-C, hangup, resize) reaches it directly and is
    /// not passed on a second time; job control is left to the kernel.
    Shared,
    /// In a session of its own (a container's init): every forwarded signal
    /// is passed on, whoever sent it.
    Own,
}

/// One signal taken from the signalfd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    pub signal: i32,
    /// Sent by the kernel (the tty driver: Ctrl-C, hangup, resize), not by
    /// a process.
    pub from_kernel: bool,
}

/// The forwarded signals and `SIGCHLD`, blocked in the calling thread and
/// readable from a signalfd; `SIGCHLD` at its default action (ignored, the
/// kernel would reap children itself and their status would be lost). The
/// mask and `SIGCHLD`'s action from before are put back on drop.
pub struct Signals {
    fd: OwnedFd,
    terminal: Terminal,
    old_mask: libc::sigset_t,
    old_chld: libc::sighandler_t,
}

impl Signals {
    /// [`Signals::block_for`] a child that shares our terminal.
    pub fn block() -> Result<Signals, Error> {
        Signals::block_for(Terminal::Shared)
    }

    /// Blocks what a supervisor of a child in `terminal` position forwards,
    /// plus `SIGCHLD`. Call it before the child is forked or cloned.
    pub fn block_for(terminal: Terminal) -> Result<Signals, Error> {
        let err = |step: &'static str, source| Error::Supervise {
            step: step.into(),
            source,
        };
        let mut set = empty_set();
        for f in FORWARDED {
            if terminal == Terminal::Own || !f.job_control {
                add(&mut set, f.signal);
            }
        }
        add(&mut set, libc::SIGCHLD);
        let mut old_mask = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: `set` is an initialised sigset_t; `old_mask` is writable
        // memory of that type, which the call fills in when it succeeds.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, old_mask.as_mut_ptr()) };
        if rc != 0 {
            return Err(err("block signals", io::Error::from_raw_os_error(rc)));
        }
        // SAFETY: pthread_sigmask succeeded, so it wrote the old mask.
        let old_mask = unsafe { old_mask.assume_init() };
        // SAFETY: `set` is initialised; -1 asks for a new descriptor.
        let raw = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        if raw < 0 {
            let source = io::Error::last_os_error();
            // SAFETY: `old_mask` is the mask saved just above.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut()) };
            return Err(err("create signalfd", source));
        }
        // SAFETY: signalfd returned a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: SIG_DFL is a valid action for SIGCHLD; no handler of ours
        // is installed, so no Rust code can run from it.
        let old_chld = unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
        Ok(Signals {
            fd,
            terminal,
            old_mask,
            old_chld,
        })
    }

    /// The descriptor that becomes readable when a signal is pending, for
    /// a caller's own poll loop (a pty proxy).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The next pending signal, if any (never blocks).
    pub fn read(&self) -> Option<Received> {
        let mut info = MaybeUninit::<libc::signalfd_siginfo>::zeroed();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: signalfd_siginfo is plain integers: any bytes, zeroed
        // here, are a valid value, and `info` lives for this whole call.
        let buf = unsafe { std::slice::from_raw_parts_mut(info.as_mut_ptr().cast::<u8>(), size) };
        match rustix::io::read(&self.fd, buf) {
            Ok(n) if n == size => {}
            _ => return None,
        }
        // SAFETY: zero-initialised above and filled in by the read.
        let info = unsafe { info.assume_init() };
        Some(Received {
            signal: info.ssi_signo as i32,
            from_kernel: info.ssi_code == libc::SI_KERNEL,
        })
    }

    /// Whether `r` is to be passed on to the child: not `SIGCHLD`, and not
    /// what the terminal sent a child that got it too.
    pub fn should_forward(&self, r: Received) -> bool {
        r.signal != libc::SIGCHLD && !(self.terminal == Terminal::Shared && r.from_kernel)
    }

    /// Puts back the mask from before [`block_for`](Self::block_for): in a
    /// forked child about to exec (async-signal-safe: one syscall).
    pub fn restore(&self) {
        // SAFETY: `old_mask` is the initialised mask saved by `block_for`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut()) };
    }
}

impl Drop for Signals {
    /// Unblocks on the way out of the supervisor; a forked child never drops
    /// its copy (it execs or `_exit`s), it calls [`restore`](Signals::restore).
    fn drop(&mut self) {
        // SAFETY: `old_chld` is the action `signal` returned in `block_for`,
        // so this puts back exactly what was there.
        unsafe { libc::signal(libc::SIGCHLD, self.old_chld) };
        self.restore();
    }
}

fn empty_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the sigset_t it is given.
    unsafe { libc::sigemptyset(set.as_mut_ptr()) };
    // SAFETY: initialised by sigemptyset just above.
    unsafe { set.assume_init() }
}

fn add(set: &mut libc::sigset_t, signal: i32) {
    // SAFETY: `set` is an initialised sigset_t and `signal` a valid number.
    unsafe { libc::sigaddset(set, signal) };
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildStatus {
    Exited(u8),
    Signaled(i32),
}

impl ChildStatus {
    /// `None` for a stop or a continue: the child is still there.
    pub fn from_wait(status: WaitStatus) -> Option<ChildStatus> {
        if let Some(code) = status.exit_status() {
            return Some(ChildStatus::Exited(code as u8));
        }
        status.terminating_signal().map(ChildStatus::Signaled)
    }

    /// The shell's convention: the exit code, or 128+N for death by signal N.
    pub fn code(self) -> u8 {
        match self {
            ChildStatus::Exited(c) => c,
            ChildStatus::Signaled(n) => 128u8.wrapping_add(n as u8),
        }
    }
}

/// Which children the wait reaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reap {
    /// Only the supervised child.
    Child,
    /// Every child that exits (orphans re-parented to a PID 1 or a child
    /// subreaper included); the wait ends when the supervised one does.
    All,
}

/// The child being supervised: its pid and, if the caller has one, a
/// pidfd (signals then reach the child even if its pid were reused).
#[derive(Clone, Copy, Debug)]
pub struct Child<'a> {
    pub pid: Pid,
    pub pidfd: Option<BorrowedFd<'a>>,
}

impl Child<'_> {
    /// Sends `signal` (ESRCH is ignored: the child is exiting, its end is
    /// on its way to the wait).
    pub fn signal(&self, signal: i32) {
        let Some(sig) = Signal::from_named_raw(signal) else {
            return;
        };
        let _ = match self.pidfd {
            Some(fd) => rustix::process::pidfd_send_signal(fd, sig),
            None => rustix::process::kill_process(self.pid, sig),
        };
    }
}

/// Waits for `child` to end, passing on the signals `signals` says to
/// forward; with [`Reap::All`], reaps every other child meanwhile. Returns
/// how the child ended. `signals` must have been blocked before the child
/// was forked. Opens a pidfd for the child if `child` has none.
pub fn wait(child: Child<'_>, signals: &Signals, reap: Reap) -> Result<ChildStatus, Error> {
    let own_pidfd = match child.pidfd {
        Some(_) => None,
        // Without one (an old kernel), SIGCHLD on the signalfd wakes us.
        None => rustix::process::pidfd_open(child.pid, PidfdFlags::empty()).ok(),
    };
    let child = Child {
        pid: child.pid,
        pidfd: child.pidfd.or(own_pidfd.as_ref().map(|f| f.as_fd())),
    };
    let mut hung_up = false;
    loop {
        if let Some(status) = reaped(child.pid, reap)? {
            // Ended for the hang-up: say so, not the SIGKILL that did it.
            return Ok(match status {
                ChildStatus::Signaled(libc::SIGKILL) if hung_up => {
                    ChildStatus::Signaled(libc::SIGHUP)
                }
                other => other,
            });
        }
        let mut fds = [
            PollFd::new(&signals.fd, PollFlags::IN),
            // Without a pidfd, the signalfd twice: SIGCHLD wakes us.
            PollFd::from_borrowed_fd(child.pidfd.unwrap_or(signals.fd()), PollFlags::IN),
        ];
        match rustix::event::poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(wait_error(child.pid, e)),
        }
        while let Some(r) = signals.read() {
            if signals.should_forward(r) {
                child.signal(r.signal);
            }
            if r.signal == libc::SIGHUP && !hung_up && crate::hangup::ends_child(child.pid) {
                hung_up = true;
                child.signal(libc::SIGKILL);
            }
        }
    }
}

/// The supervised child's status if it has ended (reaping the others too
/// with [`Reap::All`]).
fn reaped(child: Pid, reap: Reap) -> Result<Option<ChildStatus>, Error> {
    let which = match reap {
        Reap::Child => Some(child),
        Reap::All => None,
    };
    let mut found = None;
    loop {
        match rustix::process::waitpid(which, WaitOptions::NOHANG) {
            Ok(Some((pid, status))) => {
                if pid == child {
                    found = ChildStatus::from_wait(status).or(found);
                }
                if reap == Reap::Child {
                    return Ok(found);
                }
            }
            Ok(None) => return Ok(found),
            Err(rustix::io::Errno::CHILD) if reap == Reap::All => return Ok(found),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(wait_error(child, e)),
        }
    }
}

fn wait_error(child: Pid, e: rustix::io::Errno) -> Error {
    Error::Wait {
        pid: child.as_raw_nonzero().get() as u32,
        source: e.into(),
    }
}

/// Ends the calling process the way the child ended, as util-linux does: the
/// same exit code, or the same signal re-raised (without a core dump) so our
/// own parent sees it. Returns 128+N if the signal does not kill us.
pub fn exit_code_like(status: ChildStatus) -> u8 {
    let ChildStatus::Signaled(sig) = status else {
        return status.code();
    };
    let mut core = rustix::process::getrlimit(rustix::process::Resource::Core);
    core.current = Some(0);
    let _ = rustix::process::setrlimit(rustix::process::Resource::Core, core);
    let mut one = empty_set();
    add(&mut one, sig);
    // SAFETY: resetting a signal to its default action installs no handler
    // of ours; nothing else is touched.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
    // SAFETY: `one` is an initialised set; unblocking changes only the mask.
    unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut()) };
    // SAFETY: raise has no memory effects; the default action runs.
    unsafe { libc::raise(sig) };
    status.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_shell() {
        assert_eq!(ChildStatus::Exited(7).code(), 7);
        assert_eq!(ChildStatus::Signaled(libc::SIGTERM).code(), 143);
        assert_eq!(ChildStatus::Signaled(libc::SIGKILL).code(), 137);
    }

    #[test]
    fn one_list_without_what_cannot_or_must_not_be_forwarded() {
        let never = [
            libc::SIGCHLD,
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGTTIN,
            libc::SIGTTOU,
            libc::SIGPIPE,
            libc::SIGSEGV,
        ];
        for f in FORWARDED {
            assert!(!never.contains(&f.signal), "{}", f.signal);
            assert!(!f.why.is_empty());
        }
        let mut seen: Vec<i32> = FORWARDED.iter().map(|f| f.signal).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), FORWARDED.len());
    }

    #[test]
    fn terminal_signals_are_not_sent_twice_to_a_shared_group() {
        let tty_int = Received {
            signal: libc::SIGINT,
            from_kernel: true,
        };
        let kill_int = Received {
            from_kernel: false,
            ..tty_int
        };
        let chld = Received {
            signal: libc::SIGCHLD,
            from_kernel: false,
        };
        // Built by hand: blocking would change this test thread's mask.
        let shared = |terminal| Signals {
            fd: rustix::pipe::pipe().unwrap().0,
            terminal,
            old_mask: empty_set(),
            old_chld: libc::SIG_DFL,
        };
        let (s, o) = (shared(Terminal::Shared), shared(Terminal::Own));
        assert!(!s.should_forward(tty_int));
        assert!(s.should_forward(kill_int));
        assert!(o.should_forward(tty_int));
        assert!(!s.should_forward(chld) && !o.should_forward(chld));
        // Dropping would set this thread's mask and SIGCHLD action.
        std::mem::forget(s);
        std::mem::forget(o);
    }
}
