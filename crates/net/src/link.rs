//! Network devices over rtnetlink, as `ip link` handles them: add a veth
//! pair or a bridge, change a device (up, down, netns, master, mtu) in one
//! request, delete one (listing: [`crate::link_list`], re-exported here).

use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::link_list::kind_of;
pub use crate::link_list::{list, Kind, Link};
use crate::rtnl::Rtnl;
use crate::Error;

/// What `add` makes.
#[derive(Debug, Clone, Copy)]
pub enum NewLink<'a> {
    /// A veth pair; the peer's name (the kernel picks `vethN` without one)
    /// and the namespace it is born in (default: this one).
    Veth {
        peer: Option<&'a str>,
        peer_netns: Option<BorrowedFd<'a>>,
    },
    Bridge,
}

/// The bridge a device is enslaved to, or none (`nomaster`).
#[derive(Debug, Clone, Copy)]
pub enum Master<'a> {
    Bridge(&'a str),
    None,
}

/// The changes of one `ip link set`; those given are sent in one request.
/// The kernel moves the device first, then applies the rest in its new
/// namespace (so `netns NS up` brings it up there).
#[derive(Debug, Clone, Copy, Default)]
pub struct Change<'a> {
    pub up: Option<bool>,
    /// A new name (`ip link set NAME name NEW`); with `netns`, the name it
    /// takes in that namespace (a `%d` in it: the kernel picks a free one).
    pub name: Option<&'a str>,
    pub netns: Option<BorrowedFd<'a>>,
    pub master: Option<Master<'a>>,
    pub mtu: Option<u32>,
}

/// Refuses a name the kernel would (empty, 16 bytes or more, `.`, `..`,
/// '/', ':' or white space), so the message names it.
pub fn check_name(name: &str) -> Result<(), Error> {
    let bad = |why| Error::BadDeviceName {
        name: name.to_owned(),
        why,
    };
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name.len() > 15 {
        return Err(bad("longer than 15 bytes"));
    }
    if name == "." || name == ".." {
        return Err(bad("not a device name"));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        return Err(bad("contains '/', ':' or white space"));
    }
    Ok(())
}

/// `ip link add NAME type veth|bridge ...`: one request, so a refused add
/// leaves nothing (the kernel makes both ends of a veth or neither).
pub fn add(rtnl: &mut Rtnl, name: &str, kind: NewLink<'_>) -> Result<(), Error> {
    check_name(name)?;
    if exists(rtnl, name)? {
        return Err(Error::DeviceExists {
            name: name.to_owned(),
        });
    }
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
    let info = match kind {
        NewLink::Bridge => vec![LinkInfo::Kind(InfoKind::Bridge)],
        NewLink::Veth { peer, peer_netns } => {
            let mut p = LinkMessage::default();
            if let Some(peer) = peer {
                check_name(peer)?;
                if peer == name {
                    return Err(Error::BadDeviceName {
                        name: peer.to_owned(),
                        why: "the peer needs a name of its own",
                    });
                }
                if peer_netns.is_none() && exists(rtnl, peer)? {
                    return Err(Error::DeviceExists {
                        name: peer.to_owned(),
                    });
                }
                p.attributes.push(LinkAttribute::IfName(peer.to_owned()));
            }
            if let Some(ns) = peer_netns {
                p.attributes.push(LinkAttribute::NetNsFd(ns.as_raw_fd()));
            }
            vec![
                LinkInfo::Kind(InfoKind::Veth),
                LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))),
            ]
        }
    };
    msg.attributes.push(LinkAttribute::LinkInfo(info));
    let what = format!("add link {name}");
    match rtnl.request(
        &what,
        RouteNetlinkMessage::NewLink(msg),
        NLM_F_CREATE | NLM_F_EXCL,
    ) {
        // only the peer can still be taken (in its other namespace)
        Err(e) if e.netlink_errno() == Some(libc::EEXIST) => Err(Error::DeviceExists {
            name: match kind {
                NewLink::Veth {
                    peer: Some(peer), ..
                } => peer.to_owned(),
                _ => name.to_owned(),
            },
        }),
        r => r.map(drop),
    }
}

/// `ip link set NAME ...`: every change in one request. An MTU outside
/// the device's range is refused before anything is sent.
pub fn set(rtnl: &mut Rtnl, name: &str, change: &Change<'_>) -> Result<(), Error> {
    let current = get(rtnl, name)?;
    let mut msg = LinkMessage::default();
    msg.header.index = current.header.index;
    if let Some(up) = change.up {
        msg.header.change_mask = LinkFlags::Up;
        msg.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
    }
    if let Some(mtu) = change.mtu {
        check_mtu(name, &current, mtu)?;
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    match change.master {
        Some(Master::Bridge(bridge)) => {
            let master = get(rtnl, bridge)?;
            if kind_of(&master) != Some(&InfoKind::Bridge) {
                return Err(Error::NotABridge {
                    name: bridge.to_owned(),
                });
            }
            msg.attributes
                .push(LinkAttribute::Controller(master.header.index));
        }
        Some(Master::None) => msg.attributes.push(LinkAttribute::Controller(0)),
        None => {}
    }
    if let Some(new) = change.name {
        check_name(new)?;
        msg.attributes.push(LinkAttribute::IfName(new.to_owned()));
    }
    if let Some(ns) = change.netns {
        msg.attributes.push(LinkAttribute::NetNsFd(ns.as_raw_fd()));
    }
    rtnl.request(
        &format!("set link {name}"),
        RouteNetlinkMessage::SetLink(msg),
        0,
    )?;
    Ok(())
}

/// `ip link del NAME` (a veth's peer goes with it).
pub fn delete(rtnl: &mut Rtnl, name: &str) -> Result<(), Error> {
    let mut msg = LinkMessage::default();
    msg.header.index = index(rtnl, name)?;
    rtnl.request(
        &format!("delete link {name}"),
        RouteNetlinkMessage::DelLink(msg),
        0,
    )?;
    Ok(())
}

/// The index of device `name`.
pub fn index(rtnl: &mut Rtnl, name: &str) -> Result<u32, Error> {
    Ok(get(rtnl, name)?.header.index)
}

/// True when device `name` exists here.
pub fn exists(rtnl: &mut Rtnl, name: &str) -> Result<bool, Error> {
    match get(rtnl, name) {
        Ok(_) => Ok(true),
        Err(Error::NoSuchDevice { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// RTM_GETLINK by name; ENODEV becomes [`Error::NoSuchDevice`].
fn get(rtnl: &mut Rtnl, name: &str) -> Result<LinkMessage, Error> {
    check_name(name)?;
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
    let no_such = || Error::NoSuchDevice {
        name: name.to_owned(),
    };
    let replies = rtnl
        .request(
            &format!("get link {name}"),
            RouteNetlinkMessage::GetLink(msg),
            0,
        )
        .map_err(|e| match e.netlink_errno() {
            Some(libc::ENODEV) => no_such(),
            _ => e,
        })?;
    replies
        .into_iter()
        .find_map(|r| match r {
            RouteNetlinkMessage::NewLink(m) => Some(m),
            _ => None,
        })
        .ok_or_else(no_such)
}

fn check_mtu(name: &str, link: &LinkMessage, mtu: u32) -> Result<(), Error> {
    let (mut min, mut max) = (68, u32::MAX);
    for a in &link.attributes {
        match a {
            LinkAttribute::MinMtu(m) => min = *m,
            LinkAttribute::MaxMtu(m) if *m > 0 => max = *m,
            _ => {}
        }
    }
    if mtu < min || mtu > max {
        return Err(Error::BadMtu {
            name: name.to_owned(),
            mtu,
            min,
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_kernel_refuses_are_refused() {
        for bad in ["", "abcdefghijklmnop", ".", "..", "a/b", "a:b", "a b"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        check_name("abcdefghijklmno").unwrap();
        check_name("veth0").unwrap();
    }
}
