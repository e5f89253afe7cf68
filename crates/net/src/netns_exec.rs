//! Entering a named network namespace the way `ip netns exec` does, so
//! that the program sees that network everywhere it looks: the namespace
//! joined, then a mount namespace of its own (a slave of the caller's, so
//! nothing propagates back) where `/sys` is a fresh sysfs (its
//! `/sys/class/net` lists this namespace's devices) and each entry of
//! `/etc/netns/NAME/` is bound over the same name in `/etc` (a resolver
//! or hosts file per namespace).

use std::fs;
use std::io;
use std::path::Path;

use nsbox_ns::{NsFile, NsKind};
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

use crate::Error;

/// Moves the calling process into namespace NAME, as above. The caller
/// must be single-threaded (a new mount namespace needs an unshared
/// file-system context) and execs the program next. Returns the `/etc`
/// entries that could not be bound (a missing target, as iproute2 reports
/// and goes on).
pub fn enter(name: &str) -> Result<Vec<String>, Error> {
    let path = crate::netns::existing(name)?;
    NsFile::open(&path, Some(NsKind::Net))?.join()?;
    // SAFETY: CLONE_NEWNS gives this process a copy of its mount table; the
    // caller is single-threaded, so no other thread's view changes.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }.map_err(
        |e| Error::Sys {
            what: "unshare the mount namespace".into(),
            source: e.into(),
        },
    )?;
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(|e| Error::io("make slave", "/", e.into()))?;
    remount_sys(name)?;
    Ok(bind_etc(name))
}

/// A sysfs of the joined namespace on `/sys`, read-only if the old one was.
fn remount_sys(name: &str) -> Result<(), Error> {
    let sys = Path::new("/sys");
    let mut flags = MountFlags::empty();
    if rustix::fs::statvfs(sys)
        .is_ok_and(|s| s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
    {
        flags |= MountFlags::RDONLY;
    }
    rustix::mount::unmount(sys, UnmountFlags::DETACH)
        .map_err(|e| Error::io("unmount", sys, e.into()))?;
    rustix::mount::mount(name, sys, "sysfs", flags, None)
        .map_err(|e| Error::io("mount sysfs on", sys, e.into()))
}

/// Binds `/etc/netns/NAME/X` over `/etc/X` for each X; returns the ones
/// that failed (with why).
fn bind_etc(name: &str) -> Vec<String> {
    let dir = Path::new("/etc/netns").join(name);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut failed = Vec::new();
    for entry in entries.flatten() {
        let source = entry.path();
        let target = Path::new("/etc").join(entry.file_name());
        if let Err(e) = rustix::mount::mount_bind(&source, &target) {
            failed.push(format!(
                "bind {} on {}: {}",
                source.display(),
                target.display(),
                io::Error::from(e)
            ));
        }
    }
    failed
}
