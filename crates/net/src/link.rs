//! Network devices over rtnetlink, as `ip link` handles them: add a veth
//! pair or a bridge, change a device (up, down, netns, master, mtu) in one
//! request, delete one, list them in the shape of `ip -j -d link`.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, State,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::rtnl::Rtnl;
use crate::Error;

/// A device as `ip -j -d link` shows it (the fields nsbox gives).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Link {
    pub ifindex: u32,
    pub ifname: String,
    /// ip's flag words, in ip's order (`NO-CARRIER`, `BROADCAST`, `UP` ...).
    pub flags: Vec<String>,
    pub mtu: u32,
    /// The device this one is tied to in this namespace (a veth's peer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The index of that device when it is in another namespace ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_index: Option<u32>,
    /// ... and the id this namespace gives that one (`ip netns set`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_netnsid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    pub operstate: String,
    pub link_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkinfo: Option<Kind>,
}

/// `linkinfo` of `ip -j -d link`: the driver kind (veth, bridge ...).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Kind {
    pub info_kind: String,
}

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

/// Every device of this namespace, by index.
pub fn list(rtnl: &mut Rtnl) -> Result<Vec<Link>, Error> {
    let replies = rtnl.request(
        "list links",
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        NLM_F_DUMP,
    )?;
    let msgs: Vec<LinkMessage> = replies
        .into_iter()
        .filter_map(|r| match r {
            RouteNetlinkMessage::NewLink(m) => Some(m),
            _ => None,
        })
        .collect();
    let names: HashMap<u32, (String, LinkFlags)> = msgs
        .iter()
        .filter_map(|m| name_of(m).map(|n| (m.header.index, (n.to_owned(), m.header.flags))))
        .collect();
    let mut links: Vec<Link> = msgs.iter().map(|m| describe(m, &names)).collect();
    links.sort_by_key(|l| l.ifindex);
    Ok(links)
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

fn kind_of(m: &LinkMessage) -> Option<&InfoKind> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(k) => Some(k),
            _ => None,
        }),
        _ => None,
    })
}

fn name_of(m: &LinkMessage) -> Option<&str> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

/// One device; `others` gives the name and flags of every device here, by
/// index, for its master and its peer.
fn describe(m: &LinkMessage, others: &HashMap<u32, (String, LinkFlags)>) -> Link {
    let mut link = Link {
        ifindex: m.header.index,
        ifname: name_of(m).unwrap_or_default().to_owned(),
        flags: flag_words(m.header.flags),
        mtu: 0,
        link: None,
        link_index: None,
        link_netnsid: None,
        master: None,
        operstate: "UNKNOWN".into(),
        link_type: link_type(u16::from(m.header.link_layer_type)),
        address: None,
        linkinfo: kind_of(m).map(|k| Kind {
            info_kind: k.to_string(),
        }),
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::Mtu(mtu) => link.mtu = *mtu,
            LinkAttribute::Controller(i) => link.master = others.get(i).map(|o| o.0.clone()),
            LinkAttribute::OperState(s) => link.operstate = operstate(*s).into(),
            LinkAttribute::Address(bytes) => link.address = Some(mac(bytes)),
            _ => {}
        }
    }
    // the peer: here, its name and ip's M-DOWN when it is down; in another
    // namespace, its index and that namespace's id (its state unknown)
    let netnsid = m.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkNetNsId(id) => Some(*id),
        _ => None,
    });
    let peer = m.attributes.iter().find_map(|a| match a {
        LinkAttribute::Link(i) if *i != 0 => Some(*i),
        _ => None,
    });
    match (peer, netnsid) {
        (Some(i), Some(id)) => {
            link.link_index = Some(i);
            link.link_netnsid = Some(id);
        }
        (Some(i), None) => {
            if let Some((name, flags)) = others.get(&i) {
                link.link = Some(name.clone());
                if !flags.contains(LinkFlags::Up) {
                    link.flags.push("M-DOWN".into());
                }
            }
        }
        _ => {}
    }
    link
}

/// ip's words for `IFF_*` flags, in ip's order; NO-CARRIER for a device
/// that is up without a carrier (ip hides RUNNING itself).
pub fn flag_words(flags: LinkFlags) -> Vec<String> {
    const WORDS: [(LinkFlags, &str); 18] = [
        (LinkFlags::Loopback, "LOOPBACK"),
        (LinkFlags::Broadcast, "BROADCAST"),
        (LinkFlags::Pointopoint, "POINTOPOINT"),
        (LinkFlags::Multicast, "MULTICAST"),
        (LinkFlags::Noarp, "NOARP"),
        (LinkFlags::Allmulti, "ALLMULTI"),
        (LinkFlags::Promisc, "PROMISC"),
        (LinkFlags::Notrailers, "NOTRAILERS"),
        (LinkFlags::Debug, "DEBUG"),
        (LinkFlags::Dynamic, "DYNAMIC"),
        (LinkFlags::Automedia, "AUTOMEDIA"),
        (LinkFlags::Portsel, "PORTSEL"),
        (LinkFlags::Controller, "MASTER"),
        (LinkFlags::Port, "SLAVE"),
        (LinkFlags::Up, "UP"),
        (LinkFlags::LowerUp, "LOWER_UP"),
        (LinkFlags::Dormant, "DORMANT"),
        (LinkFlags::Echo, "ECHO"),
    ];
    let mut out = Vec::new();
    if flags.contains(LinkFlags::Up) && !flags.contains(LinkFlags::Running) {
        out.push("NO-CARRIER".to_owned());
    }
    out.extend(
        WORDS
            .iter()
            .filter(|(f, _)| flags.contains(*f))
            .map(|(_, w)| (*w).to_owned()),
    );
    out
}

fn operstate(s: State) -> &'static str {
    match s {
        State::Unknown => "UNKNOWN",
        State::NotPresent => "NOTPRESENT",
        State::Down => "DOWN",
        State::LowerLayerDown => "LOWERLAYERDOWN",
        State::Testing => "TESTING",
        State::Dormant => "DORMANT",
        State::Up => "UP",
        _ => "UNKNOWN",
    }
}

/// ip's name of an `ARPHRD_*` type (the common ones).
fn link_type(t: u16) -> String {
    match t {
        1 => "ether".into(),
        772 => "loopback".into(),
        768 => "ipip".into(),
        776 => "sit".into(),
        778 => "gre".into(),
        823 => "tunnel6".into(),
        0xfffe => "none".into(),
        0xffff => "void".into(),
        n => format!("[{n}]"),
    }
}

fn mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
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

    #[test]
    fn flags_read_as_ip_prints_them() {
        let f = LinkFlags::Broadcast | LinkFlags::Multicast | LinkFlags::Up;
        assert_eq!(
            flag_words(f),
            ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
        );
        let f = LinkFlags::Loopback | LinkFlags::Up | LinkFlags::Running | LinkFlags::LowerUp;
        assert_eq!(flag_words(f), ["LOOPBACK", "UP", "LOWER_UP"]);
    }
}
