//! Entering the new root and sealing it: pivot_root (chroot leaves the old
//! root reachable), then, inside, masked paths, read-only paths and a
//! read-only root. Only a container without a mount namespace of its own
//! is chrooted: pivot_root there would move the host's root.

use std::path::Path;

use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

use super::mounts::locked_flags;
use super::{Failure, StepResult};
use crate::protocol::Step;

/// `pivot_root(".", ".")` from inside the rootfs stacks the old root on
/// top of the new one; detaching it (after making it rslave so the detach
/// cannot propagate to the host) leaves only the new root.
pub fn pivot_root(rootfs: &Path) -> Result<(), Failure> {
    let step = || Step::PivotRoot {
        path: rootfs.display().to_string(),
    };
    rustix::process::chdir(rootfs).step(step)?;
    rustix::process::pivot_root(".", ".").step(step)?;
    rustix::mount::mount_change(
        ".",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .step(step)?;
    rustix::mount::unmount(".", UnmountFlags::DETACH).step(step)?;
    rustix::process::chdir("/").step(step)
}

/// A container in the host's mount namespace (no `mount` in
/// linux.namespaces, as runc allows): `chroot` into the rootfs, the one way
/// to enter it without changing the host's mounts. The old root stays
/// reachable to a process holding CAP_SYS_CHROOT (runc's behaviour too);
/// that is what sharing the host's mount namespace means.
pub fn chroot(rootfs: &Path) -> Result<(), Failure> {
    let step = || Step::Chroot {
        path: rootfs.display().to_string(),
    };
    rustix::process::chdir(rootfs).step(step)?;
    rustix::process::chroot(".").step(step)?;
    rustix::process::chdir("/").step(step)
}

/// `maskedPaths`: a directory gets an empty read-only tmpfs, anything else
/// /dev/null; a path that does not exist needs no mask.
pub fn mask(path: &str) -> Result<(), Failure> {
    let step = || Step::Mask {
        path: path.to_string(),
    };
    let st = match rustix::fs::stat(path) {
        Ok(st) => st,
        Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NOTDIR) => return Ok(()),
        Err(e) => return Err(e).step(step),
    };
    if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory {
        rustix::mount::mount("tmpfs", path, "tmpfs", MountFlags::RDONLY, None).step(step)
    } else {
        rustix::mount::mount_bind("/dev/null", path).step(step)
    }
}

/// `readonlyPaths`: bound onto themselves and remounted read-only.
pub fn readonly(path: &str) -> Result<(), Failure> {
    let step = || Step::ReadonlyPath {
        path: path.to_string(),
    };
    match rustix::mount::mount_bind_recursive(path, path) {
        Ok(()) => {}
        Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NOTDIR) => return Ok(()),
        Err(e) => return Err(e).step(step),
    }
    let flags = MountFlags::BIND | MountFlags::RDONLY | locked_flags(Path::new(path));
    rustix::mount::mount_remount(path, flags, "").step(step)
}

/// `root.readonly`: the new / becomes read-only (its submounts keep theirs).
pub fn root_readonly() -> Result<(), Failure> {
    let flags = MountFlags::BIND | MountFlags::RDONLY | locked_flags(Path::new("/"));
    rustix::mount::mount_remount("/", flags, "").step(|| Step::RootReadonly)
}
