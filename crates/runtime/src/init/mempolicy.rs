//! `linux.memoryPolicy`: set_mempolicy(2) on the process itself (the policy
//! survives execve and is inherited by children); for init and for every
//! exec'd process, as runc does. Decoded by `bundle::sched`.

use oci_spec::runtime::LinuxMemoryPolicy;

use crate::bundle::sched;
use crate::step::{Failure, Step, StepResult};

pub fn apply(policy: Option<&LinuxMemoryPolicy>) -> Result<(), Failure> {
    let Some(m) = policy else {
        return Ok(());
    };
    let p = sched::mem_policy(m).expect("validated: linux.memoryPolicy");
    let (mask, maxnode) = if p.nodes.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // The kernel reads maxnode - 1 bits (set_mempolicy(2), BUGS).
        (p.nodes.as_ptr(), p.nodes.len() as u64 * 64 + 1)
    };
    // SAFETY: `mask` is null with maxnode 0, or points to `p.nodes`, alive
    // for the call and holding the maxnode - 1 bits the kernel reads.
    let rc = unsafe { libc::syscall(libc::SYS_set_mempolicy, p.mode, mask, maxnode) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error()).step(|| Step::MemoryPolicy {
            mode: m.mode().to_string(),
        });
    }
    Ok(())
}
