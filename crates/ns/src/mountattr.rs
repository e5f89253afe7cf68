//! `mount_setattr(2)` (Linux 5.12; rustix has no wrapper) and what is built
//! on it: mount attributes changed on a whole tree in one call, and
//! idmapped mounts, a detached copy of a tree (`open_tree(OPEN_TREE_CLONE)`)
//! whose files show their owners through a user namespace's id maps.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::mount::OpenTreeFlags;

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
struct RawMountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// What to change on a mount (`MOUNT_ATTR_*` bits, as libc names them).
#[derive(Debug, Default, Clone, Copy)]
pub struct MountAttr<'a> {
    pub set: u64,
    pub clear: u64,
    /// The user namespace whose maps an idmapped mount uses (with
    /// `MOUNT_ATTR_IDMAP` in `set`).
    pub userns: Option<BorrowedFd<'a>>,
}

/// `mount_setattr(dirfd, path, flags, attr)`; `flags` are `AT_*` bits
/// (`AT_RECURSIVE`: the mount and every mount beneath it).
pub fn mount_setattr(
    dirfd: BorrowedFd<'_>,
    path: &Path,
    flags: u32,
    attr: &MountAttr<'_>,
) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let raw = RawMountAttr {
        attr_set: attr.set,
        attr_clr: attr.clear,
        propagation: 0,
        userns_fd: attr.userns.map_or(0, |fd| fd.as_raw_fd() as u64),
    };
    // SAFETY: `c` is a NUL-terminated path and `raw` a fully initialised
    // mount_attr, both alive for the call; the size passed is its size, and
    // `dirfd` is an open descriptor borrowed for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd.as_raw_fd(),
            c.as_ptr(),
            flags as libc::c_uint,
            std::ptr::addr_of!(raw),
            std::mem::size_of::<RawMountAttr>(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A change of mount attributes (`MOUNT_ATTR_*` bits) built word by word,
/// a later word winning over an earlier one: what runtimes' recursive
/// mount options (`rro`, `rnosuid`, `rnoatime`...) ask for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AttrChange {
    pub set: u64,
    pub clear: u64,
}

impl AttrChange {
    /// Turns a flag attribute on (`MOUNT_ATTR_RDONLY`, `_NOSUID`, ...).
    pub fn set(&mut self, attr: u64) {
        self.set |= attr;
        self.clear &= !attr;
    }

    /// Turns a flag attribute off.
    pub fn clear(&mut self, attr: u64) {
        self.clear |= attr;
        self.set &= !attr;
    }

    /// Sets the access-time mode (`MOUNT_ATTR_RELATIME`, `_NOATIME` or
    /// `_STRICTATIME`): mount_setattr(2) takes one only with the whole
    /// `MOUNT_ATTR__ATIME` field in `attr_clr`.
    pub fn atime(&mut self, mode: u64) {
        self.set = (self.set & !libc::MOUNT_ATTR__ATIME) | mode;
        self.clear |= libc::MOUNT_ATTR__ATIME;
    }

    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clear == 0
    }

    /// Applies the change to the mount at `path` and every mount beneath
    /// it, in one call (`AT_RECURSIVE`): a sub-mount cannot stay writable
    /// under an `rro` one.
    pub fn apply_recursive(&self, path: &Path) -> io::Result<()> {
        let attr = MountAttr {
            set: self.set,
            clear: self.clear,
            userns: None,
        };
        mount_setattr(rustix::fs::CWD, path, libc::AT_RECURSIVE as u32, &attr)
    }
}

/// Which mounts of the tree at a source an idmapped copy takes, and which
/// of them get the id maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdmapDepth {
    /// The source mount alone (a plain bind).
    One,
    /// Every mount beneath the source (`rbind`), only the top one idmapped.
    TreeTopMapped,
    /// Every mount beneath the source, all idmapped (`ridmap`).
    TreeAllMapped,
}

/// A detached, idmapped copy of the mount tree at `source`: files owned by
/// id N on disk show as the id that `userns` maps N to (N inside, shown
/// outside), and files created through it are stored with the inverse.
/// Attach it with `move_mount`. The kernel refuses a file system that
/// cannot be idmapped with `EINVAL`, and a caller without `CAP_SYS_ADMIN`
/// over the file system with `EPERM`.
pub fn idmapped_tree(
    source: &Path,
    userns: BorrowedFd<'_>,
    depth: IdmapDepth,
) -> io::Result<OwnedFd> {
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if depth != IdmapDepth::One {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    let tree = rustix::mount::open_tree(rustix::fs::CWD, source, flags)?;
    let at = libc::AT_EMPTY_PATH as u32
        | if depth == IdmapDepth::TreeAllMapped {
            libc::AT_RECURSIVE as u32
        } else {
            0
        };
    let attr = MountAttr {
        set: libc::MOUNT_ATTR_IDMAP,
        clear: 0,
        userns: Some(userns),
    };
    mount_setattr(tree.as_fd(), Path::new(""), at, &attr)?;
    Ok(tree)
}

/// Whether the kernel can make idmapped mounts (Linux 5.12+), probed
/// without changing anything: an idmap through the initial user namespace
/// is refused with `EPERM` by a kernel that knows `MOUNT_ATTR_IDMAP`, with
/// `EINVAL` (unknown attribute) or `ENOSYS` by one that does not.
pub fn idmap_supported() -> bool {
    let Ok(me) = std::fs::File::open("/proc/self/ns/user") else {
        return false;
    };
    let attr = MountAttr {
        set: libc::MOUNT_ATTR_IDMAP,
        clear: 0,
        userns: Some(me.as_fd()),
    };
    let err = mount_setattr(rustix::fs::CWD, Path::new("/"), 0, &attr).err();
    err.and_then(|e| e.raw_os_error()) == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_words_win_and_atime_clears_its_field() {
        let mut c = AttrChange::default();
        c.set(libc::MOUNT_ATTR_RDONLY);
        c.clear(libc::MOUNT_ATTR_RDONLY);
        assert_eq!((c.set, c.clear), (0, libc::MOUNT_ATTR_RDONLY));
        c.set(libc::MOUNT_ATTR_RDONLY);
        assert_eq!((c.set, c.clear), (libc::MOUNT_ATTR_RDONLY, 0));
        c.atime(libc::MOUNT_ATTR_NOATIME);
        c.atime(libc::MOUNT_ATTR_STRICTATIME);
        assert_eq!(
            (c.set, c.clear),
            (
                libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_STRICTATIME,
                libc::MOUNT_ATTR__ATIME
            )
        );
        assert!(!c.is_empty() && AttrChange::default().is_empty());
    }

    #[test]
    fn the_initial_user_namespace_cannot_idmap() {
        // The kernel refuses an idmap through the initial user namespace
        // (it means "not idmapped"): EPERM, after checking the attribute is
        // known, which is how `nsbox features` probes.
        let me = std::fs::File::open("/proc/self/ns/user").unwrap();
        let err = idmapped_tree(Path::new("/"), me.as_fd(), IdmapDepth::One).unwrap_err();
        assert!(matches!(err.raw_os_error(), Some(libc::EPERM)), "{err}");
        assert!(idmap_supported(), "this kernel has idmapped mounts");
    }
}
