//! Named containers (`nsbox run --name NAME`): the name is the container's
//! id in the runtime's state, and its bundle is `ROOT/.bundles/NAME`, made
//! exclusively (so two runs cannot take one name). What the other verbs
//! do with a name: find its init (`--net container:NAME`, `enter -t
//! NAME`, `ns diff`), `stop` it (TERM, then KILL after a grace period, as
//! `docker stop`), `remove` it (state and bundle; `-f` kills it first).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nsbox_runtime::kill::parse_signal;

use crate::bundle_dir::BundleDir;
use crate::Error;

/// A name nsbox can use as an id (the runtime's rules: letters, digits,
/// `_ + - .`, not starting with `.`; what runc accepts).
pub fn check_name(name: &str) -> Result<(), Error> {
    nsbox_runtime::state::validate_id(name).map_err(|e| Error::BadName {
        name: name.to_owned(),
        why: match e {
            nsbox_runtime::Error::BadId { why, .. } => why,
            _ => "not a valid container id",
        },
    })
}

/// The pid of the running container NAME's init.
pub fn pid_of(root: &Path, name: &str) -> Result<u32, Error> {
    let report = state_of(root, name)?;
    match report.oci.pid() {
        Some(pid) if report.status_word() != "stopped" && *pid > 0 => Ok(*pid as u32),
        _ => Err(Error::NotRunning {
            name: name.to_owned(),
        }),
    }
}

/// The network namespace file of the running container NAME.
pub fn net_of(root: &Path, name: &str) -> Result<PathBuf, Error> {
    Ok(nsbox_ns::proc_ns_path(
        pid_of(root, name)?,
        nsbox_ns::NsKind::Net,
    ))
}

/// How a [`stop`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It was not running.
    Already,
    /// It ended on SIGTERM within the grace period.
    OnTerm,
    /// It was killed when the grace period ran out.
    Killed,
}

/// `docker stop`: SIGTERM to the container's init, SIGKILL to all of its
/// processes after `grace`; waits until it has stopped. It stays (stopped)
/// until [`remove`].
pub fn stop(root: &Path, name: &str, grace: Duration) -> Result<Stopped, Error> {
    if pid_of(root, name).is_err() {
        state_of(root, name)?; // no such container: say so
        return Ok(Stopped::Already);
    }
    let kill = |sig: &str, all: bool| {
        let sig = parse_signal(sig).expect("a known signal");
        match nsbox_runtime::kill::kill(root, name, sig, all) {
            Ok(()) => Ok(()),
            // it ended in between: nothing left to signal
            Err(nsbox_runtime::Error::WrongStatus { .. }) => Ok(()),
            Err(e) => Err(container(name, e)),
        }
    };
    kill("TERM", false)?;
    if wait_stopped(root, name, grace)? {
        return Ok(Stopped::OnTerm);
    }
    kill("KILL", true)?;
    if wait_stopped(root, name, Duration::from_secs(10))? {
        return Ok(Stopped::Killed);
    }
    Err(Error::WontStop {
        name: name.to_owned(),
    })
}

/// `docker rm [-f]`: the container's state and bundle. A container still
/// running is refused unless `force`, which kills it first. A bundle left
/// without state (the container deleted with the OCI `delete`) is removed
/// too. Returns the runtime's warnings (poststop hooks).
pub fn remove(root: &Path, name: &str, force: bool) -> Result<Vec<nsbox_runtime::Error>, Error> {
    check_name(name)?;
    crate::bundle_dir::remove_if_empty(root);
    // looked at, not held: a BundleDir removes its directory when dropped,
    // and a refusal below must leave it
    let has_bundle = BundleDir::path_of(root, name).is_dir();
    let warnings = match nsbox_runtime::list::state(root, name) {
        Ok(report) => {
            if report.status_word() != "stopped" && !force {
                return Err(Error::StillRunning {
                    name: name.to_owned(),
                });
            }
            nsbox_runtime::delete::delete(root, name, force).map_err(|e| container(name, e))?
        }
        // no state.json: none at all, or a run killed part-way, whose
        // state directory the runtime's delete cleans (its cgroup, a
        // stray init) as any killed create's
        Err(nsbox_runtime::Error::NotFound { .. }) => {
            if !has_bundle && !root.join(name).is_dir() {
                return Err(Error::NoSuchContainer {
                    name: name.to_owned(),
                });
            }
            nsbox_runtime::delete::delete(root, name, true).map_err(|e| container(name, e))?
        }
        Err(e) => return Err(container(name, e)),
    };
    // its bridge network, if any, before the bundle that records it
    crate::attached::detach(root, &BundleDir::path_of(root, name), name)?;
    drop(BundleDir::existing(root, name)); // removes it
    Ok(warnings)
}

fn state_of(root: &Path, name: &str) -> Result<nsbox_runtime::state::Report, Error> {
    check_name(name)?;
    nsbox_runtime::list::state(root, name).map_err(|e| match e {
        nsbox_runtime::Error::NotFound { .. } => Error::NoSuchContainer {
            name: name.to_owned(),
        },
        e => container(name, e),
    })
}

/// Polls until NAME is stopped (true) or `limit` passes (false).
fn wait_stopped(root: &Path, name: &str, limit: Duration) -> Result<bool, Error> {
    let deadline = Instant::now() + limit;
    loop {
        if state_of(root, name)?.status_word() == "stopped" {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn container(name: &str, source: nsbox_runtime::Error) -> Error {
    Error::Container {
        id: name.to_owned(),
        source: Box::new(source),
    }
}

/// One of nsbox's own containers (`nsbox run`'s, with a bundle under
/// `ROOT/.bundles`) as `nsbox ps` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub name: String,
    pub status: String,
    pub pid: u32,
    /// `bridge:nsbox0`, `cni:NAME`, or what `--net` was (`none`, `host`,
    /// a joined namespace) as far as its spec says.
    pub network: String,
    pub addresses: Vec<std::net::Ipv4Addr>,
    pub ports: Vec<String>,
    pub command: Vec<String>,
}

/// nsbox's own containers, by name; a bundle whose container state is gone
/// shows as `removed` (`nsbox rm` clears it).
pub fn list(root: &Path) -> Result<Vec<Summary>, Error> {
    let bundles = root.join(nsbox_runtime::extensions::BUNDLES);
    let Ok(entries) = std::fs::read_dir(&bundles) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let (status, pid) = match nsbox_runtime::list::state(root, &name) {
            Ok(r) => (
                r.status_word().to_owned(),
                r.oci.pid().filter(|p| *p > 0).unwrap_or(0) as u32,
            ),
            Err(_) => ("removed".to_owned(), 0),
        };
        let bundle = entry.path();
        let (network, addresses, ports) = crate::network::describe(&bundle);
        let command = std::fs::read(bundle.join("config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|c| serde_json::from_value(c["process"]["args"].clone()).ok())
            .unwrap_or_default();
        out.push(Summary {
            name,
            status,
            pid,
            network,
            addresses,
            ports,
            command,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
