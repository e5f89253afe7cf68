//! `--net cni:NAME`: the container's network made by the plugins of the
//! CNI network configuration NAME (nsbox_net::cni), as Kubernetes has its
//! runtime make a pod's: a network namespace kept on the bundle's `netns`
//! file, ADD on start, DEL on removal with the ADD's result (cached in the
//! bundle's `cni.json`, with the configuration as it was), CHECK on
//! `nsbox net check NAME`. Configurations are read from `$NETCONFPATH`
//! (else /etc/cni/net.d) and plugins from `$CNI_PATH` (else /opt/cni/bin
//! and /usr/lib/cni), the variables of CNI's own cnitool. The addresses
//! the plugins give go into the network's hosts file (`ROOT/.net/cni-NAME`),
//! so containers on one CNI network reach each other by name too.

use std::fs;
use std::path::{Path, PathBuf};

use nsbox_net::cni::{self, Attachment, NetConf};
use nsbox_net::firewall::PortMap;
use nsbox_net::ipam::{Lease, Leases};
use nsbox_net::netns;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::failed;
use crate::network::{net_dir, write_hosts};
use crate::Error;

/// The interface the plugins make in the container.
const IFNAME: &str = "eth0";

/// Which CNI network, where its files are, and the ports to publish
/// (to plugins with the `portMappings` capability).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniNet {
    pub name: String,
    pub conf_dirs: Vec<PathBuf>,
    pub plugin_dirs: Vec<PathBuf>,
    pub ports: Vec<PortMap>,
}

impl CniNet {
    /// NAME, with the directories from `$NETCONFPATH` and `$CNI_PATH`.
    pub fn named(name: &str) -> CniNet {
        let dirs = |var: &str, default: &[&str]| -> Vec<PathBuf> {
            match std::env::var_os(var) {
                Some(v) if !v.is_empty() => std::env::split_paths(&v).collect(),
                _ => default.iter().map(PathBuf::from).collect(),
            }
        };
        CniNet {
            name: name.to_owned(),
            conf_dirs: dirs("NETCONFPATH", cni::CONF_DIRS),
            plugin_dirs: dirs("CNI_PATH", cni::PLUGIN_DIRS),
            ports: Vec::new(),
        }
    }
}

/// What `attach` did, in the bundle's `cni.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attached {
    pub conf: NetConf,
    pub result: Value,
    pub plugin_dirs: Vec<PathBuf>,
    pub ports: Vec<PortMap>,
    pub netns: PathBuf,
    pub hosts: PathBuf,
}

/// Runs ADD for container `id` (reached as `name`); nothing is left
/// behind on failure.
pub fn attach(
    root: &Path,
    bundle: &Path,
    id: &str,
    name: &str,
    net: &CniNet,
) -> Result<Attached, Error> {
    let conf = cni::find(&net.conf_dirs, &net.name).map_err(failed("find the CNI network"))?;
    let netns_path = bundle.join("netns");
    let mut attached = Attached {
        conf,
        result: Value::Null,
        plugin_dirs: net.plugin_dirs.clone(),
        ports: net.ports.clone(),
        netns: netns_path.clone(),
        hosts: hosts_dir(root, &net.name).join("hosts"),
    };
    // recorded before ADD (without a result, which DEL may lack), so a run
    // killed part-way leaves `rm` what to undo
    record(bundle, &attached)?;
    if let Err(e) = netns::create_at(&netns_path) {
        let _ = fs::remove_file(bundle.join("cni.json"));
        return Err(failed("make the network namespace")(e));
    }
    let at = Attachment {
        container_id: id,
        netns: &netns_path,
        ifname: IFNAME,
        plugin_dirs: &net.plugin_dirs,
        ports: &net.ports,
    };
    attached.result = match cni::add(&attached.conf, &at) {
        Ok(r) => r,
        Err(e) => {
            let _ = netns::release(&netns_path);
            let _ = fs::remove_file(bundle.join("cni.json"));
            return Err(failed("CNI ADD")(e));
        }
    };
    let recorded = (|| {
        let mut names =
            Leases::lock(&hosts_dir(root, &net.name)).map_err(failed("lock the network"))?;
        for addr in cni::addresses(&attached.result) {
            names
                .record(
                    addr,
                    Lease {
                        owner: id.to_owned(),
                        name: name.to_owned(),
                        ports: Vec::new(),
                    },
                )
                .map_err(failed("record the address"))?;
        }
        write_hosts(&attached.hosts, &names)?;
        record(bundle, &attached)
    })();
    if let Err(e) = recorded {
        let _ = undo(root, id, &attached);
        let _ = fs::remove_file(bundle.join("cni.json"));
        return Err(e);
    }
    Ok(attached)
}

/// The bundle's `cni.json`.
fn record(bundle: &Path, attached: &Attached) -> Result<(), Error> {
    let path = bundle.join("cni.json");
    let bytes = serde_json::to_vec_pretty(attached).expect("serializes");
    // whole or not at all: a run killed while writing leaves no half record
    nsbox_runtime::state::write_atomic(&path, &bytes, 0o600)
        .map_err(|source| Error::WriteConfig { path, source })
}

/// DEL, by the bundle's `cni.json` (none: nothing to do).
pub fn detach(root: &Path, bundle: &Path, id: &str) -> Result<(), Error> {
    let Some(attached) = recorded(bundle)? else {
        return Ok(());
    };
    undo(root, id, &attached)?;
    let _ = fs::remove_file(bundle.join("cni.json"));
    Ok(())
}

/// CHECK of container `id`'s network, by its bundle's `cni.json`.
pub fn check(bundle: &Path, id: &str) -> Result<(), Error> {
    let attached = recorded(bundle)?.ok_or_else(|| Error::NoCniNetwork { id: id.to_owned() })?;
    cni::check(&attached.conf, &attachment(id, &attached), &attached.result)
        .map_err(failed("CNI CHECK"))
}

fn recorded(bundle: &Path) -> Result<Option<Attached>, Error> {
    let path = bundle.join("cni.json");
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Output {
                path,
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Output { path, source }),
    }
}

fn attachment<'a>(id: &'a str, a: &'a Attached) -> Attachment<'a> {
    Attachment {
        container_id: id,
        netns: &a.netns,
        ifname: IFNAME,
        plugin_dirs: &a.plugin_dirs,
        ports: &a.ports,
    }
}

/// DEL, the namespace released, the name gone from the hosts file (and
/// the network's directory with its last container).
fn undo(root: &Path, id: &str, a: &Attached) -> Result<(), Error> {
    let result = Some(&a.result).filter(|r| !r.is_null()); // none when killed before ADD ended
    let deleted = cni::del(&a.conf, &attachment(id, a), result).map_err(failed("CNI DEL"));
    netns::release(&a.netns).map_err(failed("release the network namespace"))?;
    let dir = hosts_dir(root, &a.conf.name);
    let mut names = Leases::lock(&dir).map_err(failed("lock the network"))?;
    names.release(id).map_err(failed("release the address"))?;
    if names.by_addr.is_empty() {
        names
            .remove(&["hosts"])
            .map_err(failed("remove the network's state"))?;
    } else {
        write_hosts(&a.hosts, &names)?;
    }
    deleted
}

fn hosts_dir(root: &Path, network: &str) -> PathBuf {
    net_dir(root, &format!("cni-{network}"))
}
