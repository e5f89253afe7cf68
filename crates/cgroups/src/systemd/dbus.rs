//! The calls the driver makes on systemd's manager over D-Bus (`zbus`,
//! blocking): start a transient unit, change its properties, stop it, and
//! for the first and last wait until systemd says the job is done (its
//! `JobRemoved` signal), as runc does, so that the cgroup exists (or is
//! gone) when the call returns.
//!
//! zbus runs its socket on threads of its own: connect only after the
//! container's clone (the create path needs a single-threaded process
//! until then).

use std::sync::mpsc;
use std::time::Duration;

use zbus::blocking::{Connection, Proxy};
use zbus::zvariant::{OwnedObjectPath, Value};

use super::properties::Prop;
use super::Bus;
use crate::error::{Error, Result};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// How long a start or stop job may take (runc waits as long).
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to one systemd manager.
pub struct Manager {
    conn: Connection,
    bus: Bus,
}

impl Manager {
    pub fn connect(bus: Bus) -> Result<Manager> {
        let conn = match bus {
            Bus::System => Connection::system(),
            Bus::User => Connection::session(),
        }
        .map_err(|source| Error::SystemdConnect {
            bus: bus.name(),
            source: Box::new(source),
        })?;
        Ok(Manager { conn, bus })
    }

    fn proxy(&self, method: &'static str, unit: &str) -> Result<Proxy<'_>> {
        Proxy::new(&self.conn, DEST, PATH, MANAGER)
            .map_err(|source| self.call_err(method, unit, source))
    }

    fn call_err(&self, method: &'static str, unit: &str, source: zbus::Error) -> Error {
        Error::SystemdCall {
            method,
            unit: unit.to_owned(),
            bus: self.bus.name(),
            source: Box::new(source),
        }
    }

    /// StartTransientUnit with mode `replace`, then waits for its job. A
    /// unit of that name left failed by an earlier run is reset and the
    /// start tried once more (runc's answer to UnitExists).
    pub fn start_transient(&self, unit: &str, props: &[(&'static str, Prop)]) -> Result<()> {
        let body: Vec<(&str, Value<'_>)> = props.iter().map(|(k, v)| (*k, value(v))).collect();
        let aux: Vec<(&str, Vec<(&str, Value<'_>)>)> = Vec::new();
        let start = || {
            self.call_and_wait("StartTransientUnit", unit, |p| {
                p.call("StartTransientUnit", &(unit, "replace", &body, &aux))
            })
        };
        match start() {
            Err(Error::SystemdCall { source, .. }) if is_error(&source, "UnitExists") => {
                self.reset_failed(unit)?;
                start()
            }
            r => r,
        }
    }

    /// SetUnitProperties (runtime only: nothing written to /etc).
    pub fn set_properties(&self, unit: &str, props: &[(&'static str, Prop)]) -> Result<()> {
        if props.is_empty() {
            return Ok(());
        }
        let body: Vec<(&str, Value<'_>)> = props.iter().map(|(k, v)| (*k, value(v))).collect();
        self.proxy("SetUnitProperties", unit)?
            .call::<_, _, ()>("SetUnitProperties", &(unit, true, &body))
            .map_err(|source| self.call_err("SetUnitProperties", unit, source))
    }

    /// StopUnit, then waits for its job; a unit systemd no longer knows
    /// (a scope stops by itself when its last process is gone) is stopped
    /// already. A failed unit is reset so that nothing of it is left.
    pub fn stop(&self, unit: &str) -> Result<()> {
        let r = self.call_and_wait("StopUnit", unit, |p| p.call("StopUnit", &(unit, "replace")));
        match r {
            Err(Error::SystemdCall { source, .. }) if is_error(&source, "NoSuchUnit") => Ok(()),
            Err(e) => Err(e),
            Ok(()) => {
                // only a failed unit stays loaded; NoSuchUnit or "not
                // failed" answers are what a clean stop gives
                let _ = self.reset_failed(unit);
                Ok(())
            }
        }
    }

    fn reset_failed(&self, unit: &str) -> Result<()> {
        self.proxy("ResetFailedUnit", unit)?
            .call::<_, _, ()>("ResetFailedUnit", &(unit,))
            .map_err(|source| self.call_err("ResetFailedUnit", unit, source))
    }

    /// The unit's cgroup as systemd reports it (`ControlGroup`), relative
    /// to the root of the cgroup tree.
    pub fn control_group(&self, unit: &str) -> Result<String> {
        let p = self.proxy("GetUnit", unit)?;
        let path: OwnedObjectPath = p
            .call("GetUnit", &(unit,))
            .map_err(|source| self.call_err("GetUnit", unit, source))?;
        let iface = if unit.ends_with(".slice") {
            "org.freedesktop.systemd1.Slice"
        } else {
            "org.freedesktop.systemd1.Scope"
        };
        Proxy::new(&self.conn, DEST, path, iface)
            .and_then(|u| u.get_property::<String>("ControlGroup"))
            .map_err(|source| self.call_err("Get ControlGroup", unit, source))
    }

    /// Subscribes to the manager's signals, makes the call (which returns
    /// a job), and waits for that job's JobRemoved: its result must be
    /// `done`.
    fn call_and_wait(
        &self,
        method: &'static str,
        unit: &str,
        call: impl FnOnce(&Proxy<'_>) -> zbus::Result<OwnedObjectPath>,
    ) -> Result<()> {
        let p = self.proxy(method, unit)?;
        // systemd sends its job signals once some client has subscribed
        p.call::<_, _, ()>("Subscribe", &())
            .map_err(|source| self.call_err("Subscribe", unit, source))?;
        // listening before the call: the job may end before it returns
        let signals = p
            .receive_signal("JobRemoved")
            .map_err(|source| self.call_err(method, unit, source))?;
        let job = call(&p).map_err(|source| self.call_err(method, unit, source))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for msg in signals {
                let Ok((_, path, _, result)) = msg
                    .body()
                    .deserialize::<(u32, OwnedObjectPath, String, String)>()
                else {
                    continue;
                };
                if path == job {
                    let _ = tx.send(result);
                    return;
                }
            }
        });
        match rx.recv_timeout(JOB_TIMEOUT) {
            Ok(result) if result == "done" => Ok(()),
            Ok(result) => Err(Error::SystemdJob {
                method,
                unit: unit.to_owned(),
                result,
            }),
            Err(_) => Err(Error::SystemdTimeout {
                method,
                unit: unit.to_owned(),
                secs: JOB_TIMEOUT.as_secs(),
            }),
        }
    }
}

/// True when `e` is systemd's error `org.freedesktop.systemd1.<name>`.
fn is_error(e: &zbus::Error, name: &str) -> bool {
    match e {
        zbus::Error::MethodError(n, _, _) => {
            n.as_str() == format!("org.freedesktop.systemd1.{name}")
        }
        _ => false,
    }
}

fn value(p: &Prop) -> Value<'_> {
    match p {
        Prop::Bool(b) => Value::from(*b),
        Prop::U64(v) => Value::from(*v),
        Prop::Str(s) => Value::from(s.as_str()),
        Prop::Bytes(b) => Value::from(b.clone()),
        Prop::Pids(p) => Value::from(p.clone()),
        Prop::Devices(d) => Value::from(d.clone()),
    }
}
