//! The systemd cgroup driver: on a host booted with systemd, a container's
//! cgroup is a transient unit that systemd makes and owns, as runc's and
//! crun's `--systemd-cgroup` do. A [`Unit`] is planned from the config's
//! `slice:prefix:name` path (touching nothing), started with the
//! container's init as its first process (systemd has no empty scopes:
//! `StartTransientUnit` with `PIDs`, `Delegate=yes`, the limits it has
//! properties for; see [`properties`]), and stopped (systemd removes its
//! cgroup). The handle, `Cgroup::Systemd`, pairs it with a cgroupfs handle
//! of the unit's directories (`manager`): every limit is also written to
//! the files, freeze, kill, stats and OOM events use them, and the
//! directories the driver made itself (v1 hierarchies systemd leaves
//! alone, such as cpuset or freezer) are removed as cgroupfs removes them.
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

/// A container's transient unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub path: UnitPath,
    pub bus: Bus,
    /// Set once systemd has the unit.
    pub started: bool,
}

impl Unit {
    /// Plans the unit for container `id` from its cgroups path (`None`:
    /// runc's default, `nsbox-<id>.scope` in the manager's default slice);
    /// touches nothing. Fails in one line when systemd does not run this
    /// host.
    pub fn plan(path: Option<&str>, id: &str, bus: Bus) -> Result<Unit> {
        if !Path::new(BOOTED).exists() {
            return Err(Error::NoSystemd {
                path: path.unwrap_or_default().to_owned(),
            });
        }
        let default_slice = match bus {
            Bus::System => "system.slice",
            Bus::User => "user.slice",
        };
        Ok(Unit {
            path: UnitPath::parse(path, default_slice, id)?,
            bus,
            started: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.path.unit
    }

    /// Where the unit's cgroup will be, from the root of the tree: the
    /// system manager's units at the top, a user manager's beneath
    /// `user@UID.service` (where systemd puts it; `ControlGroup` says
    /// for sure once started).
    pub fn planned_cgroup(&self) -> String {
        match self.bus {
            Bus::System => format!("/{}", self.path.cgroup()),
            Bus::User => {
                let uid = rustix::process::geteuid().as_raw();
                format!(
                    "/user.slice/user-{uid}.slice/user@{uid}.service/{}",
                    self.path.cgroup()
                )
            }
        }
    }

    /// Starts the unit with `pid` inside (none for a slice) and the limits
    /// of `res` (`unified`: the unit's controllers are cgroup v2 ones),
    /// waits for systemd to finish, and returns its cgroup as systemd
    /// reports it.
    pub fn start(
        &mut self,
        pid: u32,
        res: &Resources,
        description: &str,
        unified: bool,
    ) -> Result<String> {
        let mgr = dbus::Manager::connect(self.bus)?;
        let mut props = properties::base(description, unified);
        props.push(("Slice", Prop::Str(self.path.slice.clone())));
        if !self.path.is_slice() {
            props.push(("PIDs", Prop::Pids(vec![pid])));
        }
        props.extend(properties::limits(res, unified, &proc_devices()));
        mgr.start_transient(self.name(), &props)?;
        self.started = true;
        mgr.control_group(self.name())
    }

    /// For a unit recorded before its start by a creator that was killed:
    /// started when its cgroup `exists`, so that `stop` stops it.
    pub fn adopt(&mut self, exists: bool) {
        self.started = exists;
    }

    /// `update`: the properties systemd has for `res`.
    pub fn set(&self, res: &Resources, unified: bool) -> Result<()> {
        let props = properties::limits(res, unified, &proc_devices());
        if props.is_empty() {
            return Ok(());
        }
        dbus::Manager::connect(self.bus)?.set_properties(self.name(), &props)
    }

    /// Stops the unit (systemd removes its cgroup); the processes must be
    /// gone. Nothing to do for a unit never started.
    pub fn stop(&mut self) -> Result<()> {
        if self.started {
            dbus::Manager::connect(self.bus)?.stop(self.name())?;
            self.started = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::Cgroup;
    use crate::v2;

    /// The handle survives a trip through JSON (the runtime's state), and
    /// says which unit it is; a unit never started stops as a no-op.
    #[test]
    fn the_handle_round_trips_and_an_unstarted_unit_stops_quietly() {
        let unit = Unit {
            path: UnitPath::parse(Some("machine.slice:libpod:abc"), "system.slice", "x").unwrap(),
            bus: Bus::System,
            started: false,
        };
        assert_eq!(unit.planned_cgroup(), "/machine.slice/libpod-abc.scope");
        let mut cg = Cgroup::Systemd {
            unit,
            fs: Box::new(Cgroup::V2(v2::Manager::at(
                "/nonexistent/machine.slice/libpod-abc.scope".into(),
            ))),
        };
        let json = serde_json::to_string(&cg).unwrap();
        let back: Cgroup = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cg);
        assert_eq!(cg.unit_name(), Some("libpod-abc.scope"));
        assert_eq!(cg.procs().unwrap(), Vec::<u32>::new());
        cg.remove().unwrap();
    }
}
