//! Keeping a namespace alive after its last process is gone: bind-mount
//! `/proc/PID/ns/KIND` onto a file (`unshare --net=FILE`, `ip netns add`).
//! `nsenter --net=FILE` (or [`crate::NsFile::open`]) enters it later; unmounting
//! the file releases it.
//!
//! Files are prepared (created when missing) before any namespace exists, so
//! that a bad path fails early; binding happens once the namespace exists;
//! [`Persisted::undo`] takes back both when a later step fails.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::mount::UnmountFlags;

use crate::{Error, NsKind};

/// One namespace to keep: the new namespace of `kind`, bound on `path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistTarget {
    pub kind: NsKind,
    pub path: PathBuf,
}

#[derive(Debug)]
struct Entry {
    target: PersistTarget,
    created: bool,
    bound: bool,
}

/// The files of a set of [`PersistTarget`]s and what has been done to them.
///
/// Not undone on drop: after a fork both processes hold a copy, and only the
/// one that owns the outcome may act. Call [`undo`](Persisted::undo) or
/// [`keep`](Persisted::keep).
#[derive(Debug, Default)]
#[must_use = "call undo() or keep()"]
pub struct Persisted {
    entries: Vec<Entry>,
}

impl Persisted {
    /// Creates each target file that does not exist yet (an empty file, mode
    /// 0644 before umask). On failure, files created so far are removed.
    pub fn prepare(targets: &[PersistTarget]) -> Result<Persisted, Error> {
        let mut done = Persisted::default();
        for t in targets {
            match create_file(&t.path) {
                Ok(created) => done.entries.push(Entry {
                    target: t.clone(),
                    created,
                    bound: false,
                }),
                Err(source) => {
                    done.undo();
                    return Err(Error::PersistCreate {
                        kind: t.kind,
                        path: t.path.clone(),
                        source,
                    });
                }
            }
        }
        Ok(done)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Binds process `pid`'s namespaces onto the prepared files: its own
    /// namespace, or for pid and time the one its children get
    /// (`pid_for_children`, `time_for_children`). Stops at the first failure
    /// and leaves the undoing to the caller.
    pub fn bind(&mut self, pid: u32) -> Result<(), Error> {
        for e in self.entries.iter_mut().filter(|e| !e.bound) {
            let source = source_path(pid, e.target.kind);
            rustix::mount::mount_bind(&source, &e.target.path).map_err(|err| Error::Persist {
                source_path: source.clone(),
                target: e.target.path.clone(),
                source: err.into(),
            })?;
            e.bound = true;
        }
        Ok(())
    }

    /// Unmounts what was bound and removes the files this set created.
    /// Best effort: undo runs on a failure path whose error is already known.
    pub fn undo(self) {
        for e in self.entries.into_iter().rev() {
            if e.bound {
                let _ = rustix::mount::unmount(&e.target.path, UnmountFlags::DETACH);
            }
            if e.created {
                let _ = std::fs::remove_file(&e.target.path);
            }
        }
    }

    /// Leaves everything in place: the namespaces now outlive their processes.
    pub fn keep(self) {}
}

/// The `/proc` file naming the namespace of `kind` that `pid` created.
pub fn source_path(pid: u32, kind: NsKind) -> PathBuf {
    let name = kind.for_children_name().unwrap_or(kind.proc_name());
    PathBuf::from(format!("/proc/{pid}/ns/{name}"))
}

/// Releases a namespace kept on `path` (unmounts it; the file stays, as
/// util-linux leaves it). The namespace dies once nothing else holds it.
pub fn release(path: &Path) -> Result<(), Error> {
    rustix::mount::unmount(path, UnmountFlags::empty()).map_err(|e| Error::Unmount {
        target: path.to_path_buf(),
        source: e.into(),
    })
}

/// Creates `path` if missing; `Ok(true)` when this call created it.
fn create_file(path: &Path) -> io::Result<bool> {
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(path);
    match created {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if path.is_dir() {
                // A namespace file cannot be bound onto a directory.
                return Err(io::Error::from_raw_os_error(libc::EISDIR));
            }
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nsbox-persist-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn source_uses_for_children_for_pid_and_time() {
        assert_eq!(
            source_path(7, NsKind::Pid),
            PathBuf::from("/proc/7/ns/pid_for_children")
        );
        assert_eq!(
            source_path(7, NsKind::Time),
            PathBuf::from("/proc/7/ns/time_for_children")
        );
        assert_eq!(source_path(7, NsKind::Net), PathBuf::from("/proc/7/ns/net"));
    }

    #[test]
    fn prepare_creates_and_undo_removes_only_what_it_created() {
        let dir = scratch("prep");
        let existing = dir.join("existing");
        std::fs::write(&existing, "").unwrap();
        let fresh = dir.join("fresh");
        let p = Persisted::prepare(&[
            PersistTarget {
                kind: NsKind::Net,
                path: existing.clone(),
            },
            PersistTarget {
                kind: NsKind::Uts,
                path: fresh.clone(),
            },
        ])
        .unwrap();
        assert!(fresh.exists());
        p.undo();
        assert!(!fresh.exists());
        assert!(existing.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn prepare_failure_names_the_file_and_leaves_nothing() {
        let dir = scratch("fail");
        let fresh = dir.join("fresh");
        let bad = dir.join("missing-dir/file");
        let err = Persisted::prepare(&[
            PersistTarget {
                kind: NsKind::Net,
                path: fresh.clone(),
            },
            PersistTarget {
                kind: NsKind::Ipc,
                path: bad.clone(),
            },
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("create {} to keep the ipc namespace", bad.display())
        );
        assert!(!fresh.exists());
        let err = Persisted::prepare(&[PersistTarget {
            kind: NsKind::Net,
            path: dir.clone(),
        }])
        .unwrap_err();
        assert_eq!(err.errno(), Some(libc::EISDIR));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
