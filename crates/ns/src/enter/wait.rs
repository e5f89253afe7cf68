//! After joining a PID namespace only children land in it, so nsbox forks:
//! the child execs the program, the parent supervises it
//! ([`crate::supervise`]) and returns its status. The child reports a failed
//! exec as the [`Error`] itself over a close-on-exec [`crate::channel`]
//! (as `unshare`'s child reports its steps), so the parent returns it as
//! its own; end of file there means the exec succeeded.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use rustix::process::{Pid, WaitOptions};

use crate::channel::{self, Channel};
use crate::supervise::{self, Child, Reap, Signals};
use crate::Error;

/// Forks; the child execs `cmd`. Returns the child's exit code, 128+N when
/// signal N killed it, or [`Error::Exec`] when the exec failed.
///
/// # Safety
///
/// The process must be single-threaded (a precondition of `enter::run`,
/// needed for setns too): the child runs Rust code (it allocates) before
/// exec, which a lock held by another thread at the fork would deadlock.
pub(super) unsafe fn fork_exec_wait(cmd: &mut Command, program: &Path) -> Result<u8, Error> {
    let signals = Signals::block()?;
    let (report_rd, report_wr) = channel::pair::<Error>().map_err(|source| Error::Channel {
        step: "create the exec report channel".into(),
        source,
    })?;
    // SAFETY: the caller is single-threaded (this function's contract), so
    // the child inherits no lock held by another thread and may allocate.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::Fork {
            source: std::io::Error::last_os_error(),
        });
    }
    if pid == 0 {
        drop(report_rd);
        exec_child(cmd, program, &signals, report_wr);
    }
    drop(report_wr);
    let child = Pid::from_raw(pid).expect("fork returned a positive pid");
    if let Ok(Some(failed)) = report_rd.recv() {
        // The child has exited (or is about to): reap it before reporting.
        let _ = rustix::process::waitpid(Some(child), WaitOptions::empty());
        return Err(failed);
    }
    let child = Child {
        pid: child,
        pidfd: None,
    };
    Ok(supervise::wait(child, &signals, Reap::Child)?.code())
}

/// The child: restore the signal mask, exec, and on failure send the error
/// to the parent and exit as a shell would (127 not found, else 126).
fn exec_child(cmd: &mut Command, program: &Path, signals: &Signals, report: Channel<Error>) -> ! {
    signals.restore();
    let source = cmd.exec();
    let code = if source.raw_os_error() == Some(libc::ENOENT) {
        127
    } else {
        126
    };
    let _ = report.send(&Error::Exec {
        program: program.display().to_string(),
        source,
    });
    // SAFETY: _exit ends the forked child at once; it must not run the
    // parent's exit handlers or flush the parent's buffered output twice.
    unsafe { libc::_exit(code) }
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
        // SAFETY: see the comment above the tests.
        let code = unsafe { fork_exec_wait(&mut cmd, Path::new("sh")) }.unwrap();
        assert_eq!(code, 7);
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "kill -KILL $$"]);
        // SAFETY: as above.
        let code = unsafe { fork_exec_wait(&mut cmd, Path::new("sh")) }.unwrap();
        assert_eq!(code, 128 + 9);
    }

    #[test]
    fn failed_exec_is_reported_with_its_cause() {
        let mut cmd = Command::new("/no/such/program");
        // SAFETY: see the comment above the tests.
        let err = unsafe { fork_exec_wait(&mut cmd, Path::new("/no/such/program")) }.unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENOENT));
        assert_eq!(err.to_string(), "exec /no/such/program");
    }
}
