//! The per-container /proc view in a run: the view's files are bound over
//! the container's `/proc/meminfo`, `/proc/cpuinfo`, `/proc/stat`,
//! `/proc/uptime`, ... and `/sys/devices/system/cpu/online` (`spec` adds
//! them as ordinary OCI bind mounts after /proc and /sys), so every program
//! there sizes itself from the container's cgroup. As root, a view is
//! started first when none runs under this `--root`; without root (which
//! cannot mount FUSE) the run uses the system's view, which root started,
//! when it is mounted. When there is none, the run goes on without it after
//! one warning line, said once per state root.

use std::path::{Path, PathBuf};

use nsbox_procview::{control, device, File, Program, State};

use crate::error::Error;

/// Where a run's view comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// Root's: the view under this state root, started when none runs.
    Own(Autostart),
    /// A run without root: the view root serves on this mount point (the
    /// default one), used when mounted, never started.
    System(PathBuf),
}

/// How a run gets its view when none runs: the program for the view's
/// processes and where to mount it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Autostart {
    pub program: Program,
    pub mount_point: PathBuf,
}

/// (source on the host, destination in the container) of each file of the
/// view that the host has too (a kernel without PSI has no /proc/pressure,
/// and procfs takes no new files); none with `view` off (`--no-proc-view`)
/// or when it cannot start.
pub fn binds(root: &Path, view: Option<&View>) -> Result<Vec<(PathBuf, String)>, Error> {
    let mount_point = match view {
        None => return Ok(Vec::new()),
        Some(View::Own(autostart)) => {
            let running = control::status(root).map_err(|e| Error::ProcView(Box::new(e)))?;
            match running.or_else(|| start(root, autostart)) {
                Some(state) => state.mount_point,
                None => return Ok(Vec::new()),
            }
        }
        Some(View::System(mount_point)) if device::mounted_at(mount_point) => mount_point.clone(),
        Some(View::System(mount_point)) => {
            let why = format!(
                "without root, runs use the view root serves on {} and none is mounted there \
                 (as root: `nsbox proc-view start`)",
                mount_point.display()
            );
            warn_once(root, &why);
            return Ok(Vec::new());
        }
    };
    Ok(File::ALL
        .iter()
        .filter(|f| Path::new("/").join(f.path()).exists())
        .map(|f| (mount_point.join(f.path()), format!("/{}", f.path())))
        .collect())
}

/// A view started now, or `None` and a warning (once per state root).
fn start(root: &Path, view: &Autostart) -> Option<State> {
    if control::unavailable(root) {
        return None;
    }
    let why = if !Path::new(device::DEVICE).exists() {
        format!("no {} (the fuse module is not loaded)", device::DEVICE)
    } else {
        match control::ensure(root, &view.mount_point, &view.program) {
            Ok(s) => return Some(s),
            Err(e) => nsbox_procview::error::chain(&e),
        }
    };
    warn_once(root, &why);
    None
}

/// The one warning of a state root whose runs go without a view.
fn warn_once(root: &Path, why: &str) {
    if control::unavailable(root) {
        return;
    }
    eprintln!(
        "nsbox: warning: run: no /proc view for containers: {why} \
         (said once; `nsbox proc-view start` tries again, --no-proc-view runs without)"
    );
    control::mark_unavailable(root, why);
}
