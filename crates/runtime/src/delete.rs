//! `delete`: removes a stopped container's state (a created one is killed
//! first, as runc does; a running one only with `--force`), waiting for
//! the init to be gone so that its namespaces and mounts are released.
//! Then its cgroup goes, in every hierarchy: what is still in it (a
//! container without a PID namespace can leave processes behind its init)
//! is killed first, as runc's destroy does, and EBUSY while the kernel
//! lets go of the last task is retried. The state directory goes last, so
//! a failure leaves a container that a later `delete` finds again. A
//! create killed before it wrote state.json leaves its cgroup recorded
//! beside it (`StateDir::write_cgroup`), and that is removed too.

use std::os::fd::OwnedFd;
use std::path::Path;

use oci_spec::runtime::ContainerState;
use rustix::event::{PollFd, PollFlags};
use rustix::process::Signal;

use crate::hooks::Kind;
use crate::liveness::open_checked;
use crate::state::StateDir;
use crate::Error;

/// Deletes the container; poststop hook failures come back as warnings.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<Vec<Error>, Error> {
    let dir = match StateDir::open(root, id) {
        Ok(dir) => dir,
        Err(Error::NotFound { .. }) if force => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let record = match dir.read() {
        Ok(r) => r,
        // A create killed before writing state: its cgroup, if it got that
        // far, is recorded beside it; what runs there (an init blocked on
        // the exec fifo) is killed and the cgroup removed, then the rest.
        Err(Error::NotFound { .. }) => {
            if let Some((mut cg, planned)) = dir.read_cgroup() {
                if planned {
                    cg.adopt_leaves();
                }
                crate::placement::destroy(&mut cg)?;
            }
            return dir.remove().map(|()| Vec::new());
        }
        // A state.json cut short by a power loss (it is renamed into place
        // but not fsynced): the machine rebooted, so nothing of the
        // container runs; --force removes what is left.
        Err(Error::BadState { .. }) if force => return dir.remove().map(|()| Vec::new()),
        Err(e) => return Err(e),
    };
    let status = record.live_status();
    match status {
        ContainerState::Stopped => {}
        ContainerState::Created => kill_and_wait(&record)?,
        ContainerState::Running | ContainerState::Creating if force => kill_and_wait(&record)?,
        _ => {
            return Err(Error::DeleteRunning {
                id: id.to_string(),
                status: crate::status_word(status),
            })
        }
    }
    if let Some(mut cg) = record.cgroup.clone() {
        crate::placement::destroy(&mut cg)?;
    }
    dir.remove()?;
    let mut state = record.oci.clone();
    state.set_status(ContainerState::Stopped);
    Ok(crate::hooks::run_all(
        Kind::Poststop,
        &crate::hooks::listed(record.hooks.as_ref(), Kind::Poststop),
        &state,
    ))
}

/// SIGKILL to the container's init (thawed first if paused), then waits
/// until it is gone.
pub(crate) fn kill_and_wait(record: &crate::state::Record) -> Result<(), Error> {
    let Some(pid) = record.live_pid() else {
        return Ok(());
    };
    let Some(fd) = open_checked(pid, record.start_time) else {
        return Ok(());
    };
    rustix::process::pidfd_send_signal(&fd, Signal::KILL).map_err(|e| Error::Signal {
        signal: libc::SIGKILL,
        pid,
        source: e.into(),
    })?;
    // A paused container's init only dies once thawed (v1 freezer).
    if let Some(cg) = &record.cgroup {
        if cg.is_frozen().unwrap_or(false) {
            cg.thaw().map_err(|source| Error::Cgroup {
                what: "thaw the paused container".into(),
                source,
            })?;
        }
    }
    wait_exit(&fd, pid)
}

/// A pidfd polls readable once its process has exited.
pub fn wait_exit(fd: &OwnedFd, pid: u32) -> Result<(), Error> {
    loop {
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, None) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                return Err(Error::Wait {
                    pid,
                    source: e.into(),
                })
            }
        }
    }
}
