//! The v2 manager: one directory in the unified hierarchy. Controllers must
//! be enabled in the parent's cgroup.subtree_control before the child can use
//! them; `create` and `apply` enable those the resources need along the chain
//! of ancestors (see `delegate`), and `remove` takes back what only it needed.

pub mod bpf;
pub mod cpu;
pub mod cpuset;
pub mod delegate;
pub mod devices;
pub mod freezer;
pub mod hugetlb;
pub mod io;
pub mod memory;
pub mod pids;
pub mod rdma;
pub mod unified;
pub mod v1_only;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use serde::{Deserialize, Serialize};

use crate::controller::Controller;
use crate::error::{Error, Result};
use crate::fs::read;
use crate::host::{Host, ProcCgroups};
use crate::path::CgroupPath;
use crate::resources::Resources;
use crate::tree::Dir;
use delegate::Enabled;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manager {
    pub dir: Dir,
    /// Controllers this handle enabled in the subtree_control of cgroups it
    /// did not create, top-down; `remove` takes them back where no other
    /// child cgroup is left (see [`delegate::release`]).
    #[serde(default)]
    pub enabled: Vec<Enabled>,
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
    /// The cgroup's place in a hybrid host's unified hierarchy (relative
    /// paths beneath the caller's cgroup, as in the v1 ones); touches
    /// nothing. Pure v2 hosts use [`Manager::new_pure`].
    pub fn new(host: &Host, own: &ProcCgroups, path: &CgroupPath) -> Result<Manager> {
        let h = host.unified.as_ref().ok_or(Error::NoUnified {
            operation: "a cgroup v2 manager",
        })?;
        Ok(Manager::at(path.dir_in(h, own)?))
    }

    /// The cgroup of a pure v2 host: a relative path goes beneath the parent
    /// of the caller's cgroup (see [`CgroupPath::dir_in_v2`]).
    pub fn new_pure(host: &Host, own: &ProcCgroups, path: &CgroupPath) -> Result<Manager> {
        let h = host.unified.as_ref().ok_or(Error::NoUnified {
            operation: "a cgroup v2 manager",
        })?;
        Ok(Manager::at(path.dir_in_v2(h, own)?))
    }

    /// A handle for directory `dir`; touches nothing.
    pub fn at(dir: PathBuf) -> Manager {
        Manager {
            dir: Dir::new(Vec::new(), dir),
            enabled: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir.path
    }

    /// Makes the directories and enables `controllers` along the chain of
    /// ancestors (see [`delegate::enable`]). On failure nothing is left: not
    /// the directories it made, not a controller it enabled.
    pub fn create(&mut self, controllers: &[String]) -> Result<()> {
        self.dir.create()?;
        match delegate::enable(&self.dir.path, controllers) {
            Ok(done) => {
                self.keep(done);
                Ok(())
            }
            Err(e) => {
                let _ = self.dir.remove();
                Err(e)
            }
        }
    }

    /// Records what was enabled in cgroups this handle did not create (what
    /// it enabled in its own goes away with them).
    fn keep(&mut self, done: Vec<Enabled>) {
        let created = &self.dir.created;
        self.enabled
            .extend(done.into_iter().filter(|e| !created.contains(&e.dir)));
    }

    /// Enables `controllers` (those not yet available to the cgroup), runs
    /// `f` with what the cgroup then has, and keeps the enabling only if `f`
    /// succeeds: a failed apply leaves subtree_control as it found it.
    pub fn with_controllers(
        &mut self,
        controllers: &[String],
        f: impl FnOnce(&Manager, &[String]) -> Result<()>,
    ) -> Result<()> {
        let done = delegate::enable(&self.dir.path, controllers)?;
        let r = if controllers.is_empty() {
            Ok(Vec::new())
        } else {
            self.available()
        }
        .and_then(|avail| f(self, &avail));
        match r {
            Ok(()) => {
                self.keep(done);
                Ok(())
            }
            Err(e) => {
                delegate::undo(&done);
                Err(e)
            }
        }
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

    /// Applies everything on a pure v2 host, first enabling in the
    /// ancestors the controllers `res` needs that the cgroup lacks (a limit
    /// added after creation, as `update` does).
    pub fn apply(&mut self, res: &Resources) -> Result<()> {
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
        self.with_controllers(&needed_controllers(res), |m, avail| {
            m.apply_one::<cpuset::Cpuset>(res, avail)?;
            m.apply_one::<memory::Memory>(res, avail)?;
            m.apply_one::<cpu::Cpu>(res, avail)?;
            m.apply_one::<pids::Pids>(res, avail)?;
            m.apply_one::<io::Io>(res, avail)?;
            m.apply_one::<hugetlb::Hugetlb>(res, avail)?;
            m.apply_one::<rdma::Rdma>(res, avail)?;
            devices::apply(res, &m.dir.path)?;
            unified::apply(res, &m.dir.path)
        })
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

    /// Removes the directories it made, then takes back the controllers it
    /// enabled in other cgroups where no child cgroup is left.
    pub fn remove(&mut self) -> Result<()> {
        self.dir.remove()?;
        delegate::release(&mut self.enabled)
    }
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

    /// A fake unified root in a tempdir (it plays /sys/fs/cgroup) with our
    /// own cgroup `own` offering cpu, memory and pids and enabling memory.
    fn fake(t: &Path) -> (Host, ProcCgroups) {
        let mi = MI.replace("/sys/fs/cgroup", t.to_str().unwrap());
        let host = Host::parse(&mi, Path::new("mi")).unwrap();
        let own = ProcCgroups::parse("0::/own\n", Path::new("cg")).unwrap();
        fs::create_dir(t.join("own")).unwrap();
        fs::write(t.join("own/cgroup.type"), "domain\n").unwrap();
        fs::write(t.join("own/cgroup.procs"), "").unwrap();
        fs::write(t.join("own/cgroup.controllers"), "cpu memory pids\n").unwrap();
        fs::write(t.join("own/cgroup.subtree_control"), "memory\n").unwrap();
        (host, own)
    }

    #[test]
    fn failed_create_leaves_no_directory_and_no_controller() {
        let t = nsbox_testutil::TempDir::new("cg-v2-mgr");
        let (host, own) = fake(t.path());
        let path = CgroupPath::parse(Some("/own/a/b"), "x").unwrap();
        let mut m = Manager::new_pure(&host, &own, &path).unwrap();
        assert_eq!(m.path(), t.join("own/a/b"));
        // tempdir directories have no control files: planning fails on the
        // new leaf, before anything is written; create removes what it made
        let e = m.create(&["pids".into(), "memory".into()]).unwrap_err();
        assert!(e.to_string().contains("own/a/b/cgroup.controllers"), "{e}");
        assert_eq!(
            fs::read_to_string(t.join("own/cgroup.subtree_control")).unwrap(),
            "memory\n"
        );
        assert!(!t.join("own/a").exists());
        assert!(m.enabled.is_empty());
        // without controllers to enable, nothing is read or written
        m.create(&[]).unwrap();
        assert!(t.join("own/a/b").exists());
        m.remove().unwrap();
        assert!(!t.join("own/a").exists());
        assert!(t.join("own").exists());
    }

    #[test]
    fn failed_apply_takes_back_what_it_enabled() {
        let t = nsbox_testutil::TempDir::new("cg-v2-apply");
        let (_, _) = fake(t.path());
        let leaf = t.join("own/box");
        fs::create_dir(&leaf).unwrap();
        fs::write(leaf.join("cgroup.controllers"), "memory\n").unwrap();
        let mut m = Manager::at(leaf.clone());
        let r = Resources {
            pids: Some(Pids { limit: 3 }),
            ..Default::default()
        };
        // "+pids" goes to own's subtree_control, but this fake kernel does
        // not show it in the leaf: the apply fails and the enable is undone
        let e = m.apply(&r).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "pids: controller pids is not enabled for this cgroup (not in {}/cgroup.controllers)",
                leaf.display()
            )
        );
        assert_eq!(
            fs::read_to_string(t.join("own/cgroup.subtree_control")).unwrap(),
            "-pids"
        );
        assert!(m.enabled.is_empty());
        // own holding a process: refused before any write
        fs::write(t.join("own/cgroup.subtree_control"), "memory\n").unwrap();
        fs::write(t.join("own/cgroup.procs"), "1\n2\n").unwrap();
        let e = m.apply(&r).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "cannot enable controller pids in {}/own: it holds 2 process(es)",
                t.path().display()
            )),
            "{e}"
        );
        assert_eq!(
            fs::read_to_string(t.join("own/cgroup.subtree_control")).unwrap(),
            "memory\n"
        );
    }

    #[test]
    fn pure_v2_refuses_v1_only_fields() {
        let t = nsbox_testutil::TempDir::new("cg-v2-refuse");
        let mut m = Manager::at(t.path().to_owned());
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
