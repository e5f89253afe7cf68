//! A `cgroup` mount on a v1 or hybrid host: a tmpfs at the destination
//! holding one directory per hierarchy, named as the host names its mount
//! (`memory`, `cpu,cpuacct`, `systemd`, `unified`), plus the host's
//! symlinks among them (`cpu -> cpu,cpuacct`).
//!
//! - With a cgroup namespace (new or joined), each hierarchy is mounted
//!   afresh (`cgroup` with its controllers or `name=`, `cgroup2` for the
//!   unified one): inside the namespace the kernel roots each mount at the
//!   namespace's cgroup, so the container sees its own cgroup as `/` and no
//!   host cgroup beside it.
//! - Without one, as runc does, each directory is a bind of the container's
//!   own cgroup in that hierarchy (its path from `/proc/self/cgroup`).
//!
//! Read-only (`ro`) is set afterwards by the caller on the tmpfs and every
//! mount beneath it at once.

use std::path::Path;

use nsbox_cgroups::{Hierarchy, Host, ProcCgroups};
use rustix::fs::Mode;
use rustix::mount::MountFlags;

use super::paths::{fd_path, Leaf, Root};
use crate::step::{Failure, Step, StepResult};

/// Mounts the hierarchies of this v1/hybrid host at `dest` (inside `root`),
/// whose directory `target` names before the tmpfs goes on it.
pub fn mount_v1(
    root: &Root,
    dest: &Path,
    target: &Path,
    flags: MountFlags,
    own_ns: bool,
) -> Result<(), Failure> {
    let dest_s = dest.display().to_string();
    let flags = flags & !MountFlags::RDONLY;
    let host_failure = |source: &str| Failure {
        step: Step::Mount {
            typ: "cgroup".into(),
            source: source.into(),
            dest: dest_s.clone(),
        },
        errno: libc::EIO,
    };
    let host = Host::detect().map_err(|_| host_failure("/proc/self/mountinfo"))?;
    let own = if own_ns {
        None
    } else {
        Some(ProcCgroups::own().map_err(|_| host_failure("/proc/self/cgroup"))?)
    };
    let mode = c"mode=755";
    rustix::mount::mount("tmpfs", target, "tmpfs", flags, Some(mode)).step(|| Step::Mount {
        typ: "tmpfs".into(),
        source: "tmpfs".into(),
        dest: dest_s.clone(),
    })?;
    // The descriptor taken before names the directory under the tmpfs.
    let dir = root
        .resolve_create(dest, Leaf::Dir)
        .step(|| Step::Resolve {
            path: dest_s.clone(),
        })?;
    let mut made = Vec::new();
    for h in host.v1.iter().chain(host.unified.as_ref()) {
        let name = dir_name(h);
        let sub_s = format!("{}/{name}", dest_s.trim_end_matches('/'));
        match rustix::fs::mkdirat(&dir, name.as_str(), Mode::from_raw_mode(0o555)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e).step(|| Step::Resolve { path: sub_s }),
        }
        let sub = fd_path(&dir).join(&name);
        match &own {
            None => {
                let (typ, data) = if h.controllers.is_empty() {
                    ("cgroup2", String::new())
                } else {
                    ("cgroup", h.controllers.join(","))
                };
                let data = std::ffi::CString::new(data).unwrap_or_default();
                rustix::mount::mount(typ, &sub, typ, flags, Some(data.as_c_str())).step(|| {
                    Step::Mount {
                        typ: typ.into(),
                        source: data.to_string_lossy().into_owned(),
                        dest: sub_s.clone(),
                    }
                })?;
            }
            Some(own) => {
                let source = own
                    .path_in(h)
                    .and_then(|p| h.dir_of(p))
                    .map_err(|_| host_failure(&format!("/proc/self/cgroup ({})", h.name())))?;
                rustix::mount::mount_bind(&source, &sub).step(|| Step::Mount {
                    typ: "bind".into(),
                    source: source.display().to_string(),
                    dest: sub_s.clone(),
                })?;
                if !flags.is_empty() {
                    // Flags the kernel locked on the source (user ns) stay.
                    let keep = super::mounts::locked_flags(&sub);
                    rustix::mount::mount_remount(&sub, MountFlags::BIND | flags | keep, "").step(
                        || Step::Remount {
                            dest: sub_s.clone(),
                            options: "nosuid,nodev,noexec".into(),
                        },
                    )?;
                }
            }
        }
        made.push(name);
    }
    links(&dir, &dest_s, &made)
}

/// A `cgroup` mount on a pure v2 host that the kernel refused to mount
/// afresh: a user namespace may mount cgroup2 only from a cgroup namespace
/// of its own (rootless podman runs its runtime in a user namespace and
/// asks for none), so, as runc and crun do, the container's own cgroup is
/// bound there instead, with the mount's flags (read-only, nosuid...).
pub fn bind_v2(dest: &Path, target: &Path, flags: MountFlags) -> Result<(), Failure> {
    let dest_s = dest.display().to_string();
    let host_failure = |source: &str| Failure {
        step: Step::Mount {
            typ: "cgroup2".into(),
            source: source.into(),
            dest: dest_s.clone(),
        },
        errno: libc::EIO,
    };
    let host = Host::detect().map_err(|_| host_failure("/proc/self/mountinfo"))?;
    let own = ProcCgroups::own().map_err(|_| host_failure("/proc/self/cgroup"))?;
    let unified = host
        .unified
        .as_ref()
        .ok_or_else(|| host_failure("/proc/self/mountinfo (no cgroup2 mount)"))?;
    let source = own
        .path_in(unified)
        .and_then(|p| unified.dir_of(p))
        .map_err(|_| host_failure("/proc/self/cgroup (unified)"))?;
    rustix::mount::mount_bind(&source, target).step(|| Step::Mount {
        typ: "bind".into(),
        source: source.display().to_string(),
        dest: dest_s.clone(),
    })?;
    if !flags.is_empty() {
        // Flags the kernel locked on the source (user ns) stay.
        let keep = super::mounts::locked_flags(target);
        rustix::mount::mount_remount(target, MountFlags::BIND | flags | keep, "").step(|| {
            Step::Remount {
                dest: dest_s.clone(),
                options: format!("{flags:?}"),
            }
        })?;
    }
    Ok(())
}

/// The name the host gives the hierarchy's directory: the last component
/// of its first mount point.
fn dir_name(h: &Hierarchy) -> String {
    h.mounts
        .first()
        .and_then(|m| m.point.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| h.name())
}

/// The host's `/sys/fs/cgroup` symlinks pointing at a directory we made
/// (`cpu -> cpu,cpuacct`), made again beside them.
fn links(dir: &std::os::fd::OwnedFd, dest_s: &str, made: &[String]) -> Result<(), Failure> {
    let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        if !made.contains(&target) {
            continue;
        }
        let name = entry.file_name();
        match rustix::fs::symlinkat(target.as_str(), dir, &name) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => {
                return Err(e).step(|| Step::Symlink {
                    path: format!("{dest_s}/{}", name.to_string_lossy()),
                    target,
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_named_as_on_the_host() {
        let host = Host::parse(
            "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
             40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n\
             41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
            Path::new("mountinfo"),
        )
        .unwrap();
        let names: Vec<String> = host
            .v1
            .iter()
            .chain(host.unified.as_ref())
            .map(dir_name)
            .collect();
        assert_eq!(names, ["cpu,cpuacct", "systemd", "unified"]);
        assert_eq!(host.v1[1].controllers, ["name=systemd"]);
    }
}
