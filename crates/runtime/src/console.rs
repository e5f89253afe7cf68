//! `process.terminal`: the container's pty, and how its master reaches
//! whoever holds the terminal.
//!
//! As runc: init opens a pty from the container's own devpts (after
//! pivot_root, so `/dev/ptmx` is the container's), binds the slave onto
//! `/dev/console`, makes it stdio and controlling terminal, and sends the
//! master over the `--console-socket` (a Unix socket the engine listens on)
//! with `SCM_RIGHTS`. The parent connects to that socket before the clone
//! and hands init the connected descriptor, so init needs no host path.
//! `run` without `-d` is its own engine: a socketpair stands in for the
//! console socket and nsbox copies between its terminal and the master.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use rustix::pty::OpenptFlags;
use rustix::termios::{Termios, Winsize};

use crate::init::{Failure, StepResult};
use crate::protocol::Step;
use crate::Error;

/// Connects to the engine's `--console-socket`.
pub fn connect(path: &Path) -> Result<OwnedFd, Error> {
    std::os::unix::net::UnixStream::connect(path)
        .map(OwnedFd::from)
        .map_err(|source| Error::ConsoleSocket {
            path: path.to_path_buf(),
            source,
        })
}

/// init's side, after pivot_root: the pty, /dev/console (for init, not for
/// an exec'd process), stdio, controlling terminal.
pub fn setup(
    socket: &OwnedFd,
    size: Option<(u16, u16)>,
    bind_dev_console: bool,
) -> Result<(), Failure> {
    let step = |what: &str| {
        let what = what.to_string();
        move || Step::Console { what }
    };
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .step(step("open /dev/ptmx"))?;
    rustix::pty::unlockpt(&master).step(step("unlock pty"))?;
    let slave = rustix::pty::ioctl_tiocgptpeer(&master, OpenptFlags::RDWR | OpenptFlags::NOCTTY)
        .step(step("open pty peer"))?;
    if let Some((height, width)) = size {
        let ws = Winsize {
            ws_row: height,
            ws_col: width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&slave, ws).step(step("set console size"))?;
    }
    if bind_dev_console {
        let name = rustix::pty::ptsname(&master, Vec::new()).step(step("ptsname"))?;
        let name = std::ffi::OsStr::from_bytes(name.to_bytes());
        bind_console(Path::new(name)).step(step("bind /dev/console"))?;
    }
    send_fd(socket.as_fd(), master.as_fd()).step(step("send pty master"))?;
    drop(master);
    rustix::stdio::dup2_stdin(&slave).step(step("stdin"))?;
    rustix::stdio::dup2_stdout(&slave).step(step("stdout"))?;
    rustix::stdio::dup2_stderr(&slave).step(step("stderr"))?;
    rustix::process::ioctl_tiocsctty(&slave).step(step("set controlling terminal"))?;
    Ok(())
}

/// `/dev/console` is the pty's slave, as the kernel's console would be.
fn bind_console(slave: &Path) -> io::Result<()> {
    match rustix::fs::open(
        "/dev/console",
        OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::from_raw_mode(0o600),
    ) {
        Ok(_) => {}
        Err(e) => return Err(e.into()),
    }
    rustix::mount::mount_bind(slave, "/dev/console")?;
    Ok(())
}

/// Sends one descriptor with `SCM_RIGHTS` (and one byte: a stream socket
/// needs data to carry control messages).
pub fn send_fd(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<()> {
    let fds = [fd];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    control.push(SendAncillaryMessage::ScmRights(&fds));
    rustix::net::sendmsg(
        socket,
        &[IoSlice::new(b"t")],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    Ok(())
}

/// Receives one descriptor sent by [`send_fd`].
pub fn recv_fd(socket: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut byte = [0u8; 1];
    rustix::net::recvmsg(
        socket,
        &mut [IoSliceMut::new(&mut byte)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
            if let Some(fd) = fds.next() {
                return Ok(fd);
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "no descriptor in the console message",
    ))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_cross_a_socketpair() {
        let (a, b) = rustix::net::socketpair(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let (r, w) = rustix::pipe::pipe().unwrap();
        send_fd(a.as_fd(), w.as_fd()).unwrap();
        let got = recv_fd(b.as_fd()).unwrap();
        drop(w);
        rustix::io::write(&got, b"hi").unwrap();
        let mut buf = [0u8; 2];
        rustix::io::read(&r, &mut buf).unwrap();
        assert_eq!(&buf, b"hi");
    }
}
