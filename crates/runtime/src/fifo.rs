//! The exec fifo: how `start` releases an init that `create` left waiting.
//!
//! `create` makes `ROOT/ID/exec.fifo` and opens it for reading without
//! blocking; init inherits that descriptor (so it needs no path after
//! pivot_root, and no `/proc`) and, when built, polls it. `start` opens the
//! fifo for writing with `O_NONBLOCK`: that fails with `ENXIO` when no
//! reader exists (init died), so `start` never hangs; it writes one byte,
//! and init's poll returns and it execs. `start` then removes the fifo, so a
//! second `start` finds nothing to release.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::event::{PollFd, PollFlags};
use rustix::fs::{Mode, OFlags, CWD};

use crate::Error;

/// Creates the fifo and returns its read end (non-blocking, close-on-exec).
pub fn create(path: &Path) -> Result<OwnedFd, Error> {
    let err = |e: rustix::io::Errno| Error::Fifo {
        path: path.to_path_buf(),
        source: e.into(),
    };
    rustix::fs::mkfifoat(CWD, path, Mode::from_raw_mode(0o600)).map_err(err)?;
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(err)
}

/// `start`'s side: wakes the waiting init. `ENXIO` means nobody waits.
pub fn release(path: &Path) -> Result<(), Error> {
    let err = |source: io::Error| Error::Fifo {
        path: path.to_path_buf(),
        source,
    };
    let fd = rustix::fs::open(
        path,
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err(e.into()))?;
    rustix::io::write(&fd, b"0").map_err(|e| err(e.into()))?;
    Ok(())
}

/// init's side: blocks until `start` writes its byte. A fifo with no writer
/// yet does not report a hangup (Linux remembers the writer count at open),
/// so the poll sleeps until `start` comes.
pub fn wait(fd: &OwnedFd) -> io::Result<()> {
    loop {
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let mut byte = [0u8; 1];
        match rustix::io::read(fd.as_fd(), &mut byte) {
            Ok(1) => return Ok(()),
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "start closed the exec fifo without a word",
                ))
            }
            Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
