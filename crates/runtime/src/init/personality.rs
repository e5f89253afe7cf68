//! `linux.personality`: the execution domain (`LINUX`, `LINUX32`) and the
//! flags of personality(2), set in init before the program is found and
//! before any seccomp filter (the default profile allows `personality`
//! only for a few values). The names are checked by `bundle::validate`
//! before anything exists.

use oci_spec::runtime::{LinuxPersonality, LinuxPersonalityDomain};

use super::{Failure, StepResult};
use crate::protocol::Step;

/// personality(2)'s flag names (`<linux/personality.h>`) and bits.
const FLAGS: [(&str, u32); 11] = [
    ("UNAME26", 0x0020000),
    ("ADDR_NO_RANDOMIZE", 0x0040000),
    ("FDPIC_FUNCPTRS", 0x0080000),
    ("MMAP_PAGE_ZERO", 0x0100000),
    ("ADDR_COMPAT_LAYOUT", 0x0200000),
    ("READ_IMPLIES_EXEC", 0x0400000),
    ("ADDR_LIMIT_32BIT", 0x0800000),
    ("SHORT_INODE", 0x1000000),
    ("WHOLE_SECONDS", 0x2000000),
    ("STICKY_TIMEOUTS", 0x4000000),
    ("ADDR_LIMIT_3GB", 0x8000000),
];

const PER_LINUX: u32 = 0x0000;
const PER_LINUX32: u32 = 0x0008;

/// The persona personality(2) takes; `Err(i)`: `flags[i]` is unknown.
pub fn persona(p: &LinuxPersonality) -> Result<u32, usize> {
    let mut value = match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    };
    for (i, name) in p.flags().iter().flatten().enumerate() {
        let bit = FLAGS
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, b)| b)
            .ok_or(i)?;
        value |= bit;
    }
    Ok(value)
}

/// The names `validate` accepts, for its error message.
pub fn flag_names() -> String {
    FLAGS.map(|(n, _)| n).join(", ")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> LinuxPersonality {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn domain_and_flags() {
        assert_eq!(persona(&p(r#"{"domain":"LINUX"}"#)), Ok(0));
        assert_eq!(persona(&p(r#"{"domain":"LINUX32"}"#)), Ok(8));
        assert_eq!(
            persona(&p(
                r#"{"domain":"LINUX32","flags":["ADDR_NO_RANDOMIZE","UNAME26"]}"#
            )),
            Ok(0x8 | 0x40000 | 0x20000)
        );
        assert_eq!(
            persona(&p(r#"{"domain":"LINUX","flags":["UNAME26","NOPE"]}"#)),
            Err(1)
        );
    }
}
