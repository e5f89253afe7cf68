//! CPU affinity: `process.execCPUAffinity` for exec'd processes (the
//! initial set on nsbox before the clone, the final one once the process
//! is in the container's cgroup and namespaces), and otherwise a reset to
//! every CPU, as runc and crun do, so that a container does not inherit
//! the CPUs its caller was pinned to (the cgroup's cpuset still applies).

use oci_spec::runtime::Process;

use crate::bundle::sched;
use crate::step::{Failure, Step, StepResult};

/// Words of a mask large enough for any kernel's CPU count (NR_CPUS is
/// at most 8192): sched_setaffinity refuses a mask shorter than that.
const MIN_WORDS: usize = 8192 / 64;

/// Puts the calling thread (all of a single-threaded nsbox) on `mask`.
/// A raw syscall: rustix's `CpuSet` holds 1024 CPUs, and the kernel
/// refuses a mask shorter than its own CPU count.
pub fn set(mask: &[u64]) -> std::io::Result<()> {
    let mut words = mask.to_vec();
    if words.len() < MIN_WORDS {
        words.resize(MIN_WORDS, 0);
    }
    // SAFETY: `words` is alive for the call and holds the number of bytes
    // passed; the kernel only reads it. pid 0 is the calling thread.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_sched_setaffinity,
            0,
            words.len() * 8,
            words.as_ptr(),
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Every CPU: the kernel keeps only those of the cgroup's cpuset.
pub fn reset() -> Result<(), Failure> {
    set(&[u64::MAX; MIN_WORDS]).step(|| Step::CpuAffinityReset)
}

/// After the exec'd process joined the container: the final set, or
/// nothing when only an initial one was given (the spec: keep it), or
/// the reset when neither was.
pub fn exec_final(process: &Process) -> Result<(), Failure> {
    let sets = sched::exec_affinity(process).expect("validated: execCPUAffinity");
    match (sets.initial, sets.last) {
        (_, Some(last)) => set(&last.mask).step(|| Step::CpuAffinity { cpus: last.list }),
        (Some(_), None) => Ok(()),
        (None, None) => reset(),
    }
}
