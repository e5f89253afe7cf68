//! `run` and `exec` without `-d` are their own engine: nsbox holds the
//! pty master (received from init, see `console`) and copies between its
//! own terminal, put in raw mode meanwhile, and the container's pty.

use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::termios::Termios;

/// The host terminal in raw mode while `run` proxies; restored on drop.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    /// Raw mode on stdin when it is a terminal; a no-op otherwise.
    pub fn enter() -> RawMode {
        let stdin = rustix::stdio::stdin();
        let Ok(saved) = rustix::termios::tcgetattr(stdin) else {
            return RawMode { saved: None };
        };
        let mut raw = saved.clone();
        raw.make_raw();
        let _ = rustix::termios::tcsetattr(stdin, rustix::termios::OptionalActions::Now, &raw);
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = rustix::termios::tcsetattr(
                rustix::stdio::stdin(),
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
}

/// Gives the pty the size of our terminal (at start and on SIGWINCH).
pub fn copy_size(master: &OwnedFd) {
    if let Ok(ws) = rustix::termios::tcgetwinsize(rustix::stdio::stdin()) {
        let _ = rustix::termios::tcsetwinsize(master, ws);
    }
}

/// Copies what is readable from `from` to `to`; `false` at end of input.
pub fn pump(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 8192];
    match rustix::io::read(from, &mut buf) {
        Ok(0) => false,
        Ok(n) => {
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                match rustix::io::write(to, rest) {
                    Ok(w) => rest = &rest[w..],
                    Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => continue,
                    Err(_) => return false,
                }
            }
            true
        }
        Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => true,
        // EIO: the pty's last slave closed.
        Err(_) => false,
    }
}

/// What the container wrote before exiting, without blocking.
pub fn drain(master: &OwnedFd) {
    let _ = rustix::io::ioctl_fionbio(master, true);
    let mut buf = [0u8; 8192];
    // EAGAIN: nothing left; EIO: the slave side is closed and empty.
    while let Ok(n @ 1..) = rustix::io::read(master, &mut buf) {
        let _ = rustix::io::write(rustix::stdio::stdout(), &buf[..n]);
    }
}
