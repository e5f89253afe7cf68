//! The generated bundle: `ROOT/.bundles/ID/`, holding config.json and,
//! for a run on the host's root, the empty `rootfs/` that init binds the
//! host's root onto (inside the container's mount namespace, so the host's
//! mount table never changes). Only bundles in this directory may carry
//! nsbox's reserved annotations (`nsbox_runtime::extensions`). The
//! directory is made exclusively (a name in use is refused, never
//! overwritten) and removed, with `.bundles` when that is left empty, on
//! every way out, unless [`BundleDir::keep`] leaves it to a detached
//! container (`nsbox rm` removes it then).

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::Error;

/// `ROOT/.bundles/ID`, removed when dropped (unless kept).
#[derive(Debug)]
pub struct BundleDir {
    path: PathBuf,
}

impl BundleDir {
    /// Makes the bundle directory of container `id` under the state root
    /// (mode 0700), failing with [`Error::NameTaken`] when it exists.
    pub fn create(root: &Path, id: &str) -> Result<BundleDir, Error> {
        let path = BundleDir::path_of(root, id);
        let bundles = path.parent().expect("under .bundles").to_path_buf();
        let made = |p: &Path, r| {
            std::fs::DirBuilder::new()
                .recursive(r)
                .mode(0o700)
                .create(p)
        };
        // Another run's drop removes `.bundles` when it finds it empty,
        // possibly between our two mkdirs: then make it again.
        let mut tries = 0;
        loop {
            made(&bundles, true).map_err(|source| Error::CreateBundle {
                path: bundles.clone(),
                source,
            })?;
            match made(&path, false) {
                Ok(()) => return Ok(BundleDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(Error::NameTaken {
                        name: id.to_owned(),
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 100 => tries += 1,
                Err(source) => return Err(Error::CreateBundle { path, source }),
            }
        }
    }

    /// Where the bundle directory of container `id` is (or would be).
    pub fn path_of(root: &Path, id: &str) -> PathBuf {
        root.join(nsbox_runtime::extensions::BUNDLES).join(id)
    }

    /// The bundle directory of container `id` if it exists, to remove.
    pub fn existing(root: &Path, id: &str) -> Option<BundleDir> {
        let path = BundleDir::path_of(root, id);
        path.is_dir().then_some(BundleDir { path })
    }

    /// Leaves the directory in place (a detached container's).
    pub fn keep(self) {
        std::mem::forget(self);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The empty directory the host's root is bound onto.
    pub fn host_root_mount_point(&self) -> PathBuf {
        self.path.join("rootfs")
    }

    /// Makes the host root's mount point when the spec roots there, and
    /// writes `spec` as config.json.
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

/// Removes `ROOT/.bundles` when it is empty: a run killed between making
/// it and its bundle directory leaves it so (`nsbox rm` tidies it).
pub fn remove_if_empty(root: &Path) {
    let _ = std::fs::remove_dir(root.join(nsbox_runtime::extensions::BUNDLES));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_then_removed_with_the_empty_bundles_dir() {
        let root = std::env::temp_dir().join(format!("nsbox-bundle-dir-{}", std::process::id()));
        let spec = oci_spec::runtime::Spec::default();
        {
            let dir = BundleDir::create(&root, "x").unwrap();
            assert!(matches!(
                BundleDir::create(&root, "x"),
                Err(Error::NameTaken { .. })
            ));
            assert_eq!(dir.path(), root.join(".bundles/x"));
            dir.write(&spec).unwrap();
            assert!(dir.path().join("config.json").is_file());
            assert!(!dir.host_root_mount_point().exists());
        }
        assert!(!root.join(".bundles").exists());
        // Rooted at the mount point: that is made too.
        {
            let dir = BundleDir::create(&root, "y").unwrap();
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

    #[test]
    fn creates_racing_the_removal_of_the_empty_bundles_dir_all_succeed() {
        // Seen in churn: a run's drop removed `.bundles` between another's
        // two mkdirs, which failed with ENOENT.
        let root = std::env::temp_dir().join(format!("nsbox-bundle-race-{}", std::process::id()));
        std::thread::scope(|s| {
            for t in 0..4 {
                let root = &root;
                s.spawn(move || {
                    for i in 0..500 {
                        BundleDir::create(root, &format!("c{t}-{i}")).unwrap();
                    }
                });
            }
        });
        assert!(!root.join(".bundles").exists());
        std::fs::remove_dir(&root).unwrap();
    }
}
