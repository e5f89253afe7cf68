//! Addresses over rtnetlink, as `ip addr` handles them: add and delete an
//! IPv4 or IPv6 address on a device, list them in the shape of the
//! `addr_info` entries of `ip -j addr`.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::cidr::Cidr;
use crate::rtnl::Rtnl;
use crate::{link, Error};

/// One address, as an `addr_info` entry of `ip -j addr`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Addr {
    /// The device it is on.
    #[serde(skip)]
    pub ifindex: u32,
    /// `inet` or `inet6`.
    pub family: &'static str,
    pub local: IpAddr,
    pub prefixlen: u8,
    /// `global`, `link`, `host` ...
    pub scope: &'static str,
    /// IPv4 only: the device name, or an alias label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Set by hand (`IFA_F_PERMANENT`), not learned (SLAAC, DHCP lease
    /// lifetimes): `ip addr`'s `dynamic` is its absence.
    #[serde(skip)]
    pub permanent: bool,
}

/// `ip addr add CIDR dev DEV`.
pub fn add(rtnl: &mut Rtnl, dev: &str, cidr: Cidr) -> Result<(), Error> {
    let msg = message(rtnl, dev, cidr)?;
    rtnl.request(
        &format!("add address {cidr} to {dev}"),
        RouteNetlinkMessage::NewAddress(msg),
        NLM_F_CREATE | NLM_F_EXCL,
    )
    .map_err(|e| match e.netlink_errno() {
        Some(libc::EEXIST) => Error::AddressExists {
            addr: cidr.to_string(),
            dev: dev.to_owned(),
        },
        _ => e,
    })?;
    Ok(())
}

/// `ip addr del CIDR dev DEV`.
pub fn delete(rtnl: &mut Rtnl, dev: &str, cidr: Cidr) -> Result<(), Error> {
    let msg = message(rtnl, dev, cidr)?;
    rtnl.request(
        &format!("delete address {cidr} from {dev}"),
        RouteNetlinkMessage::DelAddress(msg),
        0,
    )
    .map_err(|e| match e.netlink_errno() {
        Some(libc::EADDRNOTAVAIL) | Some(libc::ENOENT) => Error::NoSuchAddress {
            addr: cidr.to_string(),
            dev: dev.to_owned(),
        },
        _ => e,
    })?;
    Ok(())
}

/// Every address of this namespace (of device `ifindex` when given), IPv4
/// before IPv6 per device as the kernel dumps them.
pub fn list(rtnl: &mut Rtnl, ifindex: Option<u32>) -> Result<Vec<Addr>, Error> {
    let replies = rtnl.request(
        "list addresses",
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        NLM_F_DUMP,
    )?;
    let mut out: Vec<Addr> = replies
        .into_iter()
        .filter_map(|r| match r {
            RouteNetlinkMessage::NewAddress(m) => describe(&m),
            _ => None,
        })
        .filter(|a| ifindex.is_none_or(|i| a.ifindex == i))
        .collect();
    // stable: the kernel's order within a device and family
    out.sort_by_key(|a| (a.ifindex, a.family != "inet"));
    Ok(out)
}

/// The request for `cidr` on `dev`: IFA_LOCAL and IFA_ADDRESS both the
/// address (no peer), as ip sends it.
fn message(rtnl: &mut Rtnl, dev: &str, cidr: Cidr) -> Result<AddressMessage, Error> {
    let mut msg = AddressMessage::default();
    msg.header.index = link::index(rtnl, dev)?;
    msg.header.prefix_len = cidr.prefix;
    msg.header.family = if cidr.addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    msg.header.scope = AddressScope::Universe;
    msg.attributes.push(AddressAttribute::Local(cidr.addr));
    msg.attributes.push(AddressAttribute::Address(cidr.addr));
    Ok(msg)
}

fn describe(m: &AddressMessage) -> Option<Addr> {
    let family = match m.header.family {
        AddressFamily::Inet => "inet",
        AddressFamily::Inet6 => "inet6",
        _ => return None,
    };
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut permanent = m.header.flags.contains(AddressHeaderFlags::Permanent);
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            // IFA_FLAGS, when sent, holds all the flags (the header's 8
            // bits are a copy of the low ones).
            AddressAttribute::Flags(f) => permanent = f.contains(AddressFlags::Permanent),
            _ => {}
        }
    }
    Some(Addr {
        ifindex: m.header.index,
        family,
        local: local.or(address)?,
        prefixlen: m.header.prefix_len,
        scope: scope_name(m.header.scope),
        label,
        permanent,
    })
}

/// ip's name of a scope.
fn scope_name(scope: AddressScope) -> &'static str {
    match scope {
        AddressScope::Universe => "global",
        AddressScope::Site => "site",
        AddressScope::Link => "link",
        AddressScope::Host => "host",
        AddressScope::Nowhere => "nowhere",
        _ => "unknown",
    }
}
