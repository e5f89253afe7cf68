//! What this host can do, found out rather than assumed, for the runtime's
//! `features`: which architectures this libseccomp can add to a filter, and
//! which `SECCOMP_FILTER_FLAG_*` flags this kernel accepts.

use std::str::FromStr;

use libseccomp::{ScmpAction, ScmpArch, ScmpFilterContext};

/// The filter flags a profile may name, with their `SECCOMP_FILTER_FLAG_*`
/// bit (`<linux/seccomp.h>`).
pub const FILTER_FLAGS: &[(&str, u32)] = &[
    ("SECCOMP_FILTER_FLAG_TSYNC", 1),
    ("SECCOMP_FILTER_FLAG_LOG", 1 << 1),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 1 << 2),
    ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1 << 5),
];

/// Whether libseccomp can compile a filter for the architecture `name`
/// (`SCMP_ARCH_X86_64`...): the C library decides, since this build may
/// predate an architecture.
pub fn arch_supported(name: &str) -> bool {
    let Ok(arch) = ScmpArch::from_str(name) else {
        return false;
    };
    let Ok(mut ctx) = ScmpFilterContext::new(ScmpAction::Allow) else {
        return false;
    };
    // Alone in a filter: endianness cannot clash with the native one.
    if arch != ScmpArch::native() {
        let _ = ctx.remove_arch(ScmpArch::native());
    }
    ctx.add_arch(arch).is_ok()
}

/// The names of the [`FILTER_FLAGS`] this kernel accepts.
pub fn kernel_flags() -> Vec<&'static str> {
    FILTER_FLAGS
        .iter()
        .filter(|(_, bit)| kernel_accepts_flag(*bit))
        .map(|(name, _)| *name)
        .collect()
}

/// Probed as libseccomp does: seccomp(2) with a NULL program fails with
/// EFAULT for a known flag, EINVAL else.
fn kernel_accepts_flag(bit: u32) -> bool {
    const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
    // SAFETY: a NULL program is never read: the kernel checks the flags
    // first and fails with EINVAL (unknown) or, when it goes on to copy the
    // program, EFAULT. Nothing is installed either way.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            bit,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_arch_and_log_flag() {
        #[cfg(target_arch = "x86_64")]
        assert!(arch_supported("SCMP_ARCH_X86_64"));
        #[cfg(target_arch = "aarch64")]
        assert!(arch_supported("SCMP_ARCH_AARCH64"));
        assert!(!arch_supported("SCMP_ARCH_Z80"));
        // LOG is in every kernel since 4.14.
        assert!(kernel_flags().contains(&"SECCOMP_FILTER_FLAG_LOG"));
    }
}
