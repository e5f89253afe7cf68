//! The session keyring, as runc: each container's init joins a new session
//! keyring named `_ses.<id>` (created by the kernel on first join), so no
//! container inherits nsbox's (its caller's) session keyring and the keys
//! in it; `exec` joins the same one by name. `--no-new-keyring` keeps the
//! caller's. A kernel without keyrings (ENOSYS) is not an error (runc's
//! rule: the keyring is a best-effort barrier); anything else (EDQUOT when
//! the owner's key quota is used up, EACCES) fails the step, as in runc.

use std::ffi::CString;

use crate::step::{Failure, Step, StepResult};

// <linux/keyctl.h>
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
const KEYCTL_SETPERM: libc::c_long = 5;
const KEYCTL_DESCRIBE: libc::c_long = 6;
/// Search by the owner uid, and by anyone (`other`).
const KEY_USR_SEARCH: u32 = 0x0008_0000;
const KEY_OTH_SEARCH: u32 = 0x0000_0008;

/// The keyring's name for container `id` (runc's).
pub fn name(id: &str) -> String {
    format!("_ses.{id}")
}

/// Init: joins (making) the container's session keyring and lets `exec`'d
/// processes find it by name: search for its owner, or, in a user
/// namespace (whose ids the keyring's owner may not share), for anyone.
pub fn create(id: &str, in_userns: bool) -> Result<(), Failure> {
    let name = name(id);
    let Some(serial) = join(&name)? else {
        return Ok(());
    };
    let step = || Step::SessionKeyring { name: name.clone() };
    let perm = describe_perm(serial).step(step)?;
    let add = if in_userns {
        KEY_OTH_SEARCH
    } else {
        KEY_USR_SEARCH
    };
    // SAFETY: keyctl(KEYCTL_SETPERM, serial, perm) passes only integers.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, serial, perm | add) };
    if r == -1 {
        return Err(std::io::Error::last_os_error()).step(step);
    }
    Ok(())
}

/// `exec`: joins the container's session keyring by name (made by init).
pub fn join_existing(id: &str) -> Result<(), Failure> {
    join(&name(id)).map(|_| ())
}

/// KEYCTL_JOIN_SESSION_KEYRING; `None` when the kernel has no keyrings.
fn join(name: &str) -> Result<Option<libc::c_long>, Failure> {
    let step = || Step::SessionKeyring {
        name: name.to_string(),
    };
    // Container ids are validated: no NUL inside.
    let c = CString::new(name).map_err(|_| Failure {
        step: step(),
        errno: libc::EINVAL,
    })?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call; the
    // kernel only reads it.
    let serial =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, c.as_ptr()) };
    if serial == -1 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ENOSYS) {
            return Ok(None);
        }
        return Err(err).step(step);
    }
    Ok(Some(serial))
}

/// The key's permission mask: the 4th field of KEYCTL_DESCRIBE's
/// `type;uid;gid;perm;description` (hex).
fn describe_perm(serial: libc::c_long) -> std::io::Result<u32> {
    let mut buf = vec![0u8; 512];
    loop {
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`,
        // which lives across the call.
        let n = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                KEYCTL_DESCRIBE,
                serial,
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = n as usize;
        if n > buf.len() {
            buf.resize(n, 0);
            continue;
        }
        return parse_perm(&buf[..n]).ok_or_else(|| std::io::Error::from_raw_os_error(libc::EIO));
    }
}

fn parse_perm(desc: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(desc).ok()?.trim_end_matches('\0');
    let perm = text.split(';').nth(3)?;
    u32::from_str_radix(perm, 16).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn perm_is_the_fourth_field() {
        assert_eq!(
            super::parse_perm(b"keyring;0;0;3f1b0000;_ses.x\0"),
            Some(0x3f1b_0000)
        );
        assert_eq!(super::parse_perm(b"keyring;0;0\0"), None);
    }
}
