//! `linux.personality`: the execution domain (`LINUX`, `LINUX32`) and the
//! flags of personality(2), set in init before the program is found and
//! before any seccomp filter (the default profile allows `personality`
//! only for a few values). The names are checked by `bundle::validate`
//! before anything exists, with the table in `bundle::decode`.

use oci_spec::runtime::LinuxPersonality;

use crate::bundle::decode::persona;

use crate::step::{Failure, Step, StepResult};

/// Sets the persona; the program exec'd later keeps it.
pub fn apply(p: Option<&LinuxPersonality>) -> Result<(), Failure> {
    let Some(p) = p else { return Ok(()) };
    let value = persona(p).expect("validated: linux.personality");
    // SAFETY: personality(2) only changes this process's execution domain
    // flags; no memory is passed to the kernel.
    let r = unsafe { libc::personality(value as libc::c_ulong) };
    if r == -1 {
        return Err(std::io::Error::last_os_error()).step(|| Step::Personality {
            value: format!("{value:#x}"),
        });
    }
    Ok(())
}
