//! `run`: create, start and, unless detached, wait for the container's
//! init and exit with its status; the container is then deleted.

use rustix::process::{Pid, WaitOptions};

use crate::create::{self, CreateOptions};
use crate::Error;

/// Runs the container; returns the exit code nsbox should end with (the
/// program's own, or 128 + the signal that killed it; 0 when detached).
pub fn run(opts: &CreateOptions, detach: bool) -> Result<u8, Error> {
    let created = create::create(opts)?;
    if let Err(e) = crate::start::start(&opts.root, &opts.id) {
        let _ = crate::delete::delete(&opts.root, &opts.id, true);
        return Err(e);
    }
    if detach {
        return Ok(0);
    }
    // init is our child (the clone, or CLONE_PARENT when forked again).
    let pid = created.pid;
    let status = loop {
        match rustix::process::waitpid(Pid::from_raw(pid as i32), WaitOptions::empty()) {
            Ok(Some((_, status))) => break status,
            Ok(None) => continue,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                return Err(Error::Wait {
                    pid,
                    source: e.into(),
                })
            }
        }
    };
    crate::delete::delete(&opts.root, &opts.id, true)?;
    Ok(exit_code(status))
}

fn exit_code(status: rustix::process::WaitStatus) -> u8 {
    if let Some(code) = status.exit_status() {
        code as u8
    } else if let Some(sig) = status.terminating_signal() {
        (128 + sig) as u8
    } else {
        1
    }
}
