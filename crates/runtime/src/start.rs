//! `start`: releases a created container's init (see `fifo`), records it
//! as running, and runs the poststart hooks. A failing poststart hook
//! fails `start` and kills the container (runtime-spec 1.3, runc, crun;
//! see docs/hooks.md); its state stays for `delete`, as runc leaves it.

use std::path::Path;

use oci_spec::runtime::ContainerState;

use crate::hooks::Kind;
use crate::state::StateDir;
use crate::{fifo, Error};

/// Starts the container; a poststart hook failure is the error, once the
/// container is killed and gone.
pub fn start(root: &Path, id: &str) -> Result<(), Error> {
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
    let hooks = crate::hooks::listed(record.hooks.as_ref(), Kind::Poststart);
    if let Err(failed) = crate::hooks::run(Kind::Poststart, &hooks, &record.oci) {
        // The hook's failure is what the caller hears; the kill is best
        // effort (the program may have exited already).
        let _ = crate::delete::kill_and_wait(&record);
        return Err(failed);
    }
    Ok(())
}
