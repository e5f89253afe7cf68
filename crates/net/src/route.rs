//! Routes of the main table over rtnetlink, as `ip route` handles them:
//! add and delete `PREFIX|default [via IP] [dev DEV]`, list them in the
//! shape of `ip -j route`.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RoutePreference, RouteProtocol,
    RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::cidr::Cidr;
use crate::rtnl::Rtnl;
use crate::{link, Error};

/// A route's destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// `default`: every address of the family (0.0.0.0/0 or ::/0).
    Default,
    /// A network (its host bits zero) or a host.
    Net(Cidr),
}

/// The address family, for `default` and for listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// One `ip route add|del` request.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec<'a> {
    pub dst: Dest,
    pub via: Option<IpAddr>,
    pub dev: Option<&'a str>,
}

/// A route as `ip -j route` shows it (the fields nsbox gives).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Route {
    /// Not unicast: `unreachable`, `blackhole` ...
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `default`, `10.0.0.0/24`, or a host without its `/32`.
    pub dst: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Left out for `boot` (routes added by hand), as ip does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Left out for `global`, as ip does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefsrc: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    pub flags: Vec<String>,
    /// IPv6 router preference (`medium` ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pref: Option<&'static str>,
    #[serde(skip)]
    pub family: Family,
}

impl RouteSpec<'_> {
    /// The family of the route: its destination's, or its gateway's for
    /// `default` (IPv4 when neither says).
    pub fn family(&self) -> Family {
        match (self.dst, self.via) {
            (Dest::Net(c), _) => family_of(c.addr),
            (Dest::Default, Some(via)) => family_of(via),
            (Dest::Default, None) => Family::V4,
        }
    }

    /// Refuses what ip refuses before asking the kernel: host bits in a
    /// network, a gateway of the other family.
    pub fn check(&self) -> Result<(), Error> {
        let bad = |why| Error::BadAddress {
            text: self.to_string(),
            why,
        };
        if let Dest::Net(c) = self.dst {
            if !c.is_network() {
                return Err(bad("host bits set after the prefix length"));
            }
        }
        if let Some(via) = self.via {
            if family_of(via) != self.family() {
                return Err(bad("the gateway is of the other address family"));
            }
        }
        Ok(())
    }
}

impl fmt::Display for RouteSpec<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.dst {
            Dest::Default => write!(f, "default")?,
            Dest::Net(c) => write!(f, "{c}")?,
        }
        if let Some(via) = self.via {
            write!(f, " via {via}")?;
        }
        if let Some(dev) = self.dev {
            write!(f, " dev {dev}")?;
        }
        Ok(())
    }
}

/// `ip route add SPEC`: proto boot, scope link when there is no gateway.
pub fn add(rtnl: &mut Rtnl, spec: &RouteSpec<'_>) -> Result<(), Error> {
    let mut msg = message(rtnl, spec)?;
    msg.header.protocol = RouteProtocol::Boot;
    msg.header.kind = RouteType::Unicast;
    msg.header.scope = if spec.via.is_some() {
        RouteScope::Universe
    } else {
        RouteScope::Link
    };
    rtnl.request(
        &format!("add route {spec}"),
        RouteNetlinkMessage::NewRoute(msg),
        NLM_F_CREATE | NLM_F_EXCL,
    )
    .map_err(|e| match e.netlink_errno() {
        Some(libc::EEXIST) => Error::RouteExists {
            route: spec.to_string(),
        },
        Some(libc::ENETDOWN) => Error::RouteDeviceDown {
            route: spec.to_string(),
        },
        Some(libc::ENETUNREACH) | Some(libc::EHOSTUNREACH) => Error::GatewayUnreachable {
            route: spec.to_string(),
            via: spec.via.map(|v| v.to_string()).unwrap_or_default(),
        },
        _ => e,
    })?;
    Ok(())
}

/// `ip route del SPEC`: the first route of the main table that matches.
pub fn delete(rtnl: &mut Rtnl, spec: &RouteSpec<'_>) -> Result<(), Error> {
    let mut msg = message(rtnl, spec)?;
    // the kernel matches any scope with `nowhere`, as ip asks
    msg.header.scope = RouteScope::NoWhere;
    rtnl.request(
        &format!("delete route {spec}"),
        RouteNetlinkMessage::DelRoute(msg),
        0,
    )
    .map_err(|e| match e.netlink_errno() {
        Some(libc::ESRCH) => Error::NoSuchRoute {
            route: spec.to_string(),
        },
        _ => e,
    })?;
    Ok(())
}

/// The routes of the main table, of `family` or of both (IPv4 first).
pub fn list(rtnl: &mut Rtnl, family: Option<Family>) -> Result<Vec<Route>, Error> {
    let names: HashMap<u32, String> = link::list(rtnl)?
        .into_iter()
        .map(|l| (l.ifindex, l.ifname))
        .collect();
    let mut out = Vec::new();
    for f in [Family::V4, Family::V6] {
        if family.is_some_and(|want| want != f) {
            continue;
        }
        let mut msg = RouteMessage::default();
        msg.header.address_family = address_family(f);
        let replies = rtnl.request(
            "list routes",
            RouteNetlinkMessage::GetRoute(msg),
            NLM_F_DUMP,
        )?;
        out.extend(replies.into_iter().filter_map(|r| match r {
            RouteNetlinkMessage::NewRoute(m) => describe(&m, f, &names),
            _ => None,
        }));
    }
    Ok(out)
}

fn message(rtnl: &mut Rtnl, spec: &RouteSpec<'_>) -> Result<RouteMessage, Error> {
    spec.check()?;
    let family = spec.family();
    let mut msg = RouteMessage::default();
    msg.header.address_family = address_family(family);
    msg.header.table = RouteHeader::RT_TABLE_MAIN;
    if let Dest::Net(c) = spec.dst {
        msg.header.destination_prefix_length = c.prefix;
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(c.addr)));
    }
    if let Some(via) = spec.via {
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(via)));
    }
    if let Some(dev) = spec.dev {
        msg.attributes
            .push(RouteAttribute::Oif(link::index(rtnl, dev)?));
    }
    Ok(msg)
}

/// A route of the main table as ip shows it; others (local, cloned) are
/// left out as `ip route` leaves them.
fn describe(m: &RouteMessage, family: Family, names: &HashMap<u32, String>) -> Option<Route> {
    let mut table = u32::from(m.header.table);
    let mut dst = None;
    let mut route = Route {
        kind: match m.header.kind {
            RouteType::Unicast => None,
            k => Some(format!("{k:?}").to_lowercase()),
        },
        dst: "default".into(),
        gateway: None,
        dev: None,
        protocol: match m.header.protocol {
            RouteProtocol::Boot => None,
            p => Some(protocol_name(p)),
        },
        scope: match m.header.scope {
            RouteScope::Universe => None,
            RouteScope::Site => Some("site"),
            RouteScope::Link => Some("link"),
            RouteScope::Host => Some("host"),
            RouteScope::NoWhere => Some("nowhere"),
            _ => Some("unknown"),
        },
        prefsrc: None,
        metric: None,
        flags: Vec::new(),
        pref: None,
        family,
    };
    for a in &m.attributes {
        match a {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(d) => dst = ip_of(d),
            RouteAttribute::Gateway(g) => route.gateway = ip_of(g),
            RouteAttribute::Oif(i) => route.dev = names.get(i).cloned(),
            RouteAttribute::PrefSource(s) => route.prefsrc = ip_of(s),
            RouteAttribute::Priority(p) => route.metric = Some(*p),
            RouteAttribute::Preference(p) => {
                route.pref = match p {
                    RoutePreference::Low => Some("low"),
                    RoutePreference::Medium => Some("medium"),
                    RoutePreference::High => Some("high"),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    let prefix = m.header.destination_prefix_length;
    if let Some(d) = dst {
        route.dst = if prefix == Cidr::max_prefix(d) {
            d.to_string()
        } else {
            format!("{d}/{prefix}")
        };
    }
    Some(route)
}

fn protocol_name(p: RouteProtocol) -> String {
    match p {
        RouteProtocol::Kernel => "kernel".into(),
        RouteProtocol::Static => "static".into(),
        RouteProtocol::Ra => "ra".into(),
        RouteProtocol::Dhcp => "dhcp".into(),
        RouteProtocol::Unspec => "unspec".into(),
        p => format!("{p:?}").to_lowercase(),
    }
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn family_of(ip: IpAddr) -> Family {
    if ip.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    }
}

fn address_family(f: Family) -> AddressFamily {
    match f {
        Family::V4 => AddressFamily::Inet,
        Family::V6 => AddressFamily::Inet6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_and_checks_follow_ip() {
        let net = |s: &str| Dest::Net(s.parse().unwrap());
        let spec = RouteSpec {
            dst: Dest::Default,
            via: Some("fd00::1".parse().unwrap()),
            dev: None,
        };
        assert_eq!(spec.family(), Family::V6);
        spec.check().unwrap();
        let spec = RouteSpec {
            dst: net("10.1.0.1/16"),
            via: None,
            dev: Some("v0"),
        };
        assert_eq!(
            spec.check().unwrap_err().to_string(),
            "invalid address \"10.1.0.1/16 dev v0\": host bits set after the prefix length"
        );
        let spec = RouteSpec {
            dst: net("10.1.0.0/16"),
            via: Some("fd00::1".parse().unwrap()),
            dev: None,
        };
        assert!(spec.check().is_err());
    }
}
