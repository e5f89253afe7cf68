//! A terminal's hang-up, acted on as it would be without a PID namespace.
//!
//! When the terminal a command runs from goes away (an ssh session drops,
//! a terminal window closes), the kernel sends `SIGHUP`, whose default
//! action ends a process. A container's init is PID 1 of its namespace, and
//! the kernel drops a signal that a PID 1 neither catches nor blocks:
//! without help the container would outlive the session that started it,
//! with nobody left to stop it. So once the hang-up is passed on, a
//! supervisor ends a child that neither catches, ignores nor blocks
//! `SIGHUP`, as the default action would have; one that does (`nohup`, a
//! daemon that reloads on `SIGHUP`, nsbox's own `--init`, which passes it
//! on) lives on, as it asked.

use rustix::process::Pid;

/// Whether a terminal on our stdio has hung up. A hung-up tty answers its
/// ioctls with EIO (a pipe or file answers ENOTTY; a live tty succeeds),
/// so a `SIGHUP` that someone merely sent is not taken for one.
pub fn terminal_hung_up() -> bool {
    [
        rustix::stdio::stdin(),
        rustix::stdio::stdout(),
        rustix::stdio::stderr(),
    ]
    .into_iter()
    .any(|fd| matches!(rustix::termios::tcgetattr(fd), Err(rustix::io::Errno::IO)))
}

/// Whether `pid` catches, ignores or blocks `signal`, from the masks in
/// `/proc/PID/status` (`None` when they cannot be read: the process is
/// gone).
pub fn takes(pid: Pid, signal: i32) -> Option<bool> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.as_raw_nonzero())).ok()?;
    let bit = 1u64 << (signal - 1);
    let mut seen = false;
    for line in status.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if matches!(key, "SigCgt" | "SigIgn" | "SigBlk") {
            seen = true;
            if u64::from_str_radix(value.trim(), 16).ok()? & bit != 0 {
                return Some(true);
            }
        }
    }
    seen.then_some(false)
}

/// After a `SIGHUP` reached (or was passed on to) `pid`: whether it is to
/// be ended for the hang-up, which is when our terminal is gone and the
/// child does not take the signal.
pub fn ends_child(pid: Pid) -> bool {
    terminal_hung_up() && takes(pid, libc::SIGHUP) == Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_masks_of_this_process_are_read() {
        let me = Pid::from_raw(std::process::id() as i32).unwrap();
        // SAFETY: SIG_DFL and SIG_IGN install no handler; SIGUSR2 is back
        // at its default when the test ends.
        unsafe { libc::signal(libc::SIGUSR2, libc::SIG_DFL) };
        let default = takes(me, libc::SIGUSR2);
        // SAFETY: as above.
        unsafe { libc::signal(libc::SIGUSR2, libc::SIG_IGN) };
        let ignored = takes(me, libc::SIGUSR2);
        // SAFETY: as above.
        unsafe { libc::signal(libc::SIGUSR2, libc::SIG_DFL) };
        assert_eq!((default, ignored), (Some(false), Some(true)));
        assert_eq!(takes(Pid::from_raw(i32::MAX).unwrap(), libc::SIGHUP), None);
    }

    #[test]
    fn a_pipe_is_no_hung_up_terminal() {
        let (r, _w) = rustix::pipe::pipe().unwrap();
        assert!(!matches!(
            rustix::termios::tcgetattr(&r),
            Err(rustix::io::Errno::IO)
        ));
    }
}
