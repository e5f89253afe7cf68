//! `/dev/fuse`: the connection's first descriptor (which the holder keeps),
//! the mount that ties it to a directory, and the clones a server reads
//! requests from (each clone has its own queue of requests in progress, so
//! a server that dies takes only its own with it: the kernel ends them with
//! `ECONNABORTED` when the clone is closed, and the connection lives on as
//! long as the holder's descriptor does).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::mount::MountFlags;

use crate::error::{Error, Result};

/// Where the kernel's FUSE device is.
pub const DEVICE: &str = "/dev/fuse";

/// The type the view's mounts have in mountinfo (`fuse.` and our subtype).
pub const FS_TYPE: &str = "fuse.nsbox-proc-view";

/// `FUSE_DEV_IOC_CLONE`: `_IOR(229, 0, uint32_t)`.
const IOC_CLONE: libc::c_ulong = 0x8004_e500;

/// `/dev/fuse` (major 10, minor 229).
const DEV: (u32, u32) = (10, 229);

/// Opens a new connection's descriptor. It is inherited across exec (no
/// `O_CLOEXEC`): the holder's servers take it from its number.
pub fn open() -> Result<OwnedFd> {
    rustix::fs::open(DEVICE, OFlags::RDWR, Mode::empty()).map_err(|source| Error::Device {
        step: "open",
        source,
    })
}

/// Mounts the connection `fd` on `mount_point`: read-only, open to every
/// user (containers read as any uid, in user namespaces too).
pub fn mount(fd: BorrowedFd<'_>, mount_point: &Path) -> Result<()> {
    let data = format!(
        "fd={},rootmode=40000,user_id={},group_id={},allow_other",
        fd.as_raw_fd(),
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw()
    );
    let data = std::ffi::CString::new(data).unwrap_or_default();
    let flags = MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    rustix::mount::mount(
        "nsbox-proc-view",
        mount_point,
        FS_TYPE,
        flags,
        Some(data.as_c_str()),
    )
    .map_err(|source| Error::Mount {
        path: mount_point.to_owned(),
        source: source.into(),
    })
}

/// Whether a view is mounted on `mount_point` in this mount namespace (the
/// last mount there is one of ours).
pub fn mounted_at(mount_point: &Path) -> bool {
    let Ok(info) = std::fs::read("/proc/self/mountinfo") else {
        return false;
    };
    nsbox_ns::mountinfo::entries(&info)
        .filter_map(|(_, e)| e.ok())
        .filter(|e| e.mount_point() == mount_point)
        .last()
        .is_some_and(|e| e.fs_type == FS_TYPE.as_bytes())
}

/// Takes the connection descriptor a holder passed as number `raw`, after
/// checking that it is an open `/dev/fuse`.
pub fn inherited(raw: i32) -> Result<OwnedFd> {
    let bad = |source| Error::Device {
        step: "check the inherited descriptor",
        source,
    };
    // SAFETY: borrowed only for this fstat, which fails cleanly (EBADF) when
    // nothing is open at `raw`.
    let stat = rustix::fs::fstat(unsafe { BorrowedFd::borrow_raw(raw) }).map_err(bad)?;
    let rdev = (
        rustix::fs::major(stat.st_rdev),
        rustix::fs::minor(stat.st_rdev),
    );
    if stat.st_mode & libc::S_IFMT != libc::S_IFCHR || rdev != DEV {
        return Err(bad(rustix::io::Errno::BADF));
    }
    // SAFETY: `raw` is open (fstat succeeded) and is /dev/fuse; the holder
    // passed it to this process for the server alone, nothing else here
    // owns or closes it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// A new descriptor on the connection of `master`, with a request queue of
/// its own (closed on exec).
pub fn clone(master: BorrowedFd<'_>) -> Result<OwnedFd> {
    let fd = rustix::fs::open(DEVICE, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).map_err(
        |source| Error::Device {
            step: "open a clone",
            source,
        },
    )?;
    let id: u32 = master.as_raw_fd() as u32;
    // SAFETY: FUSE_DEV_IOC_CLONE reads one u32 (the master's descriptor
    // number) from the pointer, which points at `id`, alive for the call;
    // `fd` is an open /dev/fuse descriptor of ours.
    let rc = unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), IOC_CLONE, &id) };
    if rc != 0 {
        return Err(Error::Device {
            step: "clone the connection",
            source: rustix::io::Errno::from_raw_os_error(
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            ),
        });
    }
    Ok(fd)
}

/// Lazily unmounts whatever is mounted on `path` (a live view or a dead
/// one's); nothing mounted there is fine.
pub fn detach(path: &Path) -> Result<()> {
    use rustix::mount::{unmount, UnmountFlags};
    match unmount(path, UnmountFlags::DETACH) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOENT => Ok(()),
        Err(source) => Err(Error::Unmount {
            path: path.to_owned(),
            source,
        }),
    }
}
