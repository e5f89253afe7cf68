//! The generated bundle: `ROOT/.bundles/ID/`, holding config.json and,
//! for a run on the host's root, the empty `rootfs/` that init binds the
//! host's root onto (inside the container's mount namespace, so the host's
//! mount table never changes). Only bundles in this directory may carry
//! nsbox's reserved annotations (`nsbox_runtime::extensions`). The bundle
//! is removed, with `.bundles` when that is left empty, on every way out.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::Error;

/// `ROOT/.bundles/ID`, removed when dropped.
#[derive(Debug)]
pub struct BundleDir {
    path: PathBuf,
}

impl BundleDir {
    /// The bundle directory of container `id` under the state root; made
    /// by [`BundleDir::write`].
    pub fn new(root: &Path, id: &str) -> BundleDir {
        BundleDir {
            path: root.join(nsbox_runtime::extensions::BUNDLES).join(id),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The empty directory the host's root is bound onto.
    pub fn host_root_mount_point(&self) -> PathBuf {
        self.path.join("rootfs")
    }

    /// Makes the directory (and the host root's mount point when the spec
    /// roots there) and writes `spec` as config.json.
    pub fn write(&self, spec: &Spec) -> Result<(), Error> {
        let mkdir = |p: &Path| {
            std::fs::DirBuilder::new()
                .recursive(true)
                .create(p)
                .map_err(|source| Error::CreateBundle {
                    path: p.to_path_buf(),
                    source,
                })
        };
        mkdir(&self.path)?;
        let mount_point = self.host_root_mount_point();
        if spec.root().as_ref().map(|r| r.path()) == Some(&mount_point) {
            mkdir(&mount_point)?;
        }
        let config = self.path.join("config.json");
        let err = |source| Error::WriteConfig {
            path: config.clone(),
            source,
        };
        let text = serde_json::to_vec(spec).map_err(|e| err(e.into()))?;
        nsbox_runtime::state::write_atomic(&config, &text, 0o600).map_err(err)
    }
}

impl Drop for BundleDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        if let Some(parent) = self.path.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_then_removed_with_the_empty_bundles_dir() {
        let root = std::env::temp_dir().join(format!("nsbox-bundle-dir-{}", std::process::id()));
        let spec = oci_spec::runtime::Spec::default();
        {
            let dir = BundleDir::new(&root, "x");
            assert_eq!(dir.path(), root.join(".bundles/x"));
            dir.write(&spec).unwrap();
            assert!(dir.path().join("config.json").is_file());
            assert!(!dir.host_root_mount_point().exists());
        }
        assert!(!root.join(".bundles").exists());
        // Rooted at the mount point: that is made too.
        {
            let dir = BundleDir::new(&root, "y");
            let mut spec = spec.clone();
            let mut r = spec.root().clone().unwrap();
            r.set_path(dir.host_root_mount_point());
            spec.set_root(Some(r));
            dir.write(&spec).unwrap();
            assert!(dir.host_root_mount_point().is_dir());
        }
        assert!(!root.join(".bundles").exists());
        std::fs::remove_dir(&root).unwrap();
    }
}
