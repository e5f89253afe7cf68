//! `state` and `list`: what state.json says, corrected by the kernel.

use std::path::Path;

use crate::state::{self, Report, StateDir};
use crate::Error;

/// One container, as runc's `state` prints it.
pub fn state(root: &Path, id: &str) -> Result<Report, Error> {
    let dir = StateDir::open_read(root, id)?;
    Ok(dir.read()?.report())
}

/// Every container under `root`; ones half-made or vanishing while we look
/// are skipped.
pub fn list(root: &Path) -> Result<Vec<Report>, Error> {
    let mut out = Vec::new();
    for id in state::ids(root)? {
        if let Ok(report) = state(root, &id) {
            out.push(report);
        }
    }
    Ok(out)
}

/// The host pids of the container's processes, init first (runc's
/// `ps --format json`): those in its cgroup (`cgroup.procs`, every
/// hierarchy). A container created without a cgroup (unprivileged): with a
/// PID namespace of its own, every process in it; without one, only init.
pub fn processes(root: &Path, id: &str) -> Result<Vec<u32>, Error> {
    let record = StateDir::open_read(root, id)?.read()?;
    if let Some(cg) = &record.cgroup {
        let mut pids = cg.procs().map_err(|source| Error::Cgroup {
            what: "list the container's processes".into(),
            source,
        })?;
        if let Some(init) = record.live_pid() {
            if let Some(i) = pids.iter().position(|&p| p == init) {
                pids.remove(i);
                pids.insert(0, init);
            }
        }
        return Ok(pids);
    }
    let Some(init) = record.live_pid() else {
        return Ok(Vec::new());
    };
    let mut pids = vec![init];
    let mut others = crate::liveness::members(init);
    others.sort_unstable();
    pids.extend(others);
    Ok(pids)
}
