//! After joining a PID namespace only children land in it, so nsbox forks:
//! the child execs the program, the parent forwards termination signals to
//! it and returns its status. The child reports a failed exec over a
//! close-on-exec pipe, so the parent can name the cause as its own error.

use std::io::Read;
use std::mem::MaybeUninit;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use rustix::event::{PollFd, PollFlags};
use rustix::pipe::PipeFlags;
use rustix::process::{Pid, PidfdFlags, Signal, WaitOptions};

use crate::Error;

/// Signals the parent passes on to the child when someone sends them to the
/// parent. Those a terminal sends (Ctrl-C, hangup) reach the child directly,
/// being in the same foreground process group, and are not sent twice.
const FORWARDED: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT];

/// Forks; the child execs `cmd`. Returns the child's exit code, 128+N when
/// signal N killed it, or [`Error::Exec`] when the exec failed.
pub(super) fn fork_exec_wait(cmd: &mut Command, program: &Path) -> Result<u8, Error> {
    let signals = BlockedSignals::block()?;
    let (report_rd, report_wr) =
        rustix::pipe::pipe_with(PipeFlags::CLOEXEC).map_err(|e| Error::Supervise {
            step: "create exec report pipe".into(),
            source: e.into(),
        })?;
    // SAFETY: the caller is single-threaded (a precondition of
    // `enter::run`, needed for setns too), so the child inherits no lock
    // held by another thread and may allocate before exec.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::Fork {
            source: std::io::Error::last_os_error(),
        });
    }
    if pid == 0 {
        drop(report_rd);
        exec_child(cmd, &signals, report_wr);
    }
    drop(report_wr);
    let child = Pid::from_raw(pid).expect("fork returned a positive pid");
    if let Some(errno) = read_exec_report(report_rd) {
        // The child has exited (or is about to): reap it before reporting.
        let _ = rustix::process::waitpid(Some(child), WaitOptions::empty());
        return Err(Error::Exec {
            program: program.display().to_string(),
            source: std::io::Error::from_raw_os_error(errno),
        });
    }
    wait_forwarding(child, &signals)
}

/// The child: restore the signal mask, exec, and on failure write the errno
/// to the report pipe and exit as a shell would (127 not found, else 126).
fn exec_child(cmd: &mut Command, signals: &BlockedSignals, report: OwnedFd) -> ! {
    signals.restore_mask();
    let err = cmd.exec();
    let errno = err.raw_os_error().unwrap_or(libc::EINVAL);
    let _ = rustix::io::write(&report, &errno.to_ne_bytes());
    let code = if errno == libc::ENOENT { 127 } else { 126 };
    // SAFETY: _exit ends the forked child at once; it must not run the
    // parent's exit handlers or flush the parent's buffered output twice.
    unsafe { libc::_exit(code) }
}

/// EOF: the exec succeeded (the pipe closed on exec). Four bytes: its errno.
fn read_exec_report(report: OwnedFd) -> Option<i32> {
    let mut buf = Vec::with_capacity(4);
    let _ = std::fs::File::from(report).read_to_end(&mut buf);
    let bytes: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    Some(i32::from_ne_bytes(bytes))
}

/// Waits for the child, forwarding [`FORWARDED`] signals sent to us. The
/// child's end is seen on its pidfd, not through SIGCHLD, which another
/// thread of a library caller could swallow.
fn wait_forwarding(child: Pid, signals: &BlockedSignals) -> Result<u8, Error> {
    let wait_err = |source: std::io::Error| Error::Wait {
        pid: child.as_raw_nonzero().get() as u32,
        source,
    };
    let pidfd =
        rustix::process::pidfd_open(child, PidfdFlags::empty()).map_err(|e| wait_err(e.into()))?;
    let sigfd = signals.signalfd()?;
    loop {
        if let Some(code) = reap(child)? {
            return Ok(code);
        }
        let mut fds = [
            PollFd::new(&pidfd, PollFlags::IN),
            PollFd::new(&sigfd, PollFlags::IN),
        ];
        match rustix::event::poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(wait_err(e.into())),
        }
        if fds[1].revents().contains(PollFlags::IN) {
            forward(&sigfd, child);
        }
    }
}

/// Reads one signal from the signalfd and sends it on to the child, unless
/// the kernel sent it (a terminal's Ctrl-C or hangup, which the child, in
/// the same foreground process group, got too).
fn forward(sigfd: &OwnedFd, child: Pid) {
    // struct signalfd_siginfo (signalfd(2)): 128 bytes, starting with
    // u32 ssi_signo, i32 ssi_errno, i32 ssi_code.
    let mut buf = [0u8; 128];
    if !matches!(rustix::io::read(sigfd, &mut buf), Ok(128)) {
        return;
    }
    let signo = u32::from_ne_bytes(buf[0..4].try_into().expect("4 bytes"));
    let code = i32::from_ne_bytes(buf[8..12].try_into().expect("4 bytes"));
    if code == libc::SI_KERNEL {
        return;
    }
    if let Some(sig) = Signal::from_named_raw(signo as i32) {
        // ESRCH: the child is exiting; the next reap sees it.
        let _ = rustix::process::kill_process(child, sig);
    }
}

/// The child's exit code, if it has ended: its own, or 128+N for signal N.
fn reap(child: Pid) -> Result<Option<u8>, Error> {
    loop {
        match rustix::process::waitpid(Some(child), WaitOptions::NOHANG) {
            Ok(None) => return Ok(None),
            Ok(Some((_, status))) => {
                if let Some(code) = status.exit_status() {
                    return Ok(Some(code as u8));
                }
                if let Some(sig) = status.terminating_signal() {
                    return Ok(Some(128u8.wrapping_add(sig as u8)));
                }
                // Stopped or continued: still there.
                return Ok(None);
            }
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                return Err(Error::Wait {
                    pid: child.as_raw_nonzero().get() as u32,
                    source: e.into(),
                })
            }
        }
    }
}

/// [`FORWARDED`] blocked (so that a signalfd collects them) and SIGCHLD at
/// its default action (if it were ignored, the kernel would reap the child
/// and its status would be lost); both restored on drop.
struct BlockedSignals {
    set: libc::sigset_t,
    old_mask: libc::sigset_t,
    old_chld: libc::sighandler_t,
}

impl BlockedSignals {
    fn block() -> Result<BlockedSignals, Error> {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the sigset_t `set` points to.
        unsafe { libc::sigemptyset(set.as_mut_ptr()) };
        // SAFETY: initialised by sigemptyset just above.
        let mut set = unsafe { set.assume_init() };
        for sig in FORWARDED {
            // SAFETY: `set` is an initialised sigset_t and `sig` a valid signal.
            unsafe { libc::sigaddset(&mut set, sig) };
        }
        let mut old_mask = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: `set` is initialised and `old_mask` writable; the kernel
        // fills `old_mask` on success.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, old_mask.as_mut_ptr()) };
        if rc != 0 {
            return Err(Error::Supervise {
                step: "block signals".into(),
                source: std::io::Error::from_raw_os_error(rc),
            });
        }
        // SAFETY: pthread_sigmask succeeded and wrote the old mask.
        let old_mask = unsafe { old_mask.assume_init() };
        // SAFETY: SIG_DFL is a valid disposition for SIGCHLD; no handler
        // function of ours is installed.
        let old_chld = unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
        Ok(BlockedSignals {
            set,
            old_mask,
            old_chld,
        })
    }

    /// A signalfd that reads the blocked signals.
    fn signalfd(&self) -> Result<OwnedFd, Error> {
        // SAFETY: `set` is an initialised sigset_t; -1 asks for a new fd.
        let fd = unsafe { libc::signalfd(-1, &self.set, libc::SFD_CLOEXEC) };
        if fd < 0 {
            return Err(Error::Supervise {
                step: "create signalfd".into(),
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: signalfd returned a new descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Puts back the caller's signal mask (the child does this before exec).
    fn restore_mask(&self) {
        // SAFETY: `old_mask` is the initialised mask saved by `block`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut()) };
    }
}

impl Drop for BlockedSignals {
    fn drop(&mut self) {
        // SAFETY: `old_chld` is the disposition `signal` returned in `block`,
        // so putting it back restores exactly what was there.
        unsafe { libc::signal(libc::SIGCHLD, self.old_chld) };
        self.restore_mask();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // These fork the multi-threaded test process: the child only allocates
    // (glibc's malloc is fork-safe) and execs or _exits.

    #[test]
    fn returns_exit_code_and_signal_status() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exit 7"]);
        assert_eq!(fork_exec_wait(&mut cmd, Path::new("sh")).unwrap(), 7);
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "kill -KILL $$"]);
        assert_eq!(fork_exec_wait(&mut cmd, Path::new("sh")).unwrap(), 128 + 9);
    }

    #[test]
    fn failed_exec_is_reported_with_its_cause() {
        let mut cmd = Command::new("/no/such/program");
        let err = fork_exec_wait(&mut cmd, Path::new("/no/such/program")).unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENOENT));
        assert_eq!(err.to_string(), "exec /no/such/program");
    }
}
