//! `linux.readonlyPaths` and `root.readonly`, inside the new root: bind
//! mounts remounted read-only, keeping the flags the kernel locked.

use std::path::Path;

use rustix::mount::MountFlags;

use super::mounts::locked_flags;
use crate::step::{Failure, Step, StepResult};

/// `readonlyPaths`: bound onto themselves and remounted read-only.
pub fn path(path: &str) -> Result<(), Failure> {
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
pub fn root() -> Result<(), Failure> {
    let flags = MountFlags::BIND | MountFlags::RDONLY | locked_flags(Path::new("/"));
    rustix::mount::mount_remount("/", flags, "").step(|| Step::RootReadonly)
}
