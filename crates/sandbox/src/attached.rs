//! A container's networks, whatever their kind (bridge: `network`, CNI:
//! `cni_net`, pasta: `pasta`): taken apart by what its bundle records, on every way out of
//! a run (the guard) and by `rm`.

use std::path::{Path, PathBuf};

use crate::Error;

/// Takes container `id`'s networks apart, bridge, CNI and pasta, by what its
/// bundle records (nothing recorded: nothing to do).
pub fn detach(root: &Path, bundle: &Path, id: &str) -> Result<(), Error> {
    crate::network::detach(root, bundle, id)?;
    crate::cni_net::detach(root, bundle, id)?;
    crate::pasta::detach(bundle)
}

/// Detaches the container when dropped, unless [`NetworkGuard::keep`]:
/// every way out of a run that attached it (before its bundle goes).
pub struct NetworkGuard {
    root: PathBuf,
    bundle: PathBuf,
    id: String,
    armed: bool,
}

impl NetworkGuard {
    pub fn new(root: &Path, bundle: &Path, id: &str) -> NetworkGuard {
        NetworkGuard {
            root: root.to_path_buf(),
            bundle: bundle.to_path_buf(),
            id: id.to_owned(),
            armed: true,
        }
    }

    /// The container stays on the network (detached run).
    pub fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for NetworkGuard {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = detach(&self.root, &self.bundle, &self.id) {
                eprintln!("nsbox: warning: container {}: {e}", self.id);
            }
        }
    }
}
