//! The systemd cgroup driver: on a host booted with systemd, a container's
//! cgroup is a transient unit that systemd makes and owns, as runc's and
//! crun's `--systemd-cgroup` do. A [`Scope`] is planned from the config's
//! `slice:prefix:name` path (touching nothing), started with the
//! container's init as its first process (systemd has no empty scopes:
//! `StartTransientUnit` with `PIDs`, `Delegate=yes`, the limits it has
//! properties for; see [`properties`]), and from then on handled like a
//! cgroupfs cgroup at the directories systemd made: every limit is also
//! written to the files, and freeze, kill, stats and OOM events read and
//! write the files. Stopping the unit removes its cgroup; the directories
//! the driver made itself (v1 hierarchies systemd leaves alone, such as
//! cpuset or freezer) are removed as cgroupfs removes them.
//!
//! The system manager serves root; an unprivileged caller gets its own
//! user manager on the session bus (its slices beneath
//! `user@UID.service`).

pub mod dbus;
pub mod properties;
pub mod unit_name;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manager::Cgroup;
use crate::path::CgroupPath;
use crate::resources::Resources;
use properties::Prop;
pub use unit_name::UnitPath;

/// Where systemd keeps the sign that it runs as the init (sd_booted(3)).
const BOOTED: &str = "/run/systemd/system";

/// /proc/devices (empty if unreadable: whole-major device rules then get
/// no property, and the files alone hold them).
fn proc_devices() -> String {
    std::fs::read_to_string("/proc/devices").unwrap_or_default()
}

/// Which systemd manager holds the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bus {
    /// The system manager (PID 1), for root.
    System,
    /// The caller's user manager, on the session bus.
    User,
}

impl Bus {
    pub fn name(self) -> &'static str {
        match self {
            Bus::System => "system",
            Bus::User => "user",
        }
    }
}

/// A container's transient unit and its cgroup directories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub path: UnitPath,
    pub bus: Bus,
    /// The unit's cgroup in every hierarchy, handled as cgroupfs handles it.
    pub fs: Box<Cgroup>,
    /// Set once systemd has the unit.
    pub started: bool,
}

impl Scope {
    /// Plans the unit for container `id` from its cgroups path (`None`:
    /// runc's default, `nsbox-<id>.scope` in the manager's default slice);
    /// touches nothing but /proc. Fails in one line when systemd does not
    /// run this host.
    pub fn plan(path: Option<&str>, id: &str, bus: Bus) -> Result<Scope> {
        if !Path::new(BOOTED).exists() {
            return Err(Error::NoSystemd {
                path: path.unwrap_or_default().to_owned(),
            });
        }
        let (default_slice, base) = match bus {
            Bus::System => ("system.slice", String::new()),
            Bus::User => {
                let uid = rustix::process::geteuid().as_raw();
                (
                    "user.slice",
                    format!("user.slice/user-{uid}.slice/user@{uid}.service/"),
                )
            }
        };
        let unit = UnitPath::parse(path, default_slice, id)?;
        let cg = format!("/{base}{}", unit.cgroup());
        let fs = Cgroup::for_caller(&CgroupPath::parse(Some(&cg), id)?)?;
        Ok(Scope {
            path: unit,
            bus,
            fs: Box::new(fs),
            started: false,
        })
    }

    pub fn unit(&self) -> &str {
        &self.path.unit
    }

    /// True when the unit's controllers are cgroup v2 ones.
    fn unified(&self) -> bool {
        matches!(*self.fs, Cgroup::V2(_))
    }

    /// Starts the unit with `pid` inside (none for a slice) and the limits
    /// of `res`, waits for systemd to finish, then makes what systemd
    /// did not (v1 hierarchies it leaves alone), puts `pid` there too and
    /// writes every limit to the files. On failure nothing is left: the
    /// unit is stopped, the directories made removed.
    pub fn start(&mut self, pid: Option<u32>, res: &Resources, description: &str) -> Result<()> {
        let mgr = dbus::Manager::connect(self.bus)?;
        let mut props = properties::base(description, self.unified());
        props.push(("Slice", Prop::Str(self.path.slice.clone())));
        if let Some(pid) = pid.filter(|_| !self.path.is_slice()) {
            props.push(("PIDs", Prop::Pids(vec![pid])));
        }
        props.extend(properties::limits(res, self.unified(), &proc_devices()));
        mgr.start_transient(self.unit(), &props)?;
        self.started = true;
        let r = self.finish_start(&mgr, pid, res);
        if r.is_err() {
            let _ = self.stop_with(&mgr);
        }
        r
    }

    fn finish_start(
        &mut self,
        mgr: &dbus::Manager,
        pid: Option<u32>,
        res: &Resources,
    ) -> Result<()> {
        // the planned directories unless systemd says otherwise (a user
        // manager elsewhere than its usual place)
        let cg = mgr.control_group(self.unit())?;
        if !cg.is_empty()
            && !self
                .fs
                .dirs()
                .iter()
                .any(|d| d.ends_with(cg.trim_start_matches('/')))
        {
            *self.fs = Cgroup::for_caller(&CgroupPath::parse(Some(&cg), self.unit())?)?;
        }
        self.fs.create(res)?;
        if let Some(pid) = pid {
            self.fs.add_pid(pid)?;
        }
        self.fs.apply(res)
    }

    /// For a unit recorded before its start by a creator that was killed:
    /// started if its cgroup exists, so that `remove` stops it.
    pub fn adopt(&mut self) {
        self.started = self.fs.dirs().iter().any(|d| d.is_dir());
    }

    /// `update`: the properties systemd has, then every file.
    pub fn set(&mut self, res: &Resources) -> Result<()> {
        let mgr = dbus::Manager::connect(self.bus)?;
        let props = properties::limits(res, self.unified(), &proc_devices());
        mgr.set_properties(self.unit(), &props)?;
        self.fs.apply(res)
    }

    /// Stops the unit (systemd removes its cgroup) and removes the
    /// directories the driver made; the processes must be gone.
    pub fn stop(&mut self) -> Result<()> {
        if self.started {
            let mgr = dbus::Manager::connect(self.bus)?;
            self.stop_with(&mgr)?;
        }
        self.fs.remove()
    }

    fn stop_with(&mut self, mgr: &dbus::Manager) -> Result<()> {
        mgr.stop(self.unit())?;
        self.started = false;
        Ok(())
    }
}
