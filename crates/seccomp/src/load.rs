//! Installing a compiled program in the calling thread: one seccomp(2) call,
//! no allocation on the success path, so it is safe between clone and execve.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use crate::{Error, Program};

const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
const SECCOMP_FILTER_FLAG_LOG: libc::c_uint = 1 << 1;
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: libc::c_uint = 1 << 2;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_uint = 1 << 3;
const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: libc::c_uint = 1 << 5;

/// Loads `program` into the calling thread. The caller must have set
/// no_new_privs or hold CAP_SYS_ADMIN. Returns the notification listener when
/// the profile has a Notify action.
pub fn load(program: &Program) -> Result<Option<OwnedFd>, Error> {
    let mut flags = 0;
    if program.flags.log {
        flags |= SECCOMP_FILTER_FLAG_LOG;
    }
    if program.flags.spec_allow {
        flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    }
    if program.flags.wait_killable_recv {
        flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    }
    if program.needs_listener {
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    }
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.filter.len())
            .map_err(|_| Error::Load(io::Error::from_raw_os_error(libc::E2BIG)))?,
        filter: program.filter.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points at `program.filter`, which outlives the call and
    // holds `len` instructions; the kernel copies the program and keeps no
    // pointer to our memory.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        return Err(Error::Load(io::Error::last_os_error()));
    }
    if program.needs_listener {
        // SAFETY: with NEW_LISTENER a successful call returns a new fd that we own.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }))
    } else {
        Ok(None)
    }
}
