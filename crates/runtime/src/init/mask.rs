//! `linux.maskedPaths`, inside the new root: what the container must not
//! read is covered (runc's and crun's way).

use rustix::mount::MountFlags;

use crate::step::{Failure, Step, StepResult};

/// `maskedPaths`: a directory gets an empty read-only tmpfs, anything else
/// /dev/null; a path that does not exist needs no mask.
pub fn path(path: &str) -> Result<(), Failure> {
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
