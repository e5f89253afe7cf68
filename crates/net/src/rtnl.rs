//! One rtnetlink request and its replies over a plain netlink socket:
//! nsbox's network verbs are short-lived and sequential, so a blocking
//! socket is all they need (no async runtime to start per command).

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_MULTIPART,
    NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::Error;

/// An rtnetlink socket of the caller's current network namespace.
pub struct Rtnl {
    socket: Socket,
    seq: u32,
}

impl Rtnl {
    pub fn open() -> Result<Rtnl, Error> {
        let fail = |what: &str, source| Error::Netlink {
            what: what.to_owned(),
            source,
        };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| fail("open a socket", e))?;
        socket.bind_auto().map_err(|e| fail("bind the socket", e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| fail("connect the socket", e))?;
        Ok(Rtnl { socket, seq: 0 })
    }

    /// A socket of the network namespace `ns` (a netlink socket belongs to
    /// the namespace of the task that opens it): the calling thread joins
    /// `ns`, opens it and goes back ([`in_netns`]).
    pub fn open_in(ns: std::os::fd::BorrowedFd<'_>) -> Result<Rtnl, Error> {
        in_netns(Some(ns), Rtnl::open)
    }

    /// Sends `msg` with `flags` (`NLM_F_REQUEST` is added; `NLM_F_ACK` too
    /// unless it is a dump) and returns the replies: every message of a
    /// dump, or the one answer of a get, or nothing for an acknowledged
    /// change. A kernel error comes back as the errno, with `what`.
    pub fn request(
        &mut self,
        what: &str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, Error> {
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags | if dump { 0 } else { NLM_F_ACK };
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket.send(&buf, 0).map_err(|source| Error::Netlink {
            what: what.to_owned(),
            source,
        })?;

        let mut replies = Vec::new();
        loop {
            let (data, _) = self
                .socket
                .recv_from_full()
                .map_err(|source| Error::Netlink {
                    what: what.to_owned(),
                    source,
                })?;
            let mut at = 0;
            while at < data.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[at..])
                    .map_err(|e| Error::NetlinkReply {
                        what: what.to_owned(),
                        reply: e.to_string(),
                    })?;
                let len = reply.header.length as usize;
                let multipart = reply.header.flags & NLM_F_MULTIPART != 0;
                if reply.header.sequence_number != self.seq || len == 0 {
                    // not ours (a stale reply) or malformed: skip the datagram
                    break;
                }
                at += len;
                match reply.payload {
                    NetlinkPayload::Done(_) => return Ok(replies),
                    NetlinkPayload::Error(e) if e.code.is_none() => return Ok(replies),
                    NetlinkPayload::Error(e) => {
                        return Err(Error::Netlink {
                            what: what.to_owned(),
                            source: e.to_io(),
                        })
                    }
                    NetlinkPayload::InnerMessage(m) => {
                        replies.push(m);
                        if !multipart && dump {
                            return Ok(replies);
                        }
                    }
                    NetlinkPayload::Noop | NetlinkPayload::Overrun(_) => {}
                    _ => {}
                }
            }
        }
    }
}

/// Runs `f` in the network namespace `ns` (none: a new one, unshared) and
/// puts the calling thread back into its own afterwards, whatever `f`
/// returned. On the calling thread, never a helper one: nsbox forks
/// containers later, and a finished helper thread can still count for a
/// moment in the kernel, which makes that fork refuse (one process, one
/// thread).
pub fn in_netns<T>(
    ns: Option<std::os::fd::BorrowedFd<'_>>,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    use rustix::thread::{move_into_link_name_space, LinkNameSpaceType, UnshareFlags};
    let sys = |what: &str| {
        let what = what.to_owned();
        move |e: rustix::io::Errno| Error::Sys {
            what,
            source: e.into(),
        }
    };
    let own = std::fs::File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("open", "/proc/thread-self/ns/net", e))?;
    match ns {
        Some(ns) => move_into_link_name_space(ns, Some(LinkNameSpaceType::Network))
            .map_err(sys("join the network namespace"))?,
        // SAFETY: CLONE_NEWNET changes only this thread's network
        // namespace, which is restored below before anything else runs.
        None => unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) }
            .map_err(sys("unshare the network namespace"))?,
    }
    let result = f();
    move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&own),
        Some(LinkNameSpaceType::Network),
    )
    .map_err(sys("go back to the caller's network namespace"))?;
    result
}
