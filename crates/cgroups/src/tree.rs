//! The directories of one cgroup in one hierarchy: made with `mkdir -p`
//! while recording which ones it made, so that removal takes away exactly
//! those (deepest first, retrying while the kernel still reports EBUSY) and
//! never a cgroup someone else created, nor a parent another cgroup now
//! uses.

use std::io;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A cgroup directory in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dir {
    /// The hierarchy's controllers (`cpu,cpuacct`, `name=systemd`), empty for
    /// the unified hierarchy.
    pub controllers: Vec<String>,
    /// The cgroup's directory.
    pub path: PathBuf,
    /// The directories `create` made, outermost first. Only these are ever
    /// removed.
    pub created: Vec<PathBuf>,
}

impl Dir {
    pub fn new(controllers: Vec<String>, path: PathBuf) -> Dir {
        Dir {
            controllers,
            path,
            created: Vec::new(),
        }
    }

    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// `mkdir -p`, recording each directory made. An existing leaf is reused
    /// (it may be a cgroup the caller prepared) but then not removed later.
    pub fn create(&mut self) -> Result<()> {
        // A parent found existing may be removed before the child is made
        // (the last cgroup under it deleted, and with it the parent its
        // creator made): walk again.
        for _ in 0..3 {
            match self.create_missing() {
                Err(Error::Mkdir { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
                done => return done,
            }
        }
        self.create_missing()
    }

    fn create_missing(&mut self) -> Result<()> {
        let mut missing = Vec::new();
        let mut p = self.path.as_path();
        while !p.exists() {
            missing.push(p.to_owned());
            match p.parent() {
                Some(parent) => p = parent,
                None => break,
            }
        }
        for d in missing.into_iter().rev() {
            match std::fs::create_dir(&d) {
                Ok(()) => self.created.push(d),
                // Someone made it meanwhile: it is not ours to remove.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(Error::Mkdir { path: d, source }),
            }
        }
        Ok(())
    }

    /// Takes the leaf as this handle's own when it made nothing yet and the
    /// leaf exists: for a handle recorded before `create`, whose creator was
    /// killed in the middle (the leaf is the cgroup's own, unique path).
    pub fn adopt_leaf(&mut self) {
        if self.created.is_empty() && self.path.is_dir() {
            self.created.push(self.path.clone());
        }
    }

    /// Removes the directories this handle created, deepest first. The leaf's
    /// own sub-cgroups (made by the processes inside) go first. Processes
    /// must be gone; EBUSY is retried with a short backoff because an exiting
    /// process leaves its cgroup a moment after it is reaped.
    pub fn remove(&mut self) -> Result<()> {
        if self.created.last() == Some(&self.path) {
            remove_children(&self.path)?;
        }
        while let Some(d) = self.created.last() {
            // An outer directory made for this cgroup may hold another's by
            // now (containers under one parent, as Docker's cgroup-parent):
            // it stays, and so does everything above it.
            if d != &self.path && has_subdirs(d) {
                self.created.clear();
                break;
            }
            rmdir_retry(d)?;
            self.created.pop();
        }
        Ok(())
    }
}

fn has_subdirs(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .is_ok_and(|mut rd| rd.any(|e| e.is_ok_and(|e| e.file_type().is_ok_and(|t| t.is_dir()))))
}

/// Removes every sub-cgroup beneath `dir` (not `dir` itself), deepest first.
fn remove_children(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Read {
                path: dir.to_owned(),
                source,
            })
        }
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let p = e.path();
            remove_children(&p)?;
            rmdir_retry(&p)?;
        }
    }
    Ok(())
}

/// rmdir, retrying EBUSY for about a second; a directory already gone is fine.
pub fn rmdir_retry(d: &Path) -> Result<()> {
    let mut delay = Duration::from_millis(1);
    for attempt in 0.. {
        match std::fs::remove_dir(d) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 12 => {
                sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(200));
            }
            Err(source) => {
                return Err(Error::Rmdir {
                    path: d.to_owned(),
                    source,
                })
            }
        }
    }
    unreachable!("the retry loop returns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_records_and_remove_takes_only_those() {
        let t = nsbox_testutil::TempDir::new("cg-tree");
        std::fs::create_dir(t.join("own")).unwrap();
        let mut d = Dir::new(vec!["pids".into()], t.join("own/a/b"));
        d.create().unwrap();
        assert_eq!(d.created, vec![t.join("own/a"), t.join("own/a/b")]);
        // a sub-cgroup the container made
        std::fs::create_dir(t.join("own/a/b/inner")).unwrap();
        d.remove().unwrap();
        assert!(d.created.is_empty());
        assert!(!t.join("own/a").exists());
        assert!(t.join("own").exists());
    }

    #[test]
    fn a_parent_another_cgroup_still_uses_stays() {
        let t = nsbox_testutil::TempDir::new("cg-tree-shared");
        std::fs::create_dir(t.join("own")).unwrap();
        let mut first = Dir::new(vec![], t.join("own/parent/first"));
        first.create().unwrap();
        assert_eq!(first.created.len(), 2, "it made the parent");
        let mut second = Dir::new(vec![], t.join("own/parent/second"));
        second.create().unwrap();
        first.remove().unwrap();
        assert!(!t.join("own/parent/first").exists());
        assert!(t.join("own/parent/second").exists(), "{:?}", first.created);
        assert!(first.created.is_empty());
        second.remove().unwrap();
        assert!(t.join("own/parent").exists(), "second did not make it");
    }

    #[test]
    fn existing_leaf_is_never_removed() {
        let t = nsbox_testutil::TempDir::new("cg-tree-existing");
        std::fs::create_dir_all(t.join("own/x")).unwrap();
        let mut d = Dir::new(vec![], t.join("own/x"));
        d.create().unwrap();
        assert!(d.created.is_empty());
        d.remove().unwrap();
        assert!(t.join("own/x").exists());
    }

    #[test]
    fn rmdir_error_names_path() {
        let t = nsbox_testutil::TempDir::new("cg-tree-err");
        std::fs::create_dir_all(t.join("a")).unwrap();
        std::fs::write(t.join("a/file"), "").unwrap();
        let e = rmdir_retry(&t.join("a")).unwrap_err();
        assert!(
            e.to_string().starts_with("remove cgroup directory /tmp/"),
            "{e}"
        );
    }
}
