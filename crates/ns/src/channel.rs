//! A typed parent/child channel: one message per `SOCK_SEQPACKET` datagram
//! over a close-on-exec socketpair, each message a serde value (JSON).
//!
//! Datagrams keep their boundaries, so there is no framing to get wrong; the
//! message type is the protocol, so a new variant (of the message or of an
//! error it carries) crosses as itself or fails to compile, never as another.
//! End of file (`recv` → `None`) means every copy of the other end is
//! closed: the peer exited, or exec'd (the ends are close-on-exec).
//!
//! Sending and receiving allocate: after a fork, use it only in a process
//! that was single-threaded when it forked.

use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{RecvFlags, SendFlags};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::fdpass::{self, PairKind};

/// The largest message: well below the socket's send buffer, so one
/// datagram always fits.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// What went wrong on a channel.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("create a socketpair")]
    Socketpair {
        #[source]
        source: io::Error,
    },
    #[error("encode a message")]
    Encode {
        #[source]
        source: serde_json::Error,
    },
    #[error("message of {len} bytes exceeds the channel's {max}")]
    TooLarge { len: usize, max: usize },
    #[error("send a message")]
    Send {
        #[source]
        source: io::Error,
    },
    #[error("receive a message")]
    Recv {
        #[source]
        source: io::Error,
    },
    #[error("decode a message of {len} bytes")]
    Decode {
        len: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// One end of a channel carrying messages of type `M` both ways.
pub struct Channel<M> {
    fd: OwnedFd,
    _msg: PhantomData<fn(M) -> M>,
}

impl<M> std::fmt::Debug for Channel<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel").field("fd", &self.fd).finish()
    }
}

/// A connected pair of ends: one for each side of a fork.
pub fn pair<M>() -> Result<(Channel<M>, Channel<M>), ChannelError> {
    let (a, b) = fdpass::socketpair(PairKind::SeqPacket)
        .map_err(|source| ChannelError::Socketpair { source })?;
    Ok((Channel::from_fd(a), Channel::from_fd(b)))
}

impl<M> Channel<M> {
    /// Wraps one end of a `SOCK_SEQPACKET` socketpair (one inherited, or
    /// received with [`fdpass::recv_fd`]).
    pub fn from_fd(fd: OwnedFd) -> Channel<M> {
        Channel {
            fd,
            _msg: PhantomData,
        }
    }

    /// The socket, e.g. to pass descriptors beside the messages with
    /// [`fdpass::send_fd`] on the same channel.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }
}

impl<M> AsFd for Channel<M> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl<M: Serialize> Channel<M> {
    /// Sends one message as one datagram. A peer that has gone is `Send`
    /// with `EPIPE`, not a `SIGPIPE`.
    pub fn send(&self, msg: &M) -> Result<(), ChannelError> {
        let bytes = serde_json::to_vec(msg).map_err(|source| ChannelError::Encode { source })?;
        if bytes.len() > MAX_MESSAGE {
            return Err(ChannelError::TooLarge {
                len: bytes.len(),
                max: MAX_MESSAGE,
            });
        }
        loop {
            match rustix::net::send(&self.fd, &bytes, SendFlags::NOSIGNAL) {
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(ChannelError::Send { source: e.into() }),
            }
        }
    }
}

impl<M: DeserializeOwned> Channel<M> {
    /// The next message, or `None` once the other end is closed and every
    /// message sent before was read.
    pub fn recv(&self) -> Result<Option<M>, ChannelError> {
        let mut buf = Vec::with_capacity(MAX_MESSAGE);
        let (n, len) = loop {
            // TRUNC: the datagram's real length, to tell a cut one apart.
            match rustix::net::recv(
                &self.fd,
                rustix::buffer::spare_capacity(&mut buf),
                RecvFlags::TRUNC,
            ) {
                Ok(got) => break got,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(ChannelError::Recv { source: e.into() }),
            }
        };
        if len == 0 {
            return Ok(None);
        }
        if len > n {
            return Err(ChannelError::TooLarge {
                len,
                max: MAX_MESSAGE,
            });
        }
        serde_json::from_slice(&buf)
            .map(Some)
            .map_err(|source| ChannelError::Decode { len, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Msg {
        Ready,
        Forked { pid: u32 },
        Text(String),
    }

    #[test]
    fn messages_keep_their_boundaries_and_order() {
        let (a, b) = pair::<Msg>().unwrap();
        a.send(&Msg::Ready).unwrap();
        a.send(&Msg::Forked { pid: 42 }).unwrap();
        b.send(&Msg::Text("back".into())).unwrap();
        assert_eq!(b.recv().unwrap(), Some(Msg::Ready));
        assert_eq!(b.recv().unwrap(), Some(Msg::Forked { pid: 42 }));
        assert_eq!(a.recv().unwrap(), Some(Msg::Text("back".into())));
        drop(a);
        assert_eq!(b.recv().unwrap(), None);
        assert!(matches!(
            b.send(&Msg::Ready),
            Err(ChannelError::Send { source }) if source.raw_os_error() == Some(libc::EPIPE)
        ));
    }

    #[test]
    fn garbage_and_oversize_are_typed_errors() {
        let (a, b) = pair::<Msg>().unwrap();
        rustix::net::send(&a, b"{nope", SendFlags::empty()).unwrap();
        assert!(matches!(b.recv(), Err(ChannelError::Decode { len: 5, .. })));
        let big = Msg::Text("x".repeat(MAX_MESSAGE));
        assert!(matches!(a.send(&big), Err(ChannelError::TooLarge { .. })));
        let raw = vec![b'"'; MAX_MESSAGE + 10];
        rustix::net::send(&a, &raw, SendFlags::empty()).unwrap();
        assert!(matches!(
            b.recv(),
            Err(ChannelError::TooLarge { len, .. }) if len == MAX_MESSAGE + 10
        ));
    }

    #[test]
    fn ends_are_close_on_exec() {
        let (a, _b) = pair::<Msg>().unwrap();
        let flags = rustix::io::fcntl_getfd(&a).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
    }
}
