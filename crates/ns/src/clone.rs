//! `clone3(2)`: a new process born in new namespaces, optionally with a pidfd
//! and straight into a cgroup v2 directory (`CLONE_INTO_CGROUP`). rustix has
//! no clone3 (it cannot express "returns twice" safely), so this is the raw
//! syscall, with the return-twice hazard made the caller's `unsafe` promise.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{limits, Error, NsKind};

/// `CLONE_PIDFD` (Linux 5.2): the parent gets a pidfd for the child.
pub const CLONE_PIDFD: u64 = 0x1000;
/// `CLONE_INTO_CGROUP` (Linux 5.7): the child starts in the cgroup v2
/// directory given by `clone_args.cgroup`.
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
/// `CLONE_PARENT`: the child's parent is the caller's parent.
pub const CLONE_PARENT: u64 = libc::CLONE_PARENT as u32 as u64;

/// The kernel's `struct clone_args`, version 2 (88 bytes, with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct RawCloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What to ask of `clone3`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CloneOptions<'a> {
    /// `CLONE_NEW*` flags (see [`NsKind::clone_flag`]) and others such as
    /// [`CLONE_PARENT`]; `CLONE_PIDFD`/`CLONE_INTO_CGROUP` are set from the
    /// fields below, never here.
    pub flags: u64,
    /// Ask for a pidfd of the child (`CLONE_PIDFD`).
    pub pidfd: bool,
    /// Start the child in this cgroup v2 directory (`CLONE_INTO_CGROUP`).
    pub cgroup: Option<BorrowedFd<'a>>,
}

/// Which side of the clone we are on.
#[derive(Debug)]
pub enum Forked {
    /// The new process.
    Child,
    /// The caller, with the child's pid (in the caller's PID namespace) and,
    /// when asked for, its pidfd.
    Parent { pid: u32, pidfd: Option<OwnedFd> },
}

/// Creates a process with `clone3(2)`; the child gets `SIGCHLD` semantics
/// like `fork(2)` (the parent can `waitpid` it) and a copy of the address
/// space (no `CLONE_VM`), returning here a second time as [`Forked::Child`].
///
/// # Safety
///
/// Like `fork(2)`: if the calling process has more than one thread, the child
/// holds a copy of memory whose locks (malloc's, stdio's) may be held by
/// threads that do not exist in it, so it may then only call
/// async-signal-safe functions until it execs or `_exit`s. A caller that is
/// single-threaded at the call (as `nsbox` is: it starts no threads) may do
/// anything in the child. Either way the child must leave with `execve` or
/// `_exit`, never by returning into code that expects to be the parent (it
/// must not run the parent's destructors twice or flush shared buffers).
pub unsafe fn clone3(opts: &CloneOptions<'_>) -> Result<Forked, Error> {
    let mut pidfd: libc::c_int = -1;
    let mut args = RawCloneArgs {
        flags: opts.flags & !(CLONE_PIDFD | CLONE_INTO_CGROUP),
        // clone3 refuses an exit signal with CLONE_PARENT: the child then
        // signals our parent as we would (SIGCHLD, since we were forked).
        exit_signal: if opts.flags & CLONE_PARENT != 0 {
            0
        } else {
            libc::SIGCHLD as u64
        },
        ..RawCloneArgs::default()
    };
    if opts.pidfd {
        args.flags |= CLONE_PIDFD;
        args.pidfd = std::ptr::addr_of_mut!(pidfd) as u64;
    }
    if let Some(cg) = opts.cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = cg.as_raw_fd() as u64;
    }
    // SAFETY: `args` is a valid, fully initialised clone_args of the size we
    // pass; `pidfd` outlives the call (the kernel writes it before returning
    // in the parent). Without CLONE_VM and with stack 0 the child runs on a
    // copy of our stack, like fork. What the child may do afterwards is the
    // caller's promise (this function's `# Safety`).
    let mut ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            std::ptr::addr_of_mut!(args),
            std::mem::size_of::<RawCloneArgs>(),
        )
    };
    if ret == -1
        && opts.cgroup.is_none()
        && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS)
    {
        // Kernels before 5.3 lack clone3; clone(2) does the same without
        // CLONE_INTO_CGROUP. With CLONE_PIDFD it writes the pidfd through
        // the parent_tid argument.
        // SAFETY: as above: no CLONE_VM and a null stack make this a fork;
        // `pidfd` outlives the call.
        ret = unsafe {
            libc::syscall(
                libc::SYS_clone,
                args.flags | args.exit_signal,
                0usize,
                std::ptr::addr_of_mut!(pidfd),
                0usize,
                0usize,
            )
        };
    }
    match ret {
        -1 => {
            let source = io::Error::last_os_error();
            let kinds: Vec<NsKind> = NsKind::ALL
                .into_iter()
                .filter(|k| opts.flags & k.clone_flag() != 0)
                .collect();
            Err(limits::explain_enospc(&kinds, Error::Clone { source }))
        }
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: pid as u32,
            pidfd: (pidfd >= 0).then(|| {
                // SAFETY: the kernel just created this descriptor for us with
                // CLONE_PIDFD (close-on-exec); nothing else owns it.
                unsafe { OwnedFd::from_raw_fd(pidfd) }
            }),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits for `pid` and returns its exit code.
    fn wait_code(pid: u32) -> i32 {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer; `pid` is our own child.
        let r = unsafe { libc::waitpid(pid as i32, &mut status, 0) };
        assert_eq!(r, pid as i32);
        assert!(libc::WIFEXITED(status));
        libc::WEXITSTATUS(status)
    }

    #[test]
    fn child_in_new_uts_namespace_with_pidfd() {
        assert_eq!(
            // SAFETY: geteuid has no preconditions.
            unsafe { libc::geteuid() },
            0,
            "clone3 tests must run as root"
        );
        let mine = crate::ns_of_pid(std::process::id(), NsKind::Uts).unwrap();
        let opts = CloneOptions {
            flags: NsKind::Uts.clone_flag(),
            pidfd: true,
            cgroup: None,
        };
        // SAFETY: the test harness has threads, so the child only calls
        // async-signal-safe functions (sethostname, _exit).
        match unsafe { clone3(&opts) }.unwrap() {
            Forked::Child => {
                let name = b"clone3-test";
                // SAFETY: sethostname is async-signal-safe and reads
                // `name.len()` bytes of a valid buffer.
                let r = unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) };
                // SAFETY: _exit is async-signal-safe; the child leaves
                // without returning into the test.
                unsafe { libc::_exit(if r == 0 { 7 } else { 1 }) }
            }
            Forked::Parent { pid, pidfd } => {
                assert!(pidfd.is_some());
                // The child's own namespace differs from ours while it lives:
                // checking after exit is impossible, so check the hostname
                // did not leak to us instead.
                assert_eq!(wait_code(pid), 7);
                assert_eq!(
                    crate::ns_of_pid(std::process::id(), NsKind::Uts).unwrap(),
                    mine
                );
                let host = rustix::system::uname();
                assert_ne!(host.nodename().to_bytes(), b"clone3-test");
            }
        }
    }
}
