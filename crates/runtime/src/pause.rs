//! `pause` and `resume`: freeze and thaw every process of a container
//! through its cgroup (v1 freezer where mounted, else v2 `cgroup.freeze`),
//! returning only once the kernel reports the new state, so that a caller
//! reading `state` right after sees `paused` (or `running`) for real.

use std::path::Path;

use oci_spec::runtime::ContainerState;

use crate::state::StateDir;
use crate::Error;

/// Freezes a created or running container.
pub fn pause(root: &Path, id: &str) -> Result<(), Error> {
    let dir = StateDir::open(root, id)?;
    let record = dir.read()?;
    let cg = crate::placement::recorded(&record)?;
    let report = record.report();
    let status = report.status_word();
    if !matches!(
        *report.oci.status(),
        ContainerState::Created | ContainerState::Running
    ) || report.paused
    {
        return Err(Error::WrongStatus {
            id: id.to_string(),
            status,
            wanted: "created or running",
        });
    }
    cg.freeze().map_err(|source| Error::Cgroup {
        what: "freeze".into(),
        source,
    })
}

/// Thaws a paused container.
pub fn resume(root: &Path, id: &str) -> Result<(), Error> {
    let dir = StateDir::open(root, id)?;
    let record = dir.read()?;
    let cg = crate::placement::recorded(&record)?;
    let report = record.report();
    if !report.paused {
        return Err(Error::WrongStatus {
            id: id.to_string(),
            status: report.status_word(),
            wanted: "paused",
        });
    }
    cg.thaw().map_err(|source| Error::Cgroup {
        what: "thaw".into(),
        source,
    })
}
