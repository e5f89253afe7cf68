//! The container's mounts, in config order, before pivot_root: root
//! propagation, the rootfs bound onto itself, then each `mounts[i]` with
//! its destination created and resolved inside the rootfs.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;
use rustix::mount::{MountFlags, MountPropagationFlags, MoveMountFlags};

use nsbox_ns::mountattr::AttrChange;

use super::copyup;
use super::paths::{fd_path, Leaf, Root};
use crate::bundle::decode::{propagation_flag, MountExtensions};
use crate::step::{Failure, Step, StepResult};

/// A mount's options split the way mount(2) wants them.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    pub flags: MountFlags,
    /// `bind` or `rbind` was given.
    pub bind: bool,
    pub recursive: bool,
    pub propagation: Vec<(String, MountPropagationFlags)>,
    /// Everything else, for the file system (`size=`, `mode=`, `newinstance`...).
    pub data: String,
    /// `tmpcopyup`, `copy-symlink`, `idmap`, `ridmap`: never for mount(2).
    pub ext: MountExtensions,
    /// `rro`, `rnosuid`, `rnoatime`...: set on the mount and every mount
    /// beneath it, after it is made.
    pub recursive_attrs: AttrChange,
}

pub fn parse_options(options: &[String]) -> Options {
    let mut o = Options {
        flags: MountFlags::empty(),
        bind: false,
        recursive: false,
        propagation: Vec::new(),
        data: String::new(),
        ext: MountExtensions::default(),
        recursive_attrs: AttrChange::default(),
    };
    let mut data: Vec<&str> = Vec::new();
    for opt in options {
        if recursive_attr(&mut o.recursive_attrs, opt) {
            continue;
        }
        let (set, flag) = match opt.as_str() {
            "ro" => (true, MountFlags::RDONLY),
            "rw" => (false, MountFlags::RDONLY),
            "nosuid" => (true, MountFlags::NOSUID),
            "suid" => (false, MountFlags::NOSUID),
            "nodev" => (true, MountFlags::NODEV),
            "dev" => (false, MountFlags::NODEV),
            "noexec" => (true, MountFlags::NOEXEC),
            "exec" => (false, MountFlags::NOEXEC),
            "sync" => (true, MountFlags::SYNCHRONOUS),
            "async" => (false, MountFlags::SYNCHRONOUS),
            "dirsync" => (true, MountFlags::DIRSYNC),
            "noatime" => (true, MountFlags::NOATIME),
            "atime" => (false, MountFlags::NOATIME),
            "nodiratime" => (true, MountFlags::NODIRATIME),
            "diratime" => (false, MountFlags::NODIRATIME),
            "relatime" => (true, MountFlags::RELATIME),
            "norelatime" => (false, MountFlags::RELATIME),
            "strictatime" => (true, MountFlags::STRICTATIME),
            "nostrictatime" => (false, MountFlags::STRICTATIME),
            "lazytime" => (true, MountFlags::LAZYTIME),
            "nolazytime" => (false, MountFlags::LAZYTIME),
            "mand" => (true, MountFlags::PERMIT_MANDATORY_FILE_LOCKING),
            "nomand" => (false, MountFlags::PERMIT_MANDATORY_FILE_LOCKING),
            "nosymfollow" => (true, MountFlags::NOSYMFOLLOW),
            "silent" => (true, MountFlags::SILENT),
            "loud" => (false, MountFlags::SILENT),
            "defaults" | "remount" => continue,
            "bind" => {
                o.bind = true;
                continue;
            }
            "rbind" => {
                o.bind = true;
                o.recursive = true;
                continue;
            }
            word => {
                if o.ext.take(word) {
                    continue;
                }
                if let Some(p) = propagation_flag(word) {
                    o.propagation.push((word.to_string(), p));
                } else {
                    data.push(word);
                }
                continue;
            }
        };
        if set {
            o.flags |= flag;
        } else {
            o.flags &= !flag;
        }
    }
    o.data = data.join(",");
    o
}

/// The recursive mount options of runtime-spec 1.1 (runc 1.1, crun 1.8):
/// each word of mount(8)'s with an `r` in front, applied by
/// mount_setattr(AT_RECURSIVE). The access-time words pick one mode, the
/// last winning: `rnoatime`, `rstrictatime`, `rrelatime`; `ratime` and
/// `rnostrictatime` (not noatime, not strictatime) are the kernel's
/// default, relatime; `rnorelatime` (no relatime) is strictatime, where
/// runc and crun clear MOUNT_ATTR_RELATIME, which is 0, and so change
/// nothing. False for any other word.
fn recursive_attr(change: &mut AttrChange, word: &str) -> bool {
    use libc::{
        MOUNT_ATTR_NOATIME as NOATIME, MOUNT_ATTR_NODEV as NODEV,
        MOUNT_ATTR_NODIRATIME as NODIRATIME, MOUNT_ATTR_NOEXEC as NOEXEC,
        MOUNT_ATTR_NOSUID as NOSUID, MOUNT_ATTR_NOSYMFOLLOW as NOSYMFOLLOW,
        MOUNT_ATTR_RDONLY as RDONLY, MOUNT_ATTR_RELATIME as RELATIME,
        MOUNT_ATTR_STRICTATIME as STRICTATIME,
    };
    match word {
        "rro" => change.set(RDONLY),
        "rrw" => change.clear(RDONLY),
        "rnosuid" => change.set(NOSUID),
        "rsuid" => change.clear(NOSUID),
        "rnodev" => change.set(NODEV),
        "rdev" => change.clear(NODEV),
        "rnoexec" => change.set(NOEXEC),
        "rexec" => change.clear(NOEXEC),
        "rnodiratime" => change.set(NODIRATIME),
        "rdiratime" => change.clear(NODIRATIME),
        "rnosymfollow" => change.set(NOSYMFOLLOW),
        "rsymfollow" => change.clear(NOSYMFOLLOW),
        "rnoatime" => change.atime(NOATIME),
        "rstrictatime" | "rnorelatime" => change.atime(STRICTATIME),
        "rrelatime" | "ratime" | "rnostrictatime" => change.atime(RELATIME),
        _ => return false,
    }
    true
}

/// Step 1 of the root: every mount copied into the new namespace gets the
/// propagation to build with, so that nothing we mount leaks to the host
/// unless asked: `rshared` for a shared wish (the container's mounts then
/// reach the host: that is the wish), `rslave` for a slave one, else
/// `rprivate` (unbindable is applied after pivot_root, see
/// [`apply_root_propagation`]: nothing could be bound from an unbindable
/// tree). Then the rootfs is bound onto itself so that it is a mount point
/// pivot_root can use.
pub fn prepare_root(rootfs: &Path, propagation: Option<&str>) -> Result<(), Failure> {
    use MountPropagationFlags as P;
    let word = propagation.unwrap_or("rprivate");
    let flags = match propagation_flag(word) {
        Some(f) if f.contains(P::SHARED) => P::SHARED,
        Some(f) if f.contains(P::DOWNSTREAM) => P::DOWNSTREAM,
        _ => P::PRIVATE,
    };
    rustix::mount::mount_change("/", flags | P::REC).step(|| Step::RootPropagation {
        flags: word.to_string(),
    })?;
    // pivot_root refuses a new root whose parent mount is shared: with
    // `shared`/`rshared`, make just that parent private (as runc does).
    if flags.contains(MountPropagationFlags::SHARED) {
        if let Some(parent) = mount_point_of(rootfs) {
            rustix::mount::mount_change(&parent, MountPropagationFlags::PRIVATE).step(|| {
                Step::Propagation {
                    dest: parent.display().to_string(),
                    flag: "private".into(),
                }
            })?;
        }
    }
    rustix::mount::mount_bind_recursive(rootfs, rootfs).step(|| Step::BindRootfs {
        path: rootfs.display().to_string(),
    })
}

/// After pivot_root, `/` gets exactly the `rootfsPropagation` asked for
/// (`shared`, `rslave`, `unbindable`, ...); nothing when none was.
pub fn apply_root_propagation(propagation: Option<&str>) -> Result<(), Failure> {
    let Some(word) = propagation else {
        return Ok(());
    };
    let flags = propagation_flag(word).unwrap_or(MountPropagationFlags::PRIVATE);
    rustix::mount::mount_change("/", flags).step(|| Step::RootPropagation {
        flags: word.to_string(),
    })
}

/// The mount point of the mount that `path` lives on: the longest mount
/// point in /proc/self/mountinfo that is a prefix of it.
fn mount_point_of(path: &Path) -> Option<PathBuf> {
    let path = std::fs::canonicalize(path).ok()?;
    let info = std::fs::read("/proc/self/mountinfo").ok()?;
    nsbox_ns::mountinfo::entries(&info)
        .filter_map(|(_, entry)| Some(entry.ok()?.mount_point()))
        .filter(|p| path.starts_with(p))
        .max_by_key(|p| p.components().count())
}

/// Mounts one `mounts[i]` entry under the rootfs.
/// `cgroupns`: the container has a cgroup namespace (new or joined), which
/// decides what a `cgroup` mount shows on a v1 or hybrid host.
/// `idmapped`: the detached idmapped tree create made for this entry (the
/// runtime's idmapped module), attached here instead of a bind.
pub fn mount_one(
    root: &Root,
    bundle: &Path,
    m: &Mount,
    cgroupns: bool,
    idmapped: Option<BorrowedFd<'_>>,
) -> Result<(), Failure> {
    let dest = m.destination();
    let dest_s = dest.display().to_string();
    let options = parse_options(m.options().as_deref().unwrap_or(&[]));
    let typ = m.typ().clone().unwrap_or_default();
    let bind = options.bind || typ == "bind";
    let source = source_path(bundle, m);
    let mount_step = || Step::Mount {
        typ: if bind { "bind".into() } else { typ.clone() },
        source: source.display().to_string(),
        dest: dest_s.clone(),
    };
    if bind && options.ext.copy_symlink && source.is_symlink() {
        return copy_symlink(root, &source, dest, &dest_s);
    }
    let leaf = if bind && !source.is_dir() {
        Leaf::File
    } else {
        Leaf::Dir
    };
    let target_fd = root.resolve_create(dest, leaf).step(|| Step::Resolve {
        path: dest_s.clone(),
    })?;
    let target = fd_path(&target_fd);
    if bind {
        if let Some(tree) = idmapped {
            rustix::mount::move_mount(
                tree,
                c"",
                &target_fd,
                c"",
                MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
            )
            .step(mount_step)?;
        } else if options.recursive {
            rustix::mount::mount_bind_recursive(&source, &target).step(mount_step)?;
        } else {
            rustix::mount::mount_bind(&source, &target).step(mount_step)?;
        }
        // A bind mount takes its flags only by remounting; flags the kernel
        // locked on the source (in a user namespace) must be kept.
        if !options.flags.is_empty() {
            let target = remounted(root, dest, leaf, &dest_s)?;
            let target = fd_path(&target);
            let flags = options.flags | locked_flags(&target);
            rustix::mount::mount_remount(&target, MountFlags::BIND | flags, "").step(|| {
                Step::Remount {
                    dest: dest_s.clone(),
                    options: m.options().clone().unwrap_or_default().join(","),
                }
            })?;
        }
    } else if typ == "cgroup" || typ == "cgroup2" {
        if is_cgroup2_host() {
            let flags = options.flags;
            match rustix::mount::mount("cgroup2", &target, "cgroup2", flags, None) {
                Ok(()) => {}
                // a user namespace without a cgroup namespace of its own
                Err(rustix::io::Errno::PERM | rustix::io::Errno::BUSY) => {
                    super::cgroup_mount::bind_v2(dest, &target, flags)?
                }
                Err(e) => return Err(e).step(mount_step),
            }
        } else {
            super::cgroup_mount::mount_v1(root, dest, &target, options.flags, cgroupns)?;
        }
        if options.flags.contains(MountFlags::RDONLY) && !is_cgroup2_host() {
            // The hierarchies are submounts of the tmpfs: every one must
            // turn read-only, or the container could write its cgroups.
            let fd = remounted(root, dest, leaf, &dest_s)?;
            set_recursive(&fd_path(&fd), options.flags).step(|| Step::Remount {
                dest: dest_s.clone(),
                options: "ro (recursive)".into(),
            })?;
        }
    } else {
        let src = if source.as_os_str().is_empty() {
            PathBuf::from(&typ)
        } else {
            source.clone()
        };
        // What the rootfs holds there, opened before the tmpfs hides it.
        let copy_from = if options.ext.tmpcopyup {
            Some(
                copyup::open_source(target_fd.as_fd()).step(|| Step::CopyUp {
                    path: dest_s.clone(),
                })?,
            )
        } else {
            None
        };
        // Read-only comes after the copy: the tmpfs is filled first.
        let (flags, late_ro) = match copy_from {
            Some(_) if options.flags.contains(MountFlags::RDONLY) => {
                (options.flags - MountFlags::RDONLY, true)
            }
            _ => (options.flags, false),
        };
        let data = std::ffi::CString::new(options.data.clone()).unwrap_or_default();
        match rustix::mount::mount(&src, &target, typ.as_str(), flags, Some(data.as_c_str())) {
            // A sysfs belongs to a network namespace: from a user namespace
            // that does not own the one the container joined, the kernel
            // refuses it. As runc does, the host's /sys is bound instead
            // (recursively), with the entry's flags.
            Err(rustix::io::Errno::PERM) if typ == "sysfs" => {
                rustix::mount::mount_bind_recursive("/sys", &target).step(mount_step)?;
                let fd = remounted(root, dest, leaf, &dest_s)?;
                set_recursive(&fd_path(&fd), flags).step(|| Step::Remount {
                    dest: dest_s.clone(),
                    options: m.options().clone().unwrap_or_default().join(","),
                })?;
            }
            mounted => mounted.step(mount_step)?,
        }
        if let Some(from) = copy_from {
            let fd = remounted(root, dest, leaf, &dest_s)?;
            let keep_mode = options.data.split(',').any(|o| o.starts_with("mode="));
            copyup::copy_tree(from.as_fd(), &fd, keep_mode).map_err(|f| Failure {
                step: Step::CopyUp {
                    path: copyup::failed_path(&dest_s, &f),
                },
                errno: f.source.raw_os_error().unwrap_or(libc::EIO),
            })?;
            if late_ro {
                rustix::mount::mount_remount(fd_path(&fd), options.flags, "").step(|| {
                    Step::Remount {
                        dest: dest_s.clone(),
                        options: "ro".into(),
                    }
                })?;
            }
        }
    }
    if !options.recursive_attrs.is_empty() {
        let fd = remounted(root, dest, leaf, &dest_s)?;
        options
            .recursive_attrs
            .apply_recursive(&fd_path(&fd))
            .step(|| Step::Remount {
                dest: dest_s.clone(),
                options: recursive_words(m),
            })?;
    }
    if options.propagation.is_empty() {
        return Ok(());
    }
    // Our descriptor still names the directory under the new mount.
    let target = remounted(root, dest, leaf, &dest_s)?;
    let target = fd_path(&target);
    for (word, flag) in &options.propagation {
        rustix::mount::mount_change(&target, *flag).step(|| Step::Propagation {
            dest: dest_s.clone(),
            flag: word.clone(),
        })?;
    }
    Ok(())
}

/// The entry's recursive options, as written, for a failure's message.
fn recursive_words(m: &Mount) -> String {
    let mut scratch = AttrChange::default();
    let words: Vec<&str> = m
        .options()
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|w| recursive_attr(&mut scratch, w))
        .collect();
    words.join(",")
}

/// A bind source as mount(2) takes it: relative ones are relative to the
/// bundle directory.
pub fn source_path(bundle: &Path, m: &Mount) -> PathBuf {
    let source: PathBuf = m.source().clone().unwrap_or_default();
    let bind = m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind");
    if bind && source.is_relative() {
        bundle.join(source)
    } else {
        source
    }
}

/// `copy-symlink`: the destination becomes a symlink with the source
/// link's target (an existing link with that target is left as it is).
fn copy_symlink(root: &Root, source: &Path, dest: &Path, dest_s: &str) -> Result<(), Failure> {
    let target = std::fs::read_link(source).step(|| Step::Resolve {
        path: source.display().to_string(),
    })?;
    let step = || Step::Symlink {
        path: dest_s.to_string(),
        target: target.display().to_string(),
    };
    let (dir, name) = root.parent_dir(dest).step(step)?;
    match rustix::fs::symlinkat(target.as_path(), &dir, &name) {
        Err(rustix::io::Errno::EXIST)
            if rustix::fs::readlinkat(&dir, &name, Vec::new())
                .is_ok_and(|t| t.as_bytes() == target.as_os_str().as_encoded_bytes()) =>
        {
            Ok(())
        }
        other => other.step(step),
    }
}

/// The destination opened again after mounting on it: the descriptor
/// taken before names the directory underneath, not the new mount's root,
/// and remounts and propagation changes must reach the mount.
fn remounted(
    root: &Root,
    dest: &Path,
    leaf: Leaf,
    dest_s: &str,
) -> Result<std::os::fd::OwnedFd, Failure> {
    root.resolve_create(dest, leaf).step(|| Step::Resolve {
        path: dest_s.to_string(),
    })
}

fn is_cgroup2_host() -> bool {
    rustix::fs::statfs("/sys/fs/cgroup").is_ok_and(|st| st.f_type == libc::CGROUP2_SUPER_MAGIC)
}

/// Sets ro/nosuid/nodev/noexec from `flags` on the mount at `path` and
/// every mount beneath it, in one call: `mount_setattr(AT_RECURSIVE)`
/// (Linux 5.12).
pub fn set_recursive(path: &Path, flags: MountFlags) -> std::io::Result<()> {
    let mut set = 0;
    for (flag, attr) in [
        (MountFlags::RDONLY, libc::MOUNT_ATTR_RDONLY),
        (MountFlags::NOSUID, libc::MOUNT_ATTR_NOSUID),
        (MountFlags::NODEV, libc::MOUNT_ATTR_NODEV),
        (MountFlags::NOEXEC, libc::MOUNT_ATTR_NOEXEC),
    ] {
        if flags.contains(flag) {
            set |= attr;
        }
    }
    let attr = nsbox_ns::mountattr::MountAttr {
        set,
        ..Default::default()
    };
    nsbox_ns::mountattr::mount_setattr(rustix::fs::CWD, path, libc::AT_RECURSIVE as u32, &attr)
}

/// The flags of the mount at `path` that a remount must repeat: in a user
/// namespace the kernel refuses to clear nosuid/nodev/noexec/atime flags
/// set by a more privileged namespace.
pub fn locked_flags(path: &Path) -> MountFlags {
    let Ok(st) = rustix::fs::statvfs(path) else {
        return MountFlags::empty();
    };
    let keep = MountFlags::NOSUID
        | MountFlags::NODEV
        | MountFlags::NOEXEC
        | MountFlags::NOATIME
        | MountFlags::NODIRATIME
        | MountFlags::RELATIME;
    // ST_* values equal the MS_* ones for these flags.
    MountFlags::from_bits_truncate(st.f_flag.bits() as _) & keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Options {
        parse_options(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn mount_point_of_a_path() {
        assert_eq!(
            mount_point_of(Path::new("/proc/self")),
            Some(PathBuf::from("/proc"))
        );
    }

    #[test]
    fn splits_flags_data_and_propagation() {
        let o = opts(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, MountFlags::NOSUID | MountFlags::STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        let o = opts(&["rbind", "ro", "rprivate"]);
        assert!(o.bind && o.recursive);
        assert_eq!(o.flags, MountFlags::RDONLY);
        assert_eq!(o.propagation.len(), 1);
        let o = opts(&["ro", "rw", "newinstance", "ptmxmode=0666"]);
        assert!(o.flags.is_empty());
        assert_eq!(o.data, "newinstance,ptmxmode=0666");
    }

    #[test]
    fn recursive_words_become_attributes_not_flags_or_data() {
        let o = opts(&["rbind", "rro", "rnosuid", "rnoatime", "ro", "size=1m"]);
        assert_eq!(o.flags, MountFlags::RDONLY);
        assert_eq!(o.data, "size=1m");
        assert_eq!(
            o.recursive_attrs.set,
            libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NOATIME
        );
        assert_eq!(o.recursive_attrs.clear, libc::MOUNT_ATTR__ATIME);
        let o = opts(&["rro", "rrw", "rsuid", "ratime", "rsymfollow"]);
        assert_eq!(o.recursive_attrs.set, libc::MOUNT_ATTR_RELATIME);
        assert_eq!(
            o.recursive_attrs.clear,
            libc::MOUNT_ATTR_RDONLY
                | libc::MOUNT_ATTR_NOSUID
                | libc::MOUNT_ATTR__ATIME
                | libc::MOUNT_ATTR_NOSYMFOLLOW
        );
        assert!(opts(&["ro", "nosuid"]).recursive_attrs.is_empty());
    }

    #[test]
    fn extensions_never_reach_mount_data() {
        let o = opts(&["nosuid", "tmpcopyup", "size=1m", "copy-symlink", "ridmap"]);
        assert_eq!(o.data, "size=1m");
        assert!(o.ext.tmpcopyup && o.ext.copy_symlink);
        assert_eq!(o.ext.idmap, Some(crate::bundle::decode::IdmapWord::Ridmap));
        assert_eq!(
            opts(&["idmap"]).ext.idmap,
            Some(crate::bundle::decode::IdmapWord::Idmap)
        );
    }
}
