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
/// `ps --format json`). Until the cgroup seam is filled these are found by
/// PID namespace: with a PID namespace of its own, every process in it;
/// without one, only init.
pub fn processes(root: &Path, id: &str) -> Result<Vec<u32>, Error> {
    let record = StateDir::open_read(root, id)?.read()?;
    let Some(init) = record.live_pid() else {
        return Ok(Vec::new());
    };
    let mut pids = vec![init];
    let mut others = crate::kill::members(init);
    others.sort_unstable();
    pids.extend(others);
    Ok(pids)
}
