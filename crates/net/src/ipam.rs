//! Addresses of a bridge network, handed out from its subnet and recorded
//! in `DIR/leases.json`, under an exclusive lock on `DIR/lock` held by
//! [`Leases::lock`] for as long as the caller sets the network up, so
//! concurrent runs never hand out one address twice, and a removed
//! container's address returns to the pool.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::net::Ipv4Addr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::FlockOperation;
use serde::{Deserialize, Serialize};

use crate::cidr::Cidr;
use crate::firewall::PortMap;
use crate::Error;

/// Who holds an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The container id.
    pub owner: String,
    /// The name others reach it by (its hosts entry).
    pub name: String,
    /// The host ports published to it (`-p`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortMap>,
}

/// The leases of one network, locked while this value lives.
#[derive(Debug)]
pub struct Leases {
    path: PathBuf,
    /// Held for the lock (released when closed).
    _lock: File,
    pub by_addr: BTreeMap<Ipv4Addr, Lease>,
}

impl Leases {
    /// Takes the network's lock (waiting for another holder) and reads its
    /// leases; `dir` is made when missing.
    pub fn lock(dir: &Path) -> Result<Leases, Error> {
        fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        let lock_path = dir.join("lock");
        // The last holder removes the directory ([`Leases::remove`]): a
        // lock taken on a file that is no longer at its path is retried.
        let lock = loop {
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(&lock_path)
                .map_err(|e| Error::io("open", &lock_path, e))?;
            rustix::fs::flock(&lock, FlockOperation::LockExclusive)
                .map_err(|e| Error::io("lock", &lock_path, e.into()))?;
            let held =
                rustix::fs::fstat(&lock).map_err(|e| Error::io("stat", &lock_path, e.into()))?;
            match rustix::fs::stat(&lock_path) {
                Ok(now) if (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino) => break lock,
                _ => fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?,
            }
        };
        let path = dir.join("leases.json");
        let by_addr = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::io(
                    "parse",
                    &path,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        Ok(Leases {
            path,
            _lock: lock,
            by_addr,
        })
    }

    /// The lowest free host address of `subnet` (the first, the gateway's,
    /// and the broadcast address excluded), recorded for `lease`.
    pub fn allocate(&mut self, subnet: Cidr, lease: Lease) -> Result<Ipv4Addr, Error> {
        let (first, last) = host_range(subnet)?;
        // .1 (the first host) is the gateway's
        let free = (first + 1..=last)
            .map(Ipv4Addr::from)
            .find(|a| !self.by_addr.contains_key(a))
            .ok_or_else(|| Error::SubnetExhausted {
                subnet: subnet.to_string(),
                leases: self.by_addr.len(),
            })?;
        self.by_addr.insert(free, lease);
        self.save()?;
        Ok(free)
    }

    /// Records `addr` for `lease`: an address given by someone else (a CNI
    /// plugin's IPAM), kept so that names resolve.
    pub fn record(&mut self, addr: Ipv4Addr, lease: Lease) -> Result<(), Error> {
        self.by_addr.insert(addr, lease);
        self.save()
    }

    /// Every published port, with the address it goes to.
    pub fn ports(&self) -> Vec<(Ipv4Addr, PortMap)> {
        self.by_addr
            .iter()
            .flat_map(|(a, l)| l.ports.iter().map(|p| (*a, *p)))
            .collect()
    }

    /// Gives back every address `owner` holds; true when any was held.
    pub fn release(&mut self, owner: &str) -> Result<bool, Error> {
        let before = self.by_addr.len();
        self.by_addr.retain(|_, l| l.owner != owner);
        if self.by_addr.len() == before {
            return Ok(false);
        }
        self.save()?;
        Ok(true)
    }

    /// With no lease left: removes the network's directory (`extra` files
    /// of the caller's in it first), the lock last. Other takers of the
    /// lock notice and make it again.
    pub fn remove(self, extra: &[&str]) -> Result<(), Error> {
        let dir = self.path.parent().expect("in a directory").to_path_buf();
        // leases.json.tmp: a save killed between its write and its rename
        for name in extra
            .iter()
            .chain(&["leases.json", "leases.json.tmp", "lock"])
        {
            let p = dir.join(name);
            match fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("remove", &p, e))
                }
                _ => {}
            }
        }
        let _ = fs::remove_dir(&dir); // others may be making it again
        if let Some(parent) = dir.parent() {
            let _ = fs::remove_dir(parent);
        }
        Ok(())
    }

    fn save(&self) -> Result<(), Error> {
        let text = serde_json::to_vec_pretty(&self.by_addr).expect("leases serialize");
        let tmp = self.path.with_extension("json.tmp");
        fs::write(&tmp, &text).map_err(|e| Error::io("write", &tmp, e))?;
        fs::rename(&tmp, &self.path).map_err(|e| Error::io("rename", &self.path, e))
    }
}

/// The gateway of `subnet`: its first host address.
pub fn gateway(subnet: Cidr) -> Result<Ipv4Addr, Error> {
    Ok(Ipv4Addr::from(host_range(subnet)?.0))
}

/// The first and last host addresses of an IPv4 subnet with room for a
/// gateway and at least one container.
fn host_range(subnet: Cidr) -> Result<(u32, u32), Error> {
    let std::net::IpAddr::V4(net) = subnet.network() else {
        return Err(Error::BadSubnet {
            subnet: subnet.to_string(),
            why: "an IPv4 subnet is needed",
        });
    };
    if subnet.prefix > 30 {
        return Err(Error::BadSubnet {
            subnet: subnet.to_string(),
            why: "a /30 or larger is needed (a gateway and a container)",
        });
    }
    let net = u32::from(net);
    let size = 1u32 << (32 - subnet.prefix);
    Ok((net + 1, net + size - 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(n: &str) -> Lease {
        Lease {
            owner: n.into(),
            name: n.into(),
            ports: Vec::new(),
        }
    }

    #[test]
    fn hands_out_the_lowest_free_address_and_takes_it_back() {
        let t = nsbox_testutil::TempDir::new("net-ipam");
        let subnet: Cidr = "10.99.0.0/29".parse().unwrap();
        assert_eq!(gateway(subnet).unwrap(), Ipv4Addr::new(10, 99, 0, 1));
        let mut l = Leases::lock(t.path()).unwrap();
        let a = l.allocate(subnet, lease("a")).unwrap();
        let b = l.allocate(subnet, lease("b")).unwrap();
        assert_eq!(
            (a, b),
            (Ipv4Addr::new(10, 99, 0, 2), Ipv4Addr::new(10, 99, 0, 3))
        );
        assert!(l.release("a").unwrap());
        assert!(!l.release("a").unwrap());
        drop(l);
        // read back from the file, under the lock again
        let mut l = Leases::lock(t.path()).unwrap();
        assert_eq!(l.by_addr.len(), 1);
        assert_eq!(l.allocate(subnet, lease("c")).unwrap(), a);
        // .4 .5 .6 left, then the /29 is full: .2-.6, five (.7 is the broadcast)
        for n in ["d", "e", "f"] {
            l.allocate(subnet, lease(n)).unwrap();
        }
        let e = l.allocate(subnet, lease("g")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "subnet 10.99.0.0/29 has no free address (5 in use)"
        );
    }

    #[test]
    fn a_subnet_too_small_or_not_v4_is_refused() {
        for (s, why) in [
            ("10.0.0.0/31", "a /30 or larger"),
            ("fd00::/64", "an IPv4 subnet"),
        ] {
            let e = gateway(s.parse().unwrap()).unwrap_err();
            assert!(e.to_string().contains(why), "{e}");
        }
    }

    #[test]
    fn remove_takes_a_save_cut_short_too() {
        let t = nsbox_testutil::TempDir::new("net-ipam-rm");
        let dir = t.join("net");
        let l = Leases::lock(&dir).unwrap();
        // as a run killed between a save's write and its rename leaves it
        fs::write(dir.join("leases.json.tmp"), "{}").unwrap();
        fs::write(dir.join("hosts"), "").unwrap();
        l.remove(&["hosts"]).unwrap();
        assert!(!dir.exists(), "{:?}", fs::read_dir(&dir).map(|d| d.count()));
    }
}
