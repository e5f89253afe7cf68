//! Unix socketpairs and passing descriptors across them (`SCM_RIGHTS`,
//! unix(7)): a parent hands a child an open file, a child hands back a pty
//! master or a seccomp notify fd. A leaf module: it knows no message types.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};

/// Which kind of socketpair: a byte stream, or datagrams kept apart with
/// their boundaries (one message per `send`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairKind {
    Stream,
    SeqPacket,
}

/// A connected pair of `AF_UNIX` sockets, both close-on-exec so that no
/// program exec'd on either side inherits them.
pub fn socketpair(kind: PairKind) -> io::Result<(OwnedFd, OwnedFd)> {
    let typ = match kind {
        PairKind::Stream => SocketType::STREAM,
        PairKind::SeqPacket => SocketType::SEQPACKET,
    };
    Ok(rustix::net::socketpair(
        AddressFamily::UNIX,
        typ,
        SocketFlags::CLOEXEC,
        None,
    )?)
}

/// Sends `fd` over `socket` with one data byte (a stream socket carries no
/// ancillary data without one). `EPIPE` rather than `SIGPIPE` if the peer
/// has gone.
pub fn send_fd(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<()> {
    send_fd_with(socket, b"t", fd)
}

/// Sends `data` as one message with `fd` attached: what a reader that wants
/// words beside the descriptor gets (a seccomp agent: the container's
/// state, then the listener).
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

/// Receives one descriptor sent by [`send_fd`], close-on-exec in this
/// process. `UnexpectedEof` when the peer closed without sending one,
/// `InvalidData` when a message came without a descriptor.
pub fn recv_fd(socket: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut byte = [0u8; 1];
    let received = loop {
        match rustix::net::recvmsg(
            socket,
            &mut [IoSliceMut::new(&mut byte)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        ) {
            Ok(r) => break r,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    // Take every descriptor out (so that extra ones are closed by drop),
    // keep the first.
    let mut first = None;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = msg {
            for fd in fds {
                first.get_or_insert(fd);
            }
        }
    }
    match first {
        Some(fd) => Ok(fd),
        None if received.bytes == 0 => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the peer closed the socket without sending a descriptor",
        )),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a message without a descriptor",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_descriptor_crosses_a_stream_pair() {
        let (a, b) = socketpair(PairKind::Stream).unwrap();
        let (r, w) = rustix::pipe::pipe().unwrap();
        send_fd(a.as_fd(), w.as_fd()).unwrap();
        drop(w);
        let got = recv_fd(b.as_fd()).unwrap();
        rustix::io::write(&got, b"hi").unwrap();
        drop(got);
        let mut buf = [0u8; 4];
        assert_eq!(rustix::io::read(&r, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"hi");
    }

    #[test]
    fn received_descriptors_are_close_on_exec() {
        let (a, b) = socketpair(PairKind::SeqPacket).unwrap();
        let (_r, w) = rustix::pipe::pipe().unwrap();
        send_fd(a.as_fd(), w.as_fd()).unwrap();
        let got = recv_fd(b.as_fd()).unwrap();
        let flags = rustix::io::fcntl_getfd(&got).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
        let flags = rustix::io::fcntl_getfd(&a).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
    }

    #[test]
    fn closed_peer_and_plain_bytes_are_errors() {
        let (a, b) = socketpair(PairKind::Stream).unwrap();
        rustix::io::write(&a, b"x").unwrap();
        let err = recv_fd(b.as_fd()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        drop(a);
        let err = recv_fd(b.as_fd()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
