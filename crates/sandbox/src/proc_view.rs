//! The per-container /proc view in a run: when `nsbox proc-view` serves
//! under this `--root`, its files are bound over the container's
//! `/proc/meminfo`, `/proc/cpuinfo`, `/proc/stat`, `/proc/uptime` and
//! `/sys/devices/system/cpu/online` (`spec` adds them as ordinary OCI bind
//! mounts after /proc and /sys), so every program there sizes itself from
//! the container's cgroup.

use std::path::{Path, PathBuf};

use nsbox_procview::{server, File};

use crate::error::Error;

/// (source on the host, destination in the container) of each file of the
/// running view that the host has too (a kernel without PSI has no
/// /proc/pressure, and procfs takes no new files); none when no view runs.
pub fn binds(root: &Path) -> Result<Vec<(PathBuf, String)>, Error> {
    let Some(state) = server::status(root).map_err(|e| Error::ProcView(Box::new(e)))? else {
        return Ok(Vec::new());
    };
    Ok(File::ALL
        .iter()
        .filter(|f| Path::new("/").join(f.path()).exists())
        .map(|f| (state.mount_point.join(f.path()), format!("/{}", f.path())))
        .collect())
}
