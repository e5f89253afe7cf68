//! The network namespace a socket belongs to (`SIOCGSKNS`), for sockets held
//! by other processes (borrowed with `pidfd_getfd(2)`). A socket keeps its
//! network namespace alive after every process has left it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use rustix::process::{pidfd_getfd, pidfd_open, Pid, PidfdFlags, PidfdGetfdFlags};

/// `SIOCGSKNS` from <linux/sockios.h>: a new fd for the socket's network namespace.
const SIOCGSKNS: libc::c_ulong = 0x894c;

/// A pidfd for `pid`, to borrow several of its descriptors.
pub fn pidfd(pid: u32) -> Option<OwnedFd> {
    let pid = Pid::from_raw(i32::try_from(pid).ok()?)?;
    pidfd_open(pid, PidfdFlags::empty()).ok()
}

/// The network namespace of socket `fd` of the process behind `pidfd`, as an
/// nsfs descriptor. `None` when the process or the fd is gone, when we may not
/// ptrace the process, or when the socket is not a network socket.
pub fn socket_netns(pidfd: BorrowedFd<'_>, fd: u32) -> Option<OwnedFd> {
    let sock = pidfd_getfd(pidfd, i32::try_from(fd).ok()?, PidfdGetfdFlags::empty()).ok()?;
    netns_of_socket(sock.as_fd())
}

/// The network namespace of a socket we hold.
pub fn netns_of_socket(sock: BorrowedFd<'_>) -> Option<OwnedFd> {
    // SAFETY: `sock` is a live descriptor borrowed for the call; SIOCGSKNS takes
    // no argument pointer, so the kernel reads and writes no user memory.
    let ret = unsafe { libc::ioctl(sock.as_raw_fd(), SIOCGSKNS as _) };
    if ret < 0 {
        return None;
    }
    // SAFETY: on success SIOCGSKNS returns a new descriptor that nothing else
    // owns; ownership is taken exactly once, here.
    Some(unsafe { OwnedFd::from_raw_fd(ret) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_socket_is_in_own_netns() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let ns = netns_of_socket(sock.as_fd()).expect("SIOCGSKNS");
        let st = rustix::fs::fstat(&ns).unwrap();
        let mine = crate::ns_of_path("/proc/self/ns/net".as_ref()).unwrap();
        assert_eq!(st.st_ino, mine.ino);

        let me = pidfd(std::process::id()).unwrap();
        let via = socket_netns(me.as_fd(), sock.as_raw_fd() as u32).expect("pidfd_getfd");
        assert_eq!(rustix::fs::fstat(&via).unwrap().st_ino, mine.ino);
    }
}
