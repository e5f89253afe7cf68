//! Waiting for a child while passing signals on, and the small init that
//! `unshare --init` runs as PID 1 of a new PID namespace.
//!
//! Both block the forwarded signals and `SIGCHLD` and take them with
//! `sigwaitinfo(2)`: no handlers, no races with `waitpid`. That is also what
//! makes PID 1 see signals at all — the kernel drops a signal sent to a PID
//! namespace's init unless the init handles it, and a blocked signal counts.

use std::io;
use std::mem::MaybeUninit;

use rustix::process::{Pid, Signal, WaitOptions, WaitStatus};

use crate::Error;

/// Signals passed from nsbox to its child and from PID 1 to the command.
pub const FORWARDED: [i32; 7] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildStatus {
    Exited(u8),
    Signaled(i32),
}

impl ChildStatus {
    fn from_wait(status: WaitStatus) -> Option<ChildStatus> {
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

/// The forwarded signals plus `SIGCHLD`, blocked; remembers the mask before.
pub struct BlockedSignals {
    set: libc::sigset_t,
    old: libc::sigset_t,
}

impl BlockedSignals {
    /// Blocks [`FORWARDED`] and `SIGCHLD` in the calling thread. Do it before
    /// forking, so that nothing sent in between is lost.
    pub fn block() -> Result<BlockedSignals, Error> {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        let mut old = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the set it is given; sigaddset only
        // takes valid signal numbers; sigprocmask reads `set` (initialised
        // above) and writes the previous mask into `old`.
        let rc = unsafe {
            libc::sigemptyset(set.as_mut_ptr());
            for sig in FORWARDED.iter().chain(&[libc::SIGCHLD]) {
                libc::sigaddset(set.as_mut_ptr(), *sig);
            }
            libc::sigprocmask(libc::SIG_BLOCK, set.as_ptr(), old.as_mut_ptr())
        };
        if rc != 0 {
            return Err(Error::Sys {
                what: "block signals".into(),
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: both sets were initialised by the successful calls above.
        let (set, old) = unsafe { (set.assume_init(), old.assume_init()) };
        Ok(BlockedSignals { set, old })
    }

    /// Puts back the mask from before [`block`](Self::block) (in a child
    /// about to run the command).
    pub fn restore(&self) {
        // SAFETY: `old` is a mask filled in by sigprocmask; a null old-set
        // pointer is allowed.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut()) };
    }

    /// Waits for one of the blocked signals; returns its number and whether
    /// the tty driver sent it (then the whole foreground group got it and
    /// passing it on would deliver it twice).
    fn wait(&self) -> Result<(i32, bool), Error> {
        loop {
            let mut info = MaybeUninit::<libc::siginfo_t>::uninit();
            // SAFETY: `set` is an initialised sigset; `info` is writable
            // memory of the right type, filled in when the call succeeds.
            let sig = unsafe { libc::sigwaitinfo(&self.set, info.as_mut_ptr()) };
            if sig > 0 {
                // SAFETY: sigwaitinfo succeeded, so it filled in `info`.
                let code = unsafe { info.assume_init() }.si_code;
                return Ok((sig, code == libc::SI_KERNEL));
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                return Err(Error::Sys {
                    what: "wait for signals".into(),
                    source: err,
                });
            }
        }
    }
}

impl Drop for BlockedSignals {
    /// Unblocks on the way out of the parent; a forked child never drops its
    /// copy (it execs or `_exit`s), it calls [`restore`](Self::restore).
    fn drop(&mut self) {
        self.restore();
    }
}

fn forward(to: Pid, sig: i32) {
    if let Some(sig) = Signal::from_named_raw(sig) {
        // ESRCH: the child is exiting; its SIGCHLD is on its way.
        let _ = rustix::process::kill_process(to, sig);
    }
}

/// Waits for `child` to exit, passing it every forwarded signal that some
/// process (not the tty) sent us. `signals` must have been blocked before
/// `child` was forked.
pub fn wait_forwarding(child: Pid, signals: &BlockedSignals) -> Result<ChildStatus, Error> {
    loop {
        // SIGCHLD was blocked before `child` existed: if it has exited
        // already, the signal is pending and this returns at once.
        match signals.wait()? {
            (libc::SIGCHLD, _) => {
                if let Some(status) = try_wait(child)? {
                    return Ok(status);
                }
            }
            (_, true) => {}
            (sig, false) => forward(child, sig),
        }
    }
}

fn try_wait(child: Pid) -> Result<Option<ChildStatus>, Error> {
    match rustix::process::waitpid(Some(child), WaitOptions::NOHANG) {
        Ok(Some((_, status))) => Ok(ChildStatus::from_wait(status)),
        Ok(None) => Ok(None),
        Err(e) => Err(Error::Sys {
            what: "wait for the child".into(),
            source: e.into(),
        }),
    }
}

/// PID 1's loop once it has forked `command`: reaps every child (orphans
/// re-parented to it included), passes forwarded signals to `command`, and
/// returns `command`'s status when it exits. The kernel kills whatever is
/// left in the namespace when PID 1 exits.
pub fn init_loop(command: Pid, signals: &BlockedSignals) -> Result<ChildStatus, Error> {
    loop {
        if let Some(status) = reap_all(command)? {
            return Ok(status);
        }
        let (sig, from_tty) = signals.wait()?;
        if sig != libc::SIGCHLD && !from_tty {
            forward(command, sig);
        }
    }
}

/// Reaps every child that has exited; `Some` once `command` is among them.
fn reap_all(command: Pid) -> Result<Option<ChildStatus>, Error> {
    let mut found = None;
    loop {
        match rustix::process::waitpid(None, WaitOptions::NOHANG) {
            Ok(Some((pid, status))) => {
                if pid == command {
                    found = ChildStatus::from_wait(status);
                }
            }
            Ok(None) | Err(rustix::io::Errno::CHILD) => return Ok(found),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(Error::Sys {
                    what: "reap children".into(),
                    source: e.into(),
                })
            }
        }
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
    // SAFETY: resetting a signal to its default disposition, unblocking it
    // and raising it are process-wide settings with no memory effects; `one`
    // is initialised by sigemptyset before it is read.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let mut one = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(one.as_mut_ptr());
        libc::sigaddset(one.as_mut_ptr(), sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, one.as_ptr(), std::ptr::null_mut());
        libc::raise(sig);
    }
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
}
