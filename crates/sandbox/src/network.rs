//! `--net bridge`: a container on a bridge network of the host, as
//! Docker's default network. The pieces are nsbox-net's (bridge, veth,
//! addresses, routes, leases, nftables); this module puts them together
//! for one container and takes them apart again:
//!
//! - under the network's lock (`ROOT/.net/BRIDGE/`, nsbox_net::ipam): the
//!   bridge and its rules made on first use, an address leased, a network
//!   namespace made and kept on the bundle's `netns` file, the veth pair,
//!   and the network's hosts file rewritten (every container by name);
//! - the spec then joins that namespace and binds the hosts file on
//!   `/etc/hosts`, so containers on one network reach each other by name;
//! - [`detach`] undoes it all (a run that ends, `nsbox rm`, a failed
//!   start), and removes the rules with the network's last container.
//!
//! What was made is recorded in the bundle's `network.json`, so `rm` in
//! another process finds it.

use std::fs;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nsbox_net::cidr::Cidr;
use nsbox_net::firewall::PortMap;
use nsbox_net::ipam::{Lease, Leases};
use nsbox_net::rtnl::Rtnl;
use nsbox_net::{bridge, firewall, netns};
use serde::{Deserialize, Serialize};

use crate::error::failed;
use crate::Error;

/// Docker's bridge, nsbox's name and subnet (`--bridge`, `--subnet`).
pub const DEFAULT_BRIDGE: &str = "nsbox0";
pub const DEFAULT_SUBNET: &str = "10.89.0.0/24";

/// Which bridge network, and the host ports to publish to the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeNet {
    pub bridge: String,
    pub subnet: Cidr,
    /// `-p`.
    pub ports: Vec<PortMap>,
}

impl Default for BridgeNet {
    fn default() -> BridgeNet {
        BridgeNet {
            bridge: DEFAULT_BRIDGE.to_owned(),
            subnet: DEFAULT_SUBNET.parse().expect("a valid subnet"),
            ports: Vec::new(),
        }
    }
}

/// One container's place on a bridge network (its bundle's `network.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attached {
    pub bridge: String,
    pub subnet: String,
    pub addr: Ipv4Addr,
    /// The veth's host end.
    pub host_if: String,
    /// The namespace file (in the bundle).
    pub netns: PathBuf,
    /// The hosts file bound on the container's /etc/hosts.
    pub hosts: PathBuf,
}

/// The network's directory under the state root.
pub(crate) fn net_dir(root: &Path, bridge: &str) -> PathBuf {
    root.join(".net").join(bridge)
}

/// Puts container `id` (reached as `name`) on `net`; see the module doc.
/// Nothing is left behind on failure.
pub fn attach(
    root: &Path,
    bundle: &Path,
    id: &str,
    name: &str,
    net: &BridgeNet,
) -> Result<Attached, Error> {
    let dir = net_dir(root, &net.bridge);
    let mut leases = Leases::lock(&dir).map_err(failed("lock the network"))?;
    let mut rtnl = Rtnl::open().map_err(failed("open rtnetlink"))?;
    let leased = (|| {
        check_subnet(&dir, net)?;
        check_ports(&leases, &net.ports)?;
        bridge::ensure(&mut rtnl, &net.bridge, net.subnet).map_err(failed("set up the bridge"))?;
        let addr = leases
            .allocate(
                net.subnet,
                Lease {
                    owner: id.to_owned(),
                    name: name.to_owned(),
                    ports: net.ports.clone(),
                },
            )
            .map_err(failed("lease an address"))?;
        // the table is written when missing and when ports change: its
        // masquerade and forward rules are the subnet's, not a container's
        let applied = dir.join("rules");
        if !applied.exists() || !net.ports.is_empty() {
            firewall::apply(&net.bridge, net.subnet, &leases.ports())
                .map_err(failed("set up the bridge's rules"))?;
            fs::write(&applied, b"").map_err(|source| Error::WriteConfig {
                path: applied,
                source,
            })?;
        }
        Ok(addr)
    })();
    let addr = match leased {
        Ok(addr) => addr,
        Err(e) => {
            // its lease (if made) back; the first container of the network:
            // nothing of the network stays
            let _ = leases.release(id);
            if leases.by_addr.is_empty() {
                let _ = firewall::remove(&net.bridge);
                let _ = leases.remove(&["hosts", "subnet", "rules"]);
            } else {
                let _ = firewall::apply(&net.bridge, net.subnet, &leases.ports());
            }
            return Err(e);
        }
    };
    let attached = Attached {
        bridge: net.bridge.clone(),
        subnet: net.subnet.to_string(),
        addr,
        host_if: bridge::host_if_name(id),
        netns: bundle.join("netns"),
        hosts: dir.join("hosts"),
    };
    let made = (|| {
        // recorded first: a run killed from here on leaves `rm` (or a
        // re-run's cleanup) all it needs to undo, whatever was done
        let record = serde_json::to_vec_pretty(&attached).expect("serializes");
        nsbox_runtime::state::write_atomic(&bundle.join("network.json"), &record, 0o600).map_err(
            |source| Error::WriteConfig {
                path: bundle.join("network.json"),
                source,
            },
        )?;
        netns::create_at(&attached.netns).map_err(failed("make the network namespace"))?;
        let ns = nsbox_ns::NsFile::open(&attached.netns, Some(nsbox_ns::NsKind::Net))
            .map_err(|e| failed("open the network namespace")(e.into()))?;
        bridge::attach(
            &mut rtnl,
            &net.bridge,
            net.subnet,
            std::os::fd::AsFd::as_fd(&ns),
            &attached.host_if,
            addr,
        )
        .map_err(failed("connect the container to the bridge"))?;
        write_hosts(&attached.hosts, &leases)
    })();
    if let Err(e) = made {
        let _ = undo(&mut rtnl, leases, id, &attached);
        let _ = fs::remove_file(bundle.join("network.json"));
        return Err(e);
    }
    Ok(attached)
}

/// Takes container `id`'s bridge network apart, by its bundle's
/// `network.json` (none: [`sweep`]).
pub fn detach(root: &Path, bundle: &Path, id: &str) -> Result<(), Error> {
    let record = bundle.join("network.json");
    let attached: Attached = match fs::read(&record) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Output {
            path: record.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return sweep(root, bundle, id),
        Err(source) => {
            return Err(Error::Output {
                path: record,
                source,
            })
        }
    };
    let dir = net_dir(root, &attached.bridge);
    let leases = Leases::lock(&dir).map_err(failed("lock the network"))?;
    let mut rtnl = Rtnl::open().map_err(failed("open rtnetlink"))?;
    undo(&mut rtnl, leases, id, &attached)?;
    let _ = fs::remove_file(&record);
    Ok(())
}

/// No record: a run killed between leasing an address and recording it,
/// or before leasing (the network's first container). Each bridge network
/// is looked at under its lock (no setup is then half-way): a lease of
/// `id` is undone as a recorded one would be, and a network left with no
/// lease loses its rules and state, as with its last container.
fn sweep(root: &Path, bundle: &Path, id: &str) -> Result<(), Error> {
    let Ok(entries) = fs::read_dir(root.join(".net")) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let bridge = entry.file_name().to_string_lossy().into_owned();
        if bridge.starts_with("cni-") {
            continue; // CNI networks record before they act (cni_net)
        }
        let dir = entry.path();
        let leases = Leases::lock(&dir).map_err(failed("lock the network"))?;
        let mut rtnl = Rtnl::open().map_err(failed("open rtnetlink"))?;
        match leases.by_addr.iter().find(|(_, l)| l.owner == id) {
            Some((addr, _)) => {
                let attached = Attached {
                    bridge: bridge.clone(),
                    subnet: fs::read_to_string(dir.join("subnet"))
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                    addr: *addr,
                    host_if: bridge::host_if_name(id),
                    netns: bundle.join("netns"),
                    hosts: dir.join("hosts"),
                };
                undo(&mut rtnl, leases, id, &attached)?;
            }
            None if leases.by_addr.is_empty() => {
                firewall::remove(&bridge).map_err(failed("remove the bridge's rules"))?;
                leases
                    .remove(&["hosts", "subnet", "rules"])
                    .map_err(failed("remove the network's state"))?;
            }
            None => {}
        }
    }
    Ok(())
}

/// Every step of `attach` undone, whatever of it was done; with the
/// network's last container, its rules and its directory go too (the
/// bridge stays, as docker0 does).
fn undo(rtnl: &mut Rtnl, mut leases: Leases, id: &str, a: &Attached) -> Result<(), Error> {
    bridge::detach(rtnl, &a.host_if).map_err(failed("delete the container's veth"))?;
    netns::release(&a.netns).map_err(failed("release the network namespace"))?;
    let had_ports = leases
        .by_addr
        .values()
        .any(|l| l.owner == id && !l.ports.is_empty());
    leases.release(id).map_err(failed("release the address"))?;
    if !leases.by_addr.is_empty() {
        if had_ports {
            // its published ports go with it
            let subnet: Cidr = a.subnet.parse().map_err(failed("read the subnet"))?;
            firewall::apply(&a.bridge, subnet, &leases.ports())
                .map_err(failed("rewrite the bridge's rules"))?;
        }
        return write_hosts(&a.hosts, &leases);
    }
    firewall::remove(&a.bridge).map_err(failed("remove the bridge's rules"))?;
    leases
        .remove(&["hosts", "subnet", "rules"])
        .map_err(failed("remove the network's state"))
}

/// A host port another container of the network already publishes (or
/// one given twice) is refused, naming both.
fn check_ports(leases: &Leases, ports: &[PortMap]) -> Result<(), Error> {
    for (i, p) in ports.iter().enumerate() {
        if let Some(q) = ports[..i].iter().find(|q| q.clashes(p)) {
            return Err(Error::PortTaken {
                port: p.to_string(),
                by: format!("this container's {q}"),
            });
        }
        for lease in leases.by_addr.values() {
            if let Some(q) = lease.ports.iter().find(|q| q.clashes(p)) {
                return Err(Error::PortTaken {
                    port: p.to_string(),
                    by: format!("container {} ({q})", lease.name),
                });
            }
        }
    }
    Ok(())
}

/// The network's subnet is fixed by its first use (recorded in `subnet`);
/// another `--subnet` for the same bridge is an error.
fn check_subnet(dir: &Path, net: &BridgeNet) -> Result<(), Error> {
    let file = dir.join("subnet");
    let want = net.subnet.to_string();
    match fs::read_to_string(&file) {
        Ok(had) if had.trim() == want => Ok(()),
        Ok(had) => Err(Error::SubnetMismatch {
            bridge: net.bridge.clone(),
            had: had.trim().to_owned(),
            asked: want,
        }),
        Err(_) => fs::write(&file, format!("{want}\n"))
            .map_err(|source| Error::Output { path: file, source }),
    }
}

/// `localhost` and every leased container by name. Rewritten in place
/// (truncated, not replaced): running containers have this very file
/// bound on their /etc/hosts and see the change.
pub(crate) fn write_hosts(path: &Path, leases: &Leases) -> Result<(), Error> {
    let mut text =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for (addr, lease) in &leases.by_addr {
        text.push_str(&format!("{addr}\t{}\n", lease.name));
    }
    let err = |source| Error::Output {
        path: path.to_path_buf(),
        source,
    };
    let mut f = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)
}

/// What network the container of `bundle` is on, its addresses and
/// published ports, from what the bundle records (`network.json`,
/// `cni.json`, else the spec's network namespace).
pub fn describe(bundle: &Path) -> (String, Vec<Ipv4Addr>, Vec<String>) {
    let read = |f: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&fs::read(bundle.join(f)).ok()?).ok()
    };
    if let Some(a) = read("network.json").and_then(|v| serde_json::from_value::<Attached>(v).ok()) {
        // read without the lock: a listing must not wait on a setup
        let ports = a
            .hosts
            .parent()
            .and_then(|dir| fs::read(dir.join("leases.json")).ok())
            .and_then(|b| {
                serde_json::from_slice::<std::collections::BTreeMap<Ipv4Addr, Lease>>(&b).ok()
            })
            .and_then(|leases| {
                leases
                    .get(&a.addr)
                    .map(|l| l.ports.iter().map(|p| p.to_string()).collect())
            })
            .unwrap_or_default();
        return (format!("bridge:{}", a.bridge), vec![a.addr], ports);
    }
    if let Some(c) = read("cni.json") {
        let addrs = nsbox_net::cni::addresses(&c["result"]);
        let ports = c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| serde_json::from_value::<PortMap>(p.clone()).ok())
            .map(|p| p.to_string())
            .collect();
        return (
            format!("cni:{}", c["conf"]["name"].as_str().unwrap_or("?")),
            addrs,
            ports,
        );
    }
    if let Some(ports) = crate::pasta::describe(bundle) {
        return ("pasta".to_owned(), Vec::new(), ports);
    }
    let net = read("config.json").and_then(|c| {
        c["linux"]["namespaces"]
            .as_array()?
            .iter()
            .find(|n| n["type"] == "network")
            .map(|n| match n["path"].as_str() {
                Some(p) => format!("ns:{p}"),
                None => "none".to_owned(),
            })
    });
    (
        net.unwrap_or_else(|| "host".to_owned()),
        Vec::new(),
        Vec::new(),
    )
}

/// The `/etc` files of a container on a network, bound read-only: the
/// network's `hosts`, and, written into its bundle, `hostname` and a
/// `resolv.conf` from the host's with loopback name servers left out (they
/// mean nothing in the container's network namespace); with none left,
/// Docker's fallback, Google's public servers.
/// The files a container with a network of its own gets from
/// [`etc_files`], bound over its root's.
pub const ETC_FILES: [&str; 3] = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];

pub fn etc_files(
    bundle: &Path,
    hostname: &str,
    hosts: PathBuf,
) -> Result<Vec<(PathBuf, &'static str)>, Error> {
    let write = |name: &str, text: String| -> Result<PathBuf, Error> {
        let path = bundle.join(name);
        fs::write(&path, text).map_err(|source| Error::WriteConfig {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    };
    let host = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let [hosts_at, hostname_at, resolv_at] = ETC_FILES;
    Ok(vec![
        (hosts, hosts_at),
        (write("hostname", format!("{hostname}\n"))?, hostname_at),
        (
            write("resolv.conf", container_resolv_conf(&host))?,
            resolv_at,
        ),
    ])
}

/// The host's resolv.conf without loopback name servers (see [`etc_files`]).
fn container_resolv_conf(host: &str) -> String {
    let loopback = |l: &str| {
        let mut words = l.split_whitespace();
        words.next() == Some("nameserver")
            && words
                .next()
                .and_then(|a| a.parse::<std::net::IpAddr>().ok())
                .is_some_and(|a| a.is_loopback())
    };
    let mut out: String = host
        .lines()
        .filter(|l| !loopback(l))
        .map(|l| format!("{l}\n"))
        .collect();
    if !out
        .lines()
        .any(|l| l.split_whitespace().next() == Some("nameserver"))
    {
        out.push_str("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_without_loopback_servers() {
        let host =
            "search example.org\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0\n";
        assert_eq!(
            container_resolv_conf(host),
            "search example.org\nnameserver 192.0.2.53\noptions edns0\n"
        );
        assert_eq!(
            container_resolv_conf("nameserver ::1\n"),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
    }
}
