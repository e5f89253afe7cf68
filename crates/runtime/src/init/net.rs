//! A new network namespace starts with its loopback device down. runc and
//! crun bring `lo` up in every network namespace they create, and engines
//! rely on it: podman's `--network none` container, and those joined to it
//! with `--net=container:NAME`, talk over 127.0.0.1. Two ioctls on a
//! datagram socket (get flags, set them with IFF_UP): cheaper than a
//! netlink exchange, and the socket is the only thing allocated.

use std::os::fd::AsRawFd;

use rustix::net::{AddressFamily, SocketFlags, SocketType};

use crate::step::{Failure, Step, StepResult};

/// Sets `lo` up in the current network namespace.
pub fn loopback_up() -> Result<(), Failure> {
    let sock = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .step(|| Step::LoopbackUp)?;
    // SAFETY: ifreq is plain old data (a name array and a union of
    // integers and sockaddrs); all zeroes is a valid value of it.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: `sock` is a live socket for the call; SIOCGIFFLAGS reads the
    // NUL-terminated name and writes ifru_flags in the ifreq we own.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } != 0 {
        return Err(std::io::Error::last_os_error()).step(|| Step::LoopbackUp);
    }
    // SAFETY: SIOCGIFFLAGS succeeded, so ifru_flags is the member the
    // kernel wrote.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    if flags & libc::IFF_UP as libc::c_short != 0 {
        return Ok(());
    }
    req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: as above; SIOCSIFFLAGS only reads the ifreq.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } != 0 {
        return Err(std::io::Error::last_os_error()).step(|| Step::LoopbackUp);
    }
    Ok(())
}
