//! `lo` up in a new network namespace, as runc and crun do: a container
//! without its own network still expects 127.0.0.1 to work.

use std::os::fd::AsRawFd;

use super::{Failure, StepResult};
use crate::protocol::Step;

/// Sets IFF_UP on `lo` (SIOCGIFFLAGS, then SIOCSIFFLAGS) through a datagram
/// socket of the namespace; rustix has no interface ioctls.
pub fn up() -> Result<(), Failure> {
    let step = || Step::Loopback;
    let socket = rustix::net::socket_with(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::DGRAM,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )
    .step(step)?;
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: `req` is a valid ifreq naming "lo" (NUL-terminated) that
    // outlives the call; SIOCGIFFLAGS writes only its flags field.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(std::io::Error::last_os_error()).step(step);
    }
    // SAFETY: the union's flags member was just written by the kernel.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: as above; SIOCSIFFLAGS only reads `req`.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(std::io::Error::last_os_error()).step(step);
    }
    Ok(())
}
