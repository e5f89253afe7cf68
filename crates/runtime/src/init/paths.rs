//! Paths inside the rootfs, resolved without leaving it: every lookup is
//! `openat2(RESOLVE_IN_ROOT)` from the rootfs directory, so `..` and
//! absolute symlinks stay inside, as they will after pivot_root. Missing
//! components are created (directories, and the last one as a file when a
//! file is to be mounted or a device made there). The result is an
//! `O_PATH` descriptor; mounting on `/proc/self/fd/N` then hits exactly
//! that object, whatever the tree does meanwhile.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};

/// What to create at the last component when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    Dir,
    File,
}

/// The rootfs, open as a directory.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
}

impl Root {
    pub fn open(path: &Path) -> io::Result<Root> {
        let fd = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root { fd })
    }

    fn lookup(&self, rel: &Path, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        rustix::fs::openat2(
            self.fd.as_fd(),
            rel,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )
    }

    /// Opens `path` (absolute or relative, taken inside the rootfs) as
    /// `O_PATH`, creating what is missing; the final component follows
    /// symlinks inside the root, so a symlinked destination mounts where
    /// its target is, never outside.
    pub fn resolve_create(&self, path: &Path, leaf: Leaf) -> io::Result<OwnedFd> {
        self.resolve_create_at(path, leaf, 0)
    }

    fn resolve_create_at(&self, path: &Path, leaf: Leaf, depth: u32) -> io::Result<OwnedFd> {
        // As the kernel's MAXSYMLINKS: a loop of dangling links ends here.
        if depth > 40 {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        let rel = relative(path);
        match self.lookup(&rel, OFlags::PATH) {
            Ok(fd) => return Ok(fd),
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        let mut done = PathBuf::new();
        let parts: Vec<_> = rel.components().collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let name = part.as_os_str();
            done.push(name);
            match self.lookup(&done, OFlags::PATH) {
                Ok(fd) if last => return Ok(fd),
                Ok(_) => continue,
                Err(rustix::io::Errno::NOENT) => {}
                Err(e) => return Err(e.into()),
            }
            // O_PATH fds cannot be used with mkdirat; reopen the parent.
            let dir = self.lookup(
                Path::new(done.parent().unwrap_or(Path::new(""))),
                OFlags::RDONLY | OFlags::DIRECTORY,
            )?;
            let created = if last && leaf == Leaf::File {
                rustix::fs::openat(
                    dir.as_fd(),
                    name,
                    OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o644),
                )
                .map(drop)
            } else {
                rustix::fs::mkdirat(dir.as_fd(), name, Mode::from_raw_mode(0o755))
            };
            match created {
                Ok(()) => {}
                // A dangling symlink: create what it points to, inside the root.
                Err(rustix::io::Errno::EXIST) => {
                    if let Ok(target) = rustix::fs::readlinkat(dir.as_fd(), name, Vec::new()) {
                        let target = PathBuf::from(std::ffi::OsStr::from_bytes(target.as_bytes()));
                        let full = if target.is_absolute() {
                            target
                        } else {
                            done.parent().unwrap_or(Path::new("")).join(target)
                        };
                        let kind = if last { leaf } else { Leaf::Dir };
                        self.resolve_create_at(&full, kind, depth + 1)?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(self.lookup(&rel, OFlags::PATH)?)
    }

    /// Opens the parent directory of `path` inside the rootfs (created if
    /// missing), readable so that `*at` calls can create in it, and the
    /// last component's name.
    pub fn parent_dir(&self, path: &Path) -> io::Result<(OwnedFd, PathBuf)> {
        let rel = relative(path);
        let name = rel
            .file_name()
            .map(PathBuf::from)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        let parent = rel.parent().unwrap_or(Path::new(""));
        if !parent.as_os_str().is_empty() {
            self.resolve_create(parent, Leaf::Dir)?;
        }
        let fd = self.lookup(parent, OFlags::RDONLY | OFlags::DIRECTORY)?;
        Ok((fd, name))
    }
}

/// `/proc/self/fd/N`: the magic link through which mount(2) reaches the
/// object behind an `O_PATH` descriptor.
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `path` without its root and `.` components, lexically.
fn relative(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn creates_inside_and_symlinks_stay_inside() {
        let t = nsbox_testutil::TempDir::new("paths");
        let root = t.join("root");
        std::fs::create_dir(&root).unwrap();
        let outside = t.join("outside");
        std::fs::create_dir(&outside).unwrap();
        // An absolute symlink pointing "outside" must land inside the root.
        symlink(&outside, root.join("escape")).unwrap();
        symlink("../../..", root.join("up")).unwrap();
        let r = Root::open(&root).unwrap();
        r.resolve_create(Path::new("/escape/x/y"), Leaf::Dir)
            .unwrap();
        assert!(root
            .join(outside.strip_prefix("/").unwrap())
            .join("x/y")
            .is_dir());
        assert!(!outside.join("x").exists());
        r.resolve_create(Path::new("/up/etc/f"), Leaf::File)
            .unwrap();
        assert!(root.join("etc/f").is_file());
        let (dir, name) = r.parent_dir(Path::new("/dev/net/tun")).unwrap();
        assert_eq!(name, PathBuf::from("tun"));
        drop(dir);
        assert!(root.join("dev/net").is_dir());
    }
}
