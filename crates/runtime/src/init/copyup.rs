//! `tmpcopyup` (runc's mount extension): a tmpfs mounted over a directory
//! of the rootfs starts with a copy of what that directory held, so an
//! image's `/run` or `/tmp` content survives a `--read-only` container's
//! writable tmpfs. Files, directories, symlinks, fifos and device nodes
//! are copied with their owner, mode and times; hard links become separate
//! files and extended attributes are not copied (runc keeps neither).

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat, Timestamps};

/// Directories deeper than this are not descended (a guard against a
/// pathological tree, far beyond any image's).
const MAX_DEPTH: u32 = 256;

/// Opens the directory `at` (an `O_PATH` descriptor of the destination,
/// taken before the tmpfs covers it) for reading: the source of the copy.
pub fn open_source(at: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        at,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Copies the content of directory `src` into directory `dst` (the new
/// tmpfs's root, opened through the mount). The tmpfs root takes the
/// source directory's owner, and its mode unless `keep_mode` (the mount's
/// options set `mode=`). `Err` carries the path, relative to the
/// destination, that could not be copied.
pub fn copy_tree(src: BorrowedFd<'_>, dst: &OwnedFd, keep_mode: bool) -> Result<(), Failed> {
    let root = dir_at(dst.as_fd(), c".").map_err(|e| Failed::at(".", e))?;
    copy_dir(src, root.as_fd(), "", 0)?;
    let st = rustix::fs::fstat(src).map_err(|e| Failed::at(".", e.into()))?;
    if !keep_mode {
        rustix::fs::fchmod(root.as_fd(), Mode::from_raw_mode(st.st_mode & 0o7777))
            .map_err(|e| Failed::at(".", e.into()))?;
    }
    attributes(root.as_fd(), c".", &st, false).map_err(|e| Failed::at(".", e))
}

/// What could not be copied.
#[derive(Debug)]
pub struct Failed {
    /// Relative to the mount's root (`.` for the root itself).
    pub path: String,
    pub source: io::Error,
}

impl Failed {
    fn at(path: &str, source: io::Error) -> Failed {
        Failed {
            path: path.to_string(),
            source,
        }
    }
}

fn dir_at(at: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        at,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

fn copy_dir(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, rel: &str, depth: u32) -> Result<(), Failed> {
    if depth > MAX_DEPTH {
        return Err(Failed::at(rel, io::Error::from_raw_os_error(libc::ELOOP)));
    }
    let mut dir = Dir::read_from(src).map_err(|e| Failed::at(rel, e.into()))?;
    while let Some(entry) = dir.read() {
        let entry = entry.map_err(|e| Failed::at(rel, e.into()))?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let path = format!("{rel}/{}", name.to_string_lossy());
        copy_entry(src, dst, name, &path, depth).map_err(|e| match e {
            Why::Here(source) => Failed { path, source },
            Why::Below(f) => f,
        })?;
    }
    Ok(())
}

/// A failure of this entry, or of something below it (already named).
enum Why {
    Here(io::Error),
    Below(Failed),
}

impl From<io::Error> for Why {
    fn from(e: io::Error) -> Why {
        Why::Here(e)
    }
}

impl From<rustix::io::Errno> for Why {
    fn from(e: rustix::io::Errno) -> Why {
        Why::Here(e.into())
    }
}

fn copy_entry(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    name: &CStr,
    path: &str,
    depth: u32,
) -> Result<(), Why> {
    let st = rustix::fs::statat(src, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let perm = Mode::from_raw_mode(st.st_mode & 0o7777);
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Directory => {
            rustix::fs::mkdirat(dst, name, Mode::from_raw_mode(0o700))?;
            let from = dir_at(src, name)?;
            let to = dir_at(dst, name)?;
            copy_dir(from.as_fd(), to.as_fd(), path, depth + 1).map_err(Why::Below)?;
            rustix::fs::fchmod(to.as_fd(), perm)?;
        }
        FileType::RegularFile => {
            let from = rustix::fs::openat(
                src,
                name,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            let to = rustix::fs::openat(
                dst,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )?;
            let mut from = std::fs::File::from(from);
            let mut to = std::fs::File::from(to);
            io::copy(&mut from, &mut to)?;
            // After the chown, which clears set-id bits.
            unmapped_is_ours(rustix::fs::fchown(&to, Some(uid(&st)), Some(gid(&st))))?;
            rustix::fs::fchmod(&to, perm)?;
            rustix::fs::futimens(&to, &times(&st))?;
            return Ok(());
        }
        FileType::Symlink => {
            let target = rustix::fs::readlinkat(src, name, Vec::new())?;
            rustix::fs::symlinkat(target.as_c_str(), dst, name)?;
            return Ok(attributes(dst, name, &st, true)?);
        }
        FileType::Fifo | FileType::CharacterDevice | FileType::BlockDevice => {
            let kind = FileType::from_raw_mode(st.st_mode);
            rustix::fs::mknodat(dst, name, kind, perm, st.st_rdev)?;
        }
        // A socket is a listener's, and means nothing without it.
        _ => return Ok(()),
    }
    attributes(dst, name, &st, false)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        // Owner changes clear set-id bits: set the mode again.
        rustix::fs::chmodat(dst, name, perm, AtFlags::empty())?;
    }
    Ok(())
}

/// Owner, then times, of `name` in `dir` (the link itself for symlinks).
fn attributes(dir: BorrowedFd<'_>, name: &CStr, st: &Stat, link: bool) -> io::Result<()> {
    let flags = if link {
        AtFlags::SYMLINK_NOFOLLOW
    } else {
        AtFlags::empty()
    };
    unmapped_is_ours(rustix::fs::chownat(
        dir,
        name,
        Some(uid(st)),
        Some(gid(st)),
        flags,
    ))?;
    rustix::fs::utimensat(dir, name, &times(st), flags)?;
    Ok(())
}

/// In a user namespace a rootfs file owned by an id outside its maps shows
/// as the overflow id, which cannot be given (EINVAL): the copy then stays
/// the copier's (the container's root), rather than failing the container.
fn unmapped_is_ours(done: rustix::io::Result<()>) -> rustix::io::Result<()> {
    match done {
        Err(rustix::io::Errno::INVAL) => Ok(()),
        other => other,
    }
}

fn uid(st: &Stat) -> rustix::fs::Uid {
    rustix::fs::Uid::from_raw(st.st_uid)
}

fn gid(st: &Stat) -> rustix::fs::Gid {
    rustix::fs::Gid::from_raw(st.st_gid)
}

fn times(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: st.st_atime as _,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: st.st_mtime as _,
            tv_nsec: st.st_mtime_nsec as _,
        },
    }
}

/// `path` for a [`Failed`] message: the destination joined with the
/// relative path that failed.
pub fn failed_path(dest: &str, failed: &Failed) -> String {
    let rel = failed.path.trim_start_matches('/');
    if rel == "." || rel.is_empty() {
        dest.to_string()
    } else {
        format!("{}/{rel}", dest.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn copies_files_dirs_links_with_modes_and_times() {
        let base = std::env::temp_dir().join(format!("nsbox-copyup-{}", std::process::id()));
        let (src, dst) = (base.join("src"), base.join("dst"));
        std::fs::create_dir_all(src.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::write(src.join("file"), "content\n").unwrap();
        std::fs::set_permissions(src.join("file"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::write(src.join("sub/deeper/x"), "x").unwrap();
        std::fs::set_permissions(src.join("sub"), std::fs::Permissions::from_mode(0o711)).unwrap();
        std::os::unix::fs::symlink("../file", src.join("sub/link")).unwrap();
        rustix::fs::utimensat(
            rustix::fs::CWD,
            src.join("file"),
            &Timestamps {
                last_access: rustix::fs::Timespec {
                    tv_sec: 1_000_000,
                    tv_nsec: 0,
                },
                last_modification: rustix::fs::Timespec {
                    tv_sec: 2_000_000,
                    tv_nsec: 5,
                },
            },
            AtFlags::empty(),
        )
        .unwrap();
        let s = std::fs::File::open(&src).unwrap();
        let d = OwnedFd::from(std::fs::File::open(&dst).unwrap());
        copy_tree(s.as_fd(), &d, false).unwrap();
        assert_eq!(std::fs::read(dst.join("file")).unwrap(), b"content\n");
        let m = std::fs::metadata(dst.join("file")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o640);
        assert_eq!((m.mtime(), m.mtime_nsec()), (2_000_000, 5));
        assert_eq!(
            std::fs::metadata(dst.join("sub")).unwrap().mode() & 0o7777,
            0o711
        );
        assert_eq!(std::fs::read(dst.join("sub/deeper/x")).unwrap(), b"x");
        assert_eq!(
            std::fs::read_link(dst.join("sub/link")).unwrap(),
            std::path::Path::new("../file")
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
