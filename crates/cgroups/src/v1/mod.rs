//! The v1 manager: one directory per mounted hierarchy, each controller
//! written in the hierarchy that holds it.

pub mod blkio;
pub mod cpu;
pub mod cpuset;
pub mod devices;
pub mod freezer;
pub mod hugetlb;
pub mod memory;
pub mod net_cls;
pub mod net_prio;
pub mod pids;
pub mod rdma;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::controller::Controller;
use crate::error::{Error, Result};
use crate::host::{Host, ProcCgroups};
use crate::path::CgroupPath;
use crate::resources::Resources;
use crate::tree::Dir;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manager {
    /// One per v1 hierarchy, named ones (name=systemd) included.
    pub dirs: Vec<Dir>,
}

impl Manager {
    /// The cgroup's place in every v1 hierarchy of `host`; touches nothing.
    pub fn new(host: &Host, own: &ProcCgroups, path: &CgroupPath) -> Result<Manager> {
        let dirs = host
            .v1
            .iter()
            .map(|h| Ok(Dir::new(h.controllers.clone(), path.dir_in(h, own)?)))
            .collect::<Result<_>>()?;
        Ok(Manager { dirs })
    }

    pub fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.has(controller))
            .map(|d| d.path.as_path())
    }

    /// Makes the directories; a new cpuset directory gets its parent's cpus
    /// and mems first. On failure, removes what it made.
    pub fn create(&mut self) -> Result<()> {
        let r = self.create_all();
        if r.is_err() {
            let _ = self.remove();
        }
        r
    }

    fn create_all(&mut self) -> Result<()> {
        for d in &mut self.dirs {
            d.create()?;
            if d.has("cpuset") {
                for made in &d.created {
                    cpuset::init(made)?;
                }
            }
        }
        Ok(())
    }

    /// Applies controller `C` if `res` asks anything of it; an absent
    /// hierarchy is an error naming the field.
    pub fn apply_one<C: Controller>(&self, res: &Resources) -> Result<()> {
        if !C::needed(res) {
            return Ok(());
        }
        let dir = self.dir(C::NAME).ok_or_else(|| Error::NoController {
            field: C::FIELD.to_owned(),
            controller: C::NAME.to_owned(),
        })?;
        C::apply(res, dir)
    }

    /// Applies every controller on a pure v1 host. cpuset goes first (a
    /// process cannot run in an empty cpuset), devices last.
    pub fn apply(&self, res: &Resources) -> Result<()> {
        self.apply_one::<cpuset::Cpuset>(res)?;
        self.apply_one::<memory::Memory>(res)?;
        self.apply_one::<cpu::Cpu>(res)?;
        self.apply_one::<pids::Pids>(res)?;
        self.apply_one::<blkio::Blkio>(res)?;
        self.apply_one::<hugetlb::Hugetlb>(res)?;
        self.apply_one::<rdma::Rdma>(res)?;
        self.apply_v1_only(res)?;
        self.apply_one::<devices::Devices>(res)?;
        if let Some(key) = res.unified.keys().next() {
            return Err(Error::Unsupported {
                field: format!("unified[{key}]"),
                version: "v1 (this host has no unified hierarchy)",
            });
        }
        Ok(())
    }

    /// Controllers only v1 has: net_cls, net_prio.
    pub fn apply_v1_only(&self, res: &Resources) -> Result<()> {
        self.apply_one::<net_cls::NetCls>(res)?;
        self.apply_one::<net_prio::NetPrio>(res)
    }

    /// Removes the directories this manager made, every hierarchy; the
    /// first error is returned after trying them all.
    pub fn remove(&mut self) -> Result<()> {
        let mut first = None;
        for d in &mut self.dirs {
            if let Err(e) = d.remove() {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}
