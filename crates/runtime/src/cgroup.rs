//! The cgroup step of `create`: a seam, not yet filled.
//!
//! `create` calls [`prepare`] after the state directory exists and before
//! the clone, which is where the container's cgroup must be made and its
//! limits applied (so nothing runs unlimited), and where a cgroup v2
//! directory fd for `CLONE_INTO_CGROUP` will come from. Issue 4 (crates/
//! cgroups) fills it in. Until then it creates nothing, applies no
//! `linux.resources`, and the container stays in nsbox's own cgroup; the
//! returned [`Placement`] says so, and nothing records a cgroup path.

use std::os::fd::BorrowedFd;

use oci_spec::runtime::Spec;

use crate::Error;

/// Where the container's init will be born, cgroup-wise.
#[derive(Debug, Default)]
pub struct Placement {
    _private: (),
}

impl Placement {
    /// The cgroup v2 directory to clone into, if any (none yet).
    pub fn clone_into(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

/// Creates the container's cgroup and applies `linux.resources` — not yet:
/// see the module documentation.
pub fn prepare(_id: &str, _spec: &Spec) -> Result<Placement, Error> {
    Ok(Placement::default())
}
