//! A bridge network in the caller's network namespace (Docker's default
//! network, done over rtnetlink): the bridge holds the subnet's gateway
//! address; each container gets a veth pair, its host end on the bridge,
//! the other end born in the container's namespace as `eth0` with the
//! container's address and a default route through the gateway.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::BorrowedFd;

use crate::cidr::Cidr;
use crate::link::{self, Change, Master, NewLink};
use crate::route::{self, Dest, RouteSpec};
use crate::rtnl::Rtnl;
use crate::{addr, ipam, Error};

/// The bridge `name` with `subnet`'s gateway address, up; made when
/// missing, refused when `name` is a device of another kind.
pub fn ensure(rtnl: &mut Rtnl, name: &str, subnet: Cidr) -> Result<(), Error> {
    let gateway = Cidr {
        addr: IpAddr::V4(ipam::gateway(subnet)?),
        prefix: subnet.prefix,
    };
    let existing = link::list(rtnl)?.into_iter().find(|l| l.ifname == name);
    let index = match existing {
        Some(l) if l.linkinfo.as_ref().map(|k| k.info_kind.as_str()) != Some("bridge") => {
            return Err(Error::NotABridge {
                name: name.to_owned(),
            })
        }
        Some(l) => l.ifindex,
        None => {
            link::add(rtnl, name, NewLink::Bridge)?;
            link::index(rtnl, name)?
        }
    };
    let has_gateway = addr::list(rtnl, Some(index))?
        .iter()
        .any(|a| a.local == gateway.addr && a.prefixlen == gateway.prefix);
    if !has_gateway {
        addr::add(rtnl, name, gateway)?;
    }
    link::set(
        rtnl,
        name,
        &Change {
            up: Some(true),
            ..Default::default()
        },
    )
}

/// One container on the bridge: a veth pair `host_if` (on `bridge`, up)
/// and `eth0` in the namespace `ns`, with `addr` in `subnet`, `lo` and
/// `eth0` up and a default route through the gateway. On failure the pair
/// is deleted again.
pub fn attach(
    rtnl: &mut Rtnl,
    bridge: &str,
    subnet: Cidr,
    ns: BorrowedFd<'_>,
    host_if: &str,
    addr: Ipv4Addr,
) -> Result<(), Error> {
    link::add(
        rtnl,
        host_if,
        NewLink::Veth {
            peer: Some("eth0"),
            peer_netns: Some(ns),
        },
    )?;
    let configured = (|| {
        link::set(
            rtnl,
            host_if,
            &Change {
                up: Some(true),
                master: Some(Master::Bridge(bridge)),
                ..Default::default()
            },
        )?;
        let mut inside = Rtnl::open_in(ns)?;
        let up = Change {
            up: Some(true),
            ..Default::default()
        };
        link::set(&mut inside, "lo", &up)?;
        addr::add(
            &mut inside,
            "eth0",
            Cidr {
                addr: IpAddr::V4(addr),
                prefix: subnet.prefix,
            },
        )?;
        link::set(&mut inside, "eth0", &up)?;
        route::add(
            &mut inside,
            &RouteSpec {
                dst: Dest::Default,
                via: Some(IpAddr::V4(ipam::gateway(subnet)?)),
                dev: Some("eth0"),
            },
        )
    })();
    if configured.is_err() {
        let _ = link::delete(rtnl, host_if);
    }
    configured
}

/// Deletes a container's veth pair by its host end (the other end goes
/// with it); one already gone (its namespace was freed) is no error.
pub fn detach(rtnl: &mut Rtnl, host_if: &str) -> Result<(), Error> {
    match link::delete(rtnl, host_if) {
        Err(Error::NoSuchDevice { .. }) => Ok(()),
        r => r,
    }
}

/// The host end's name for container `id`: `nsbx` and 8 hex digits of a
/// hash of the id (a device name has at most 15 bytes; ids are longer).
pub fn host_if_name(id: &str) -> String {
    // FNV-1a: stable across builds and runs, unlike std's hasher
    let hash = id.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("nsbx{hash:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_end_names_fit_and_differ() {
        let a = host_if_name("web");
        assert_eq!(a.len(), 12);
        assert_eq!(a, host_if_name("web"));
        assert_ne!(a, host_if_name("web2"));
    }
}
