//! The v2 manager: one directory in the unified hierarchy. Controllers must
//! be enabled in the parent's cgroup.subtree_control before the child can use
//! them; `create` enables those the resources need, along the chain it made.

pub mod bpf;
pub mod cpu;
pub mod cpuset;
pub mod devices;
pub mod freezer;
pub mod hugetlb;
pub mod io;
pub mod memory;
pub mod pids;
pub mod rdma;
pub mod unified;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use serde::{Deserialize, Serialize};

use crate::controller::Controller;
use crate::error::{Error, Result};
use crate::fs::{read, write_raw};
use crate::host::{Host, ProcCgroups};
use crate::path::CgroupPath;
use crate::resources::Resources;
use crate::tree::Dir;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manager {
    pub dir: Dir,
}

/// The v2 controllers `res` asks for (unified keys included).
pub fn needed_controllers(res: &Resources) -> Vec<String> {
    let mut out: Vec<String> = [
        (cpuset::Cpuset::needed(res), cpuset::Cpuset::NAME),
        (memory::Memory::needed(res), memory::Memory::NAME),
        (cpu::Cpu::needed(res), cpu::Cpu::NAME),
        (pids::Pids::needed(res), pids::Pids::NAME),
        (io::Io::needed(res), io::Io::NAME),
        (hugetlb::Hugetlb::needed(res), hugetlb::Hugetlb::NAME),
        (rdma::Rdma::needed(res), rdma::Rdma::NAME),
    ]
    .into_iter()
    .filter(|(n, _)| *n)
    .map(|(_, c)| c.to_owned())
    .collect();
    for key in res.unified.keys() {
        if let Some(c) = unified::controller_of(key) {
            if !out.iter().any(|o| o == c) {
                out.push(c.to_owned());
            }
        }
    }
    out
}

impl Manager {
    /// The cgroup's place in the unified hierarchy; touches nothing.
    pub fn new(host: &Host, own: &ProcCgroups, path: &CgroupPath) -> Result<Manager> {
        let h = host.unified.as_ref().ok_or(Error::NoUnified {
            operation: "a cgroup v2 manager",
        })?;
        Ok(Manager {
            dir: Dir::new(Vec::new(), path.dir_in(h, own)?),
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir.path
    }

    /// Makes the directories and enables `controllers` from the first
    /// existing ancestor down to the cgroup's parent. On failure, removes
    /// what it made.
    pub fn create(&mut self, controllers: &[String]) -> Result<()> {
        let r = self.create_all(controllers);
        if r.is_err() {
            let _ = self.dir.remove();
        }
        r
    }

    fn create_all(&mut self, controllers: &[String]) -> Result<()> {
        if controllers.is_empty() {
            return self.dir.create();
        }
        // Make the directories, then enable top-down, from the first
        // existing ancestor to the cgroup's parent: each level's
        // subtree_control offers the controllers to the next. A controller
        // enabled in the existing ancestor stays enabled on failure (others
        // may already rely on it); our own directories are removed.
        let mut chain: Vec<PathBuf> = Vec::new();
        let mut p = self.dir.path.parent();
        while let Some(d) = p {
            chain.push(d.to_owned());
            if d.exists() {
                break;
            }
            p = d.parent();
        }
        self.dir.create()?;
        for parent in chain.iter().rev() {
            enable(parent, controllers)?;
        }
        Ok(())
    }

    /// cgroup.controllers of this cgroup: what its parent enabled for it.
    pub fn available(&self) -> Result<Vec<String>> {
        let text = read(&self.dir.path.join("cgroup.controllers"))?;
        Ok(text.split_whitespace().map(str::to_owned).collect())
    }

    /// Applies controller `C` if `res` asks anything of it; a controller not
    /// enabled for this cgroup is an error naming the field.
    pub fn apply_one<C: Controller>(&self, res: &Resources, available: &[String]) -> Result<()> {
        if !C::needed(res) {
            return Ok(());
        }
        if !available.iter().any(|a| a == C::NAME) {
            return Err(Error::NotEnabled {
                field: C::FIELD.to_owned(),
                controller: C::NAME.to_owned(),
                path: self.dir.path.join("cgroup.controllers"),
            });
        }
        C::apply(res, &self.dir.path)
    }

    /// Applies everything on a pure v2 host.
    pub fn apply(&self, res: &Resources) -> Result<()> {
        if res
            .network
            .as_ref()
            .is_some_and(|n| n.class_id.is_some() || !n.priorities.is_empty())
        {
            return Err(Error::Unsupported {
                field: "network".to_owned(),
                version: "v2 (net_cls/net_prio exist only in v1)",
            });
        }
        let avail = if needed_controllers(res).is_empty() {
            Vec::new()
        } else {
            self.available()?
        };
        self.apply_one::<cpuset::Cpuset>(res, &avail)?;
        self.apply_one::<memory::Memory>(res, &avail)?;
        self.apply_one::<cpu::Cpu>(res, &avail)?;
        self.apply_one::<pids::Pids>(res, &avail)?;
        self.apply_one::<io::Io>(res, &avail)?;
        self.apply_one::<hugetlb::Hugetlb>(res, &avail)?;
        self.apply_one::<rdma::Rdma>(res, &avail)?;
        devices::apply(res, &self.dir.path)?;
        unified::apply(res, &self.dir.path)
    }

    /// An `O_PATH | O_DIRECTORY` descriptor of the cgroup, for
    /// `clone3(CLONE_INTO_CGROUP)`.
    pub fn open_fd(&self) -> Result<OwnedFd> {
        rustix::fs::open(
            &self.dir.path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::Open {
            path: self.dir.path.clone(),
            source: e.into(),
        })
    }

    pub fn remove(&mut self) -> Result<()> {
        self.dir.remove()
    }
}

/// Enables `controllers` in `dir`'s cgroup.subtree_control, writing only
/// those not yet enabled and offered by `dir`'s cgroup.controllers (the
/// others are reported when applied, naming the field).
fn enable(dir: &Path, controllers: &[String]) -> Result<()> {
    let offered = read(&dir.join("cgroup.controllers"))?;
    let enabled = read(&dir.join("cgroup.subtree_control"))?;
    let has = |text: &str, c: &str| text.split_whitespace().any(|w| w == c);
    for c in controllers {
        if has(&enabled, c) || !has(&offered, c) {
            continue;
        }
        let path = dir.join("cgroup.subtree_control");
        write_raw(&path, &format!("+{c}")).map_err(|source| Error::EnableController {
            controller: c.clone(),
            path,
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{Cpu, Pids};
    use std::fs;

    const MI: &str = "27 24 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";

    #[test]
    fn needed_includes_unified_keys() {
        let mut r = Resources {
            pids: Some(Pids { limit: 3 }),
            cpu: Some(Cpu {
                cpus: Some("0".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        r.unified.insert("memory.high".into(), "1".into());
        r.unified.insert("cgroup.max.depth".into(), "1".into());
        assert_eq!(needed_controllers(&r), ["cpuset", "pids", "memory"]);
    }

    #[test]
    fn create_enables_along_the_chain() {
        let t = nsbox_testutil::TempDir::new("cg-v2-mgr");
        // a fake unified root: the tempdir plays /sys/fs/cgroup
        let mi = MI.replace("/sys/fs/cgroup", t.path().to_str().unwrap());
        let host = Host::parse(&mi, Path::new("mi")).unwrap();
        let own = ProcCgroups::parse("0::/own\n", Path::new("cg")).unwrap();
        fs::create_dir(t.join("own")).unwrap();
        fs::write(t.join("own/cgroup.controllers"), "cpu memory pids\n").unwrap();
        fs::write(t.join("own/cgroup.subtree_control"), "memory\n").unwrap();
        let path = CgroupPath::parse(Some("a/b"), "x").unwrap();
        let mut m = Manager::new(&host, &own, &path).unwrap();
        assert_eq!(m.path(), t.join("own/a/b"));
        // tempdir directories have no control files: the enable step on the
        // new "a" fails to read them, and create removes what it made.
        let e = m.create(&["pids".into(), "memory".into()]).unwrap_err();
        assert!(e.to_string().contains("own/a/cgroup.controllers"), "{e}");
        assert_eq!(
            fs::read_to_string(t.join("own/cgroup.subtree_control")).unwrap(),
            "+pids"
        );
        assert!(!t.join("own/a").exists());
        // without controllers to enable, nothing is written
        m.create(&[]).unwrap();
        assert!(t.join("own/a/b").exists());
        m.remove().unwrap();
        assert!(!t.join("own/a").exists());
    }

    #[test]
    fn pure_v2_refuses_v1_only_fields() {
        let t = nsbox_testutil::TempDir::new("cg-v2-refuse");
        let m = Manager {
            dir: Dir::new(vec![], t.path().to_owned()),
        };
        let r = Resources {
            network: Some(crate::resources::Network {
                class_id: Some(1),
                priorities: vec![],
            }),
            ..Default::default()
        };
        let e = m.apply(&r).unwrap_err();
        assert_eq!(
            e.to_string(),
            "network: not supported by cgroup v2 (net_cls/net_prio exist only in v1)"
        );
        let r = Resources {
            pids: Some(Pids { limit: 3 }),
            ..Default::default()
        };
        fs::write(t.join("cgroup.controllers"), "memory\n").unwrap();
        let e = m.apply(&r).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "pids: controller pids is not enabled for this cgroup (not in {}/cgroup.controllers)",
                t.path().display()
            )
        );
    }
}
