//! Listing devices as `ip -j -d link` shows them: one dump, each device
//! described with ip's words (flags, state, type), its peer and master
//! by name.

use std::collections::HashMap;

use netlink_packet_core::NLM_F_DUMP;
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, State,
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

pub(crate) fn kind_of(m: &LinkMessage) -> Option<&InfoKind> {
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
