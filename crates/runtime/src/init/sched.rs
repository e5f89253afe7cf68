//! `process.scheduler` and `process.ioPriority`: set on the process itself
//! (both survive execve), while it still holds the runtime's privileges,
//! as runc and crun do; decoded by `bundle::sched`.

use oci_spec::runtime::Process;

use crate::bundle::sched;
use crate::step::{Failure, Step, StepResult};

/// ioprio_set(2)'s `which` for one process (`<linux/ioprio.h>`).
const IOPRIO_WHO_PROCESS: libc::c_int = 1;

/// Sets the scheduling policy, then the I/O priority (validated config).
pub fn apply(process: &Process) -> Result<(), Failure> {
    if let Some(s) = process.scheduler() {
        let attr = sched::sched_attr(s).expect("validated: process.scheduler");
        // SAFETY: `attr` is a live sched_attr whose `size` field is its own
        // size, which the kernel reads and does not keep; pid 0 is us.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_sched_setattr,
                0,
                &attr as *const sched::SchedAttr,
                0,
            )
        };
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            let realtime = matches!(attr.policy, 1 | 2 | 6);
            let denied = realtime && err.raw_os_error() == Some(libc::EPERM);
            return Err(err).step(|| Step::Scheduler {
                policy: s.policy().to_string(),
                denied,
            });
        }
    }
    if let Some(io) = process.io_priority() {
        let value = sched::ioprio(io).expect("validated: process.ioPriority");
        // SAFETY: ioprio_set takes integers only; who 0 is this process.
        let rc = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
        if rc < 0 {
            return Err(std::io::Error::last_os_error()).step(|| Step::IoPriority {
                class: io.class().to_string(),
                level: io.priority(),
            });
        }
    }
    Ok(())
}
