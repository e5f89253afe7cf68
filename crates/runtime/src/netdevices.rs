//! `linux.netDevices` (runtime-spec 1.3, as runc 1.3 and crun 1.21 do it):
//! host network devices moved into the container's network namespace at
//! create, each optionally renamed (`name`; a `%d` in it lets the kernel
//! pick a free one), keeping its permanent addresses of global scope (the
//! kernel drops every address of a device that changes namespace, so they
//! are read before the move and added again after), and set up.
//!
//! The move happens in the runtime's namespace (moving needs
//! CAP_NET_ADMIN over the host's namespace, which the container never
//! has), once init has entered its namespaces and before any hook runs,
//! so that prestart and createContainer hooks see the device, as runc
//! does. Nothing moves it back: the spec says the runtime MUST NOT, and
//! neither runc nor crun does. When the container's network namespace
//! goes (its last process exits, nothing holds it), the kernel moves
//! physical devices back to the initial network namespace and destroys
//! virtual ones (dummy, veth, macvlan...); a namespace joined by path
//! keeps the device.

use std::os::fd::AsFd;

use nsbox_net::cidr::Cidr;
use nsbox_net::link::{self, Change};
use nsbox_net::rtnl::Rtnl;
use nsbox_net::{addr, Error as NetError};
use oci_spec::runtime::{Linux, LinuxNamespaceType, Spec};

use crate::Error;

/// Checks `linux.netDevices`: names the kernel takes, and a network
/// namespace of the container's own to move them into (never the
/// host's). `Err((field, why))`.
pub fn validate(linux: &Linux) -> Result<(), (String, String)> {
    let Some(devices) = linux.net_devices().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let has_netns = linux
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::Network);
    if !has_netns {
        return Err((
            "linux.netDevices".into(),
            "needs a network namespace in linux.namespaces (devices are never moved into the host's)"
                .into(),
        ));
    }
    for (host, dev) in sorted(devices) {
        link::check_name(host)
            .map_err(|e| (format!("linux.netDevices[{host:?}]"), e.to_string()))?;
        if let Some(name) = dev.name() {
            link::check_name(name)
                .map_err(|e| (format!("linux.netDevices[{host:?}].name"), e.to_string()))?;
        }
    }
    Ok(())
}

/// Moves every device of `linux.netDevices` into the network namespace of
/// process `pid` (the container's init, in its final namespaces). A
/// failure stops at that device; those already moved go with the
/// container's namespace when create's guard ends init (see the module
/// comment).
pub fn move_all(spec: &Spec, pid: u32) -> Result<(), Error> {
    let Some(devices) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .filter(|d| !d.is_empty())
    else {
        return Ok(());
    };
    let ns_path = format!("/proc/{pid}/ns/net");
    let netns = std::fs::File::open(&ns_path).map_err(|source| Error::OpenNetns {
        path: ns_path.into(),
        source,
    })?;
    for (host, dev) in sorted(devices) {
        let inside = dev.name().as_deref().unwrap_or(host);
        move_one(host, inside, netns.as_fd()).map_err(|source| Error::NetDevice {
            name: host.clone(),
            source,
        })?;
    }
    Ok(())
}

/// One device: its addresses read, moved and renamed in one request (no
/// moment where the new name could clash in either namespace), then the
/// addresses added again and the device set up, inside.
fn move_one(host: &str, inside: &str, netns: std::os::fd::BorrowedFd<'_>) -> Result<(), NetError> {
    let mut here = Rtnl::open()?;
    let index = link::index(&mut here, host)?;
    let keep: Vec<Cidr> = addr::list(&mut here, Some(index))?
        .into_iter()
        .filter(|a| a.permanent && a.scope == "global")
        .map(|a| Cidr {
            addr: a.local,
            prefix: a.prefixlen,
        })
        .collect();
    link::set(
        &mut here,
        host,
        &Change {
            name: Some(inside),
            netns: Some(netns),
            ..Default::default()
        },
    )?;
    let mut there = Rtnl::open_in(netns)?;
    let name = name_inside(&mut there, inside, index)?;
    for cidr in keep {
        addr::add(&mut there, &name, cidr)?;
    }
    link::set(
        &mut there,
        &name,
        &Change {
            up: Some(true),
            ..Default::default()
        },
    )
}

/// The device's name in the container: `inside`, or with a `%d` template
/// the name the kernel chose, found by the index it kept (the kernel keeps
/// a moved device's index when the target namespace has it free, as a new
/// one does).
fn name_inside(rtnl: &mut Rtnl, inside: &str, index: u32) -> Result<String, NetError> {
    if !inside.contains('%') {
        return Ok(inside.to_owned());
    }
    link::list(rtnl)?
        .into_iter()
        .find(|l| l.ifindex == index)
        .map(|l| l.ifname)
        .ok_or_else(|| NetError::NoSuchDevice {
            name: inside.to_owned(),
        })
}

/// The devices in name order: one order for the same config, whatever
/// the map's.
fn sorted<V>(map: &std::collections::HashMap<String, V>) -> Vec<(&String, &V)> {
    let mut list: Vec<_> = map.iter().collect();
    list.sort_by(|a, b| a.0.cmp(b.0));
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(json: serde_json::Value) -> Linux {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn needs_a_network_namespace_and_valid_names() {
        let no_ns = linux(serde_json::json!({"netDevices": {"dummy0": {}}}));
        assert_eq!(validate(&no_ns).unwrap_err().0, "linux.netDevices");
        let bad = linux(serde_json::json!({
            "namespaces": [{"type": "network"}],
            "netDevices": {"dummy0": {"name": "a/b"}}
        }));
        let (field, why) = validate(&bad).unwrap_err();
        assert_eq!(field, "linux.netDevices[\"dummy0\"].name");
        assert!(why.contains("'/'"), "{why}");
        let good = linux(serde_json::json!({
            "namespaces": [{"type": "network"}],
            "netDevices": {"dummy0": {"name": "eth%d"}, "dummy1": {}}
        }));
        validate(&good).unwrap();
        validate(&linux(serde_json::json!({}))).unwrap();
    }
}
