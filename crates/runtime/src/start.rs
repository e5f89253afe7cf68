//! `start`: releases a created container's init (see `fifo`) and records
//! it as running.

use std::path::Path;

use oci_spec::runtime::ContainerState;

use crate::hooks::Kind;
use crate::state::StateDir;
use crate::{fifo, Error};

/// Starts the container; poststart hook failures come back as warnings.
pub fn start(root: &Path, id: &str) -> Result<Vec<Error>, Error> {
    let dir = StateDir::open(root, id)?;
    let mut record = dir.read()?;
    let status = record.live_status();
    if status != ContainerState::Created {
        return Err(Error::WrongStatus {
            id: id.to_string(),
            status: crate::status_word(status),
            wanted: "created",
        });
    }
    let fifo_path = dir.fifo_path();
    fifo::release(&fifo_path).map_err(|e| match e {
        // Nobody reads: init died between our status check and now.
        Error::Fifo { ref source, .. } if source.raw_os_error() == Some(libc::ENXIO) => {
            Error::WrongStatus {
                id: id.to_string(),
                status: "stopped",
                wanted: "created",
            }
        }
        e => e,
    })?;
    let _ = std::fs::remove_file(&fifo_path);
    record.oci.set_status(ContainerState::Running);
    dir.write(&record)?;
    Ok(crate::hooks::run_all(
        Kind::Poststart,
        &crate::hooks::listed(record.hooks.as_ref(), Kind::Poststart),
        &record.oci,
    ))
}
