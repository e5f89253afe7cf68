//! A user namespace that exists only to carry id maps: what an idmapped
//! mount needs ([`crate::mountattr::idmapped_tree`]). A short-lived child
//! is cloned into a new user namespace and waits; the maps are written,
//! its namespace opened, and the child let go and reaped. The descriptor
//! keeps the namespace alive after the child is gone.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use crate::{CloneOptions, Error, Forked, IdMaps, NsKind};

/// A new user namespace with `maps` written, as an open `nsfs` descriptor.
///
/// Forks, and is safe to call with other threads alive: the child only
/// closes a descriptor, blocks in `read(2)` and leaves with `_exit(2)`, all
/// async-signal-safe.
pub fn userns_with_maps(maps: &IdMaps) -> Result<OwnedFd, Error> {
    let (hold, release) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| {
            Error::Supervise {
                step: "pipe for the id-map holder".into(),
                source: e.into(),
            }
        })?;
    let opts = CloneOptions {
        flags: NsKind::User.clone_flag(),
        pidfd: false,
        cgroup: None,
    };
    // SAFETY: the child calls only close(2), read(2) on its pipe end and
    // _exit(2), all async-signal-safe, so clone3's condition for a caller that may
    // have other threads holds; it never returns into our code.
    let pid = match unsafe { crate::clone3(&opts) }? {
        Forked::Child => {
            // Our copy of the write end would keep the pipe from EOF.
            drop(release);
            let mut byte = [0u8];
            // Returns at EOF: when the parent drops `release`.
            let _ = rustix::io::read(&hold, &mut byte);
            // SAFETY: _exit ends this copy at once, running none of the
            // parent's destructors.
            unsafe { libc::_exit(0) }
        }
        Forked::Parent { pid, .. } => pid,
    };
    let opened = maps.write(pid).and_then(|()| {
        let path = PathBuf::from(format!("/proc/{pid}/ns/user"));
        File::open(&path)
            .map(OwnedFd::from)
            .map_err(|source| Error::Open { path, source })
    });
    drop(release);
    let reaped = rustix::process::waitpid(
        rustix::process::Pid::from_raw(pid as i32),
        rustix::process::WaitOptions::empty(),
    );
    let fd = opened?;
    reaped.map_err(|e| Error::Wait {
        pid,
        source: e.into(),
    })?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdRange;

    #[test]
    fn carries_the_maps() {
        let maps = IdMaps {
            uid: vec![IdRange {
                inside: 0,
                outside: 100_000,
                count: 1000,
            }],
            gid: vec![IdRange::single(0, 200_000)],
            setgroups: None,
        };
        let fd = userns_with_maps(&maps).unwrap();
        // The namespace outlives its only process: the descriptor holds it.
        let kind = crate::ioctl::kind(std::os::fd::AsFd::as_fd(&fd), "test").unwrap();
        assert_eq!(kind, NsKind::User);
    }
}
