//! `ioctl_ns(2)`: the questions one can ask an nsfs file descriptor.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{Error, NsKind};

// _IO(0xb7, n) from <linux/nsfs.h>.
const NS_GET_USERNS: libc::c_ulong = 0xb701;
const NS_GET_PARENT: libc::c_ulong = 0xb702;
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
const NS_GET_OWNER_UID: libc::c_ulong = 0xb704;

/// Runs an `NS_GET_*` ioctl that takes no argument and returns an int.
fn ns_ioctl(fd: BorrowedFd<'_>, op: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: `fd` is a live descriptor borrowed for the call; these four
    // requests take no argument pointer, so the kernel reads no user memory.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), op as _) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned(ret: libc::c_int) -> OwnedFd {
    // SAFETY: NS_GET_USERNS/NS_GET_PARENT return a new descriptor that nothing
    // else owns; we take ownership of it exactly once here.
    unsafe { OwnedFd::from_raw_fd(ret) }
}

/// The user namespace that owns the namespace `fd` refers to.
/// EPERM when that user namespace lies outside the caller's.
pub fn owner_userns(fd: BorrowedFd<'_>, what: &str) -> Result<OwnedFd, Error> {
    ns_ioctl(fd, NS_GET_USERNS)
        .map(owned)
        .map_err(|source| Error::Ioctl {
            op: "NS_GET_USERNS".into(),
            what: what.to_string(),
            source,
        })
}

/// The parent of a PID or user namespace. `Ok(None)` at the top of the
/// hierarchy visible to the caller (EPERM), EINVAL for other kinds.
pub fn parent(fd: BorrowedFd<'_>, what: &str) -> Result<Option<OwnedFd>, Error> {
    match ns_ioctl(fd, NS_GET_PARENT) {
        Ok(ret) => Ok(Some(owned(ret))),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(None),
        Err(source) => Err(Error::Ioctl {
            op: "NS_GET_PARENT".into(),
            what: what.to_string(),
            source,
        }),
    }
}

/// The kind of namespace `fd` refers to.
pub fn kind(fd: BorrowedFd<'_>, what: &str) -> Result<NsKind, Error> {
    let flag = ns_ioctl(fd, NS_GET_NSTYPE).map_err(|source| Error::Ioctl {
        op: "NS_GET_NSTYPE".into(),
        what: what.to_string(),
        source,
    })?;
    NsKind::from_clone_flag(flag as u32 as u64).ok_or_else(|| Error::Ioctl {
        op: "NS_GET_NSTYPE".into(),
        what: what.to_string(),
        source: io::Error::new(
            io::ErrorKind::Unsupported,
            format!("unknown type {flag:#x}"),
        ),
    })
}

/// The uid (in the caller's user namespace) that created the user namespace `fd`.
pub fn owner_uid(fd: BorrowedFd<'_>, what: &str) -> Result<u32, Error> {
    let mut uid: libc::uid_t = 0;
    // SAFETY: NS_GET_OWNER_UID writes one uid_t through the pointer, which
    // points at `uid`, alive and writable for the whole call.
    let ret = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            NS_GET_OWNER_UID as _,
            &mut uid as *mut libc::uid_t,
        )
    };
    if ret < 0 {
        return Err(Error::Ioctl {
            op: "NS_GET_OWNER_UID".into(),
            what: what.to_string(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(uid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn open(name: &str) -> OwnedFd {
        std::fs::File::open(format!("/proc/self/ns/{name}"))
            .unwrap()
            .into()
    }

    #[test]
    fn nstype_matches_file() {
        for k in NsKind::ALL {
            let Ok(f) = std::fs::File::open(format!("/proc/self/ns/{}", k.proc_name())) else {
                continue;
            };
            assert_eq!(kind(f.as_fd(), "self").unwrap(), k);
        }
    }

    #[test]
    fn owner_of_net_is_a_user_namespace() {
        let net = open("net");
        let user = owner_userns(net.as_fd(), "net").unwrap();
        assert_eq!(kind(user.as_fd(), "owner").unwrap(), NsKind::User);
        // Our own net namespace is owned by our own user namespace.
        let st = rustix::fs::fstat(&user).unwrap();
        let mine = crate::ns_of_path("/proc/self/ns/user".as_ref()).unwrap();
        assert_eq!(st.st_ino, mine.ino);
    }

    #[test]
    fn parent_of_net_is_invalid() {
        let net = open("net");
        let err = parent(net.as_fd(), "net").unwrap_err();
        assert_eq!(err.errno(), Some(libc::EINVAL));
    }
}
