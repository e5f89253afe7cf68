//! Descriptors between processes: the runtime's one socketpair and its one
//! pair of `SCM_RIGHTS` helpers. Init sends the pty master (console) and
//! the seccomp listener back to nsbox this way, and nsbox hands the
//! listener on to `linux.seccomp.listenerPath`.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};

use crate::Error;

/// A connected pair of Unix sockets of type `typ`, both close-on-exec, so
/// the container's program never inherits them.
pub fn pair(typ: SocketType) -> Result<(OwnedFd, OwnedFd), Error> {
    rustix::net::socketpair(AddressFamily::UNIX, typ, SocketFlags::CLOEXEC, None)
        .map_err(|e| Error::Socketpair { source: e.into() })
}

/// A stream [`pair`]: what a descriptor travels on.
pub fn stream_pair() -> Result<(OwnedFd, OwnedFd), Error> {
    pair(SocketType::STREAM)
}

/// Sends one descriptor with `SCM_RIGHTS` (and one byte: a stream socket
/// needs data to carry control messages).
pub fn send_fd(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<()> {
    send_fd_with(socket, b"t", fd)
}

/// Sends `data` as one message with `fd` attached (`SCM_RIGHTS`).
pub fn send_fd_with(socket: BorrowedFd<'_>, data: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
    let fds = [fd];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    control.push(SendAncillaryMessage::ScmRights(&fds));
    rustix::net::sendmsg(
        socket,
        &[IoSlice::new(data)],
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
        "no descriptor in the message",
    ))
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn descriptors_cross_a_socketpair() {
        let (a, b) = stream_pair().unwrap();
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
