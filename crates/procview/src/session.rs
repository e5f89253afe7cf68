//! The request loops: each reads requests from a clone of the connection of
//! its own and writes the answers back, until the connection ends (the
//! mount is gone: `ENODEV`). Several loops, so one slow reader (a v1
//! memory.stat in a deep tree) holds up no other.

use std::os::fd::OwnedFd;

use rustix::io::Errno;

use crate::abi::Request;
use crate::filesystem::ProcView;

/// Bytes read at once: the kernel refuses a read buffer that could not take
/// its largest request (8 KiB at least; a write of `MAX_WRITE`).
const BUFFER: usize = 64 << 10;

/// Serves `fd` until the connection ends; an error other than the end of
/// the connection is returned.
pub fn run(fd: &OwnedFd, fs: &ProcView) -> Result<(), Errno> {
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = match rustix::io::read(fd, &mut buf) {
            Ok(n) => n,
            // interrupted, or a request the caller gave up on meanwhile
            Err(Errno::INTR | Errno::NOENT | Errno::AGAIN) => continue,
            Err(Errno::NODEV) => return Ok(()),
            Err(e) => return Err(e),
        };
        let Some(req) = Request::parse(&buf[..n]) else {
            continue;
        };
        let written = fs.answer(&req);
        if let Some(notify) = written.notify {
            let _ = rustix::io::write(fd, &notify);
        }
        if let Some(reply) = written.reply {
            // ENOENT: the reader was interrupted and is gone; nothing to do.
            match rustix::io::write(fd, &reply) {
                Ok(_) | Err(Errno::NOENT | Errno::INTR) => {}
                Err(Errno::NODEV) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
}
