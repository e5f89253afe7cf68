//! Entering the new root: pivot_root (chroot leaves the old root
//! reachable). Only a container without a mount namespace of its own is
//! chrooted ([`chroot`]): pivot_root there would move the host's root.
//! `--no-pivot` (runc's flag, for roots where pivot_root fails, such as an
//! initramfs) moves the rootfs onto / and chroots instead ([`move_root`]).

use std::path::Path;

use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

use crate::step::{Failure, Step, StepResult};

/// `pivot_root(".", ".")` from inside the rootfs stacks the old root on
/// top of the new one; detaching it (after making it rslave so the detach
/// cannot propagate to the host) leaves only the new root.
pub fn pivot_root(rootfs: &Path) -> Result<(), Failure> {
    let step = || Step::PivotRoot {
        path: rootfs.display().to_string(),
    };
    rustix::process::chdir(rootfs).step(step)?;
    rustix::process::pivot_root(".", ".").step(step)?;
    rustix::mount::mount_change(
        ".",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .step(step)?;
    rustix::mount::unmount(".", UnmountFlags::DETACH).step(step)?;
    rustix::process::chdir("/").step(step)
}

/// `--no-pivot`: the rootfs mount moved onto `/` (MS_MOVE) and chrooted
/// into, all in the container's mount namespace. The old root stays
/// beneath it, so, as runc does first, every full procfs and sysfs mount
/// outside the rootfs is detached (made rslave first, so nothing
/// propagates to the host) or, when that is refused, covered with a
/// tmpfs: with one of them reachable the kernel would let the container
/// mount a fresh, unmasked proc or sysfs.
pub fn move_root(rootfs: &Path) -> Result<(), Failure> {
    let step = || Step::MoveRoot {
        path: rootfs.display().to_string(),
    };
    // mountinfo names mount points by their real paths: the rootfs's own
    // mounts (proc among them) must be recognised behind a symlink.
    let real = std::fs::canonicalize(rootfs).step(step)?;
    let info = std::fs::read("/proc/self/mountinfo").step(step)?;
    for point in full_proc_and_sys(&info, &real) {
        let hide = || Step::Mask {
            path: point.display().to_string(),
        };
        match rustix::mount::mount_change(
            &point,
            MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
        ) {
            Ok(()) => {}
            // Gone with a mount above it that was detached already.
            Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => return Err(e).step(hide),
        }
        match rustix::mount::unmount(&point, UnmountFlags::DETACH) {
            Ok(()) => {}
            Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::PERM) => {
                rustix::mount::mount("tmpfs", &point, "tmpfs", MountFlags::empty(), None)
                    .step(hide)?
            }
            Err(e) => return Err(e).step(hide),
        }
    }
    rustix::process::chdir(rootfs).step(step)?;
    rustix::mount::mount_move(rootfs, "/").step(step)?;
    rustix::process::chroot(".").step(step)?;
    rustix::process::chdir("/").step(step)
}

/// Mount points of whole (root `/`) proc and sysfs mounts outside
/// `rootfs`, deepest last (the order of mountinfo).
fn full_proc_and_sys(mountinfo: &[u8], rootfs: &Path) -> Vec<std::path::PathBuf> {
    nsbox_ns::mountinfo::entries(mountinfo)
        .filter_map(|(_, entry)| {
            let entry = entry.ok()?;
            let point = entry.mount_point();
            (entry.is_whole()
                && matches!(entry.fs_type, b"proc" | b"sysfs")
                && !point.starts_with(rootfs))
            .then_some(point)
        })
        .collect()
}

/// A container in the host's mount namespace (no `mount` in
/// linux.namespaces, as runc allows): `chroot` into the rootfs, the one way
/// to enter it without changing the host's mounts. The old root stays
/// reachable to a process holding CAP_SYS_CHROOT (runc's behaviour too);
/// that is what sharing the host's mount namespace means.
pub fn chroot(rootfs: &Path) -> Result<(), Failure> {
    let step = || Step::Chroot {
        path: rootfs.display().to_string(),
    };
    rustix::process::chdir(rootfs).step(step)?;
    rustix::process::chroot(".").step(step)?;
    rustix::process::chdir("/").step(step)
}

#[cfg(test)]
mod tests {
    #[test]
    fn whole_proc_and_sys_outside_the_rootfs() {
        let info = "\
22 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw
23 22 0:5 / /proc rw shared:2 - proc proc rw
24 22 0:6 / /sys rw shared:3 - sysfs sysfs rw
25 22 0:5 /sys /mnt/procsys rw - proc proc rw
26 22 0:7 / /b/rootfs/proc rw - proc proc rw
27 22 0:5 / /b/rootfs2 rw - proc proc rw
28 22 0:8 / /tmp rw - tmpfs tmpfs rw
";
        let got = super::full_proc_and_sys(info.as_bytes(), std::path::Path::new("/b/rootfs"));
        let want: Vec<std::path::PathBuf> = ["/proc", "/sys", "/b/rootfs2"]
            .iter()
            .map(Into::into)
            .collect();
        assert_eq!(got, want);
    }
}
