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
//! console socket ([`sockets`]) and nsbox copies between its terminal and
//! the master (`pty_proxy`).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;
use rustix::termios::Winsize;

use crate::step::{Failure, Step, StepResult};
use crate::Error;
/// How whoever holds a console socket receives the pty master.
pub use nsbox_ns::fdpass::recv_fd;
use nsbox_ns::fdpass::{send_fd, PairKind};

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

/// The console socket init sends its pty master to (none without
/// `terminal`): the engine's `--console-socket` (`path`), or, when nsbox
/// proxies the terminal itself (`proxy`), one end of a socketpair whose
/// other end is returned for us to receive the master on. Neither:
/// `missing()`.
pub fn sockets(
    terminal: bool,
    path: Option<&Path>,
    proxy: bool,
    missing: impl FnOnce() -> Error,
) -> Result<(Option<OwnedFd>, Option<OwnedFd>), Error> {
    match (terminal, path) {
        (false, _) => Ok((None, None)),
        (true, Some(path)) => Ok((Some(connect(path)?), None)),
        (true, None) if proxy => {
            let (ours, theirs) = nsbox_ns::fdpass::socketpair(PairKind::Stream)
                .map_err(|source| Error::Socketpair { source })?;
            Ok((Some(theirs), Some(ours)))
        }
        (true, None) => Err(missing()),
    }
}
