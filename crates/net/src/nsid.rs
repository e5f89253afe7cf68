//! Namespace ids: the number the current network namespace gives another
//! one (`RTM_GETNSID`/`RTM_NEWNSID` with `NETNSA_FD`), which `ip netns list`
//! prints as `(id: N)` and `ip netns set NAME N` assigns.

use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::NLM_F_CREATE;
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::RouteNetlinkMessage;

use crate::rtnl::Rtnl;
use crate::Error;

/// The id the current namespace gives the namespace `ns` refers to, if one
/// is assigned.
pub fn get(rtnl: &mut Rtnl, ns: BorrowedFd<'_>) -> Result<Option<i32>, Error> {
    let mut msg = NsidMessage::default();
    msg.attributes
        .push(NsidAttribute::Fd(ns.as_raw_fd() as u32));
    let replies = rtnl.request("get the namespace id", RouteNetlinkMessage::GetNsId(msg), 0)?;
    for reply in replies {
        if let RouteNetlinkMessage::NewNsId(m) = reply {
            for a in m.attributes {
                if let NsidAttribute::Id(id) = a {
                    return Ok((id >= 0).then_some(id));
                }
            }
        }
    }
    Ok(None)
}

/// Assigns `id` (`None`: the kernel picks one, iproute2's `auto`) to the
/// namespace `ns` refers to. The kernel refuses an id already given or a
/// namespace that already has one (EEXIST).
pub fn set(rtnl: &mut Rtnl, ns: BorrowedFd<'_>, id: Option<i32>) -> Result<(), Error> {
    let mut msg = NsidMessage::default();
    msg.attributes
        .push(NsidAttribute::Fd(ns.as_raw_fd() as u32));
    msg.attributes.push(NsidAttribute::Id(id.unwrap_or(-1)));
    rtnl.request(
        "set the namespace id",
        RouteNetlinkMessage::NewNsId(msg),
        NLM_F_CREATE,
    )?;
    Ok(())
}
