//! /dev inside the rootfs: the default devices every container gets, the
//! config's `linux.devices`, and the standard links. In a user namespace
//! mknod is refused, so devices are bound from the host instead.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use rustix::fs::{AtFlags, FileType, Mode};

use super::paths::{fd_path, Leaf, Root};
use crate::step::{Failure, Step, StepResult};

/// A device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub path: PathBuf,
    pub kind: FileType,
    pub major: u32,
    pub minor: u32,
    pub mode: u32,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// null, zero, full, random, urandom, tty: what runc gives every container.
pub fn defaults() -> Vec<Device> {
    [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ]
    .into_iter()
    .map(|(name, major, minor)| Device {
        path: PathBuf::from("/dev").join(name),
        kind: FileType::CharacterDevice,
        major,
        minor,
        mode: 0o666,
        uid: None,
        gid: None,
    })
    .collect()
}

/// The links in /dev: `/dev/fd` and the stdio names into /proc, and ptmx
/// into the devpts instance.
pub const LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// The defaults plus `linux.devices` (a config entry replaces a default
/// with the same path).
pub fn all(config: &[LinuxDevice]) -> Vec<Device> {
    let mut list: Vec<Device> = config.iter().map(from_config).collect();
    for d in defaults() {
        if !list.iter().any(|c| c.path == d.path) {
            list.push(d);
        }
    }
    list
}

fn from_config(d: &LinuxDevice) -> Device {
    let kind = match d.typ() {
        LinuxDeviceType::B => FileType::BlockDevice,
        LinuxDeviceType::P => FileType::Fifo,
        _ => FileType::CharacterDevice,
    };
    Device {
        path: d.path().clone(),
        kind,
        major: d.major() as u32,
        minor: d.minor() as u32,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid(),
        gid: d.gid(),
    }
}

/// Creates every device; `bind` (in a user namespace) binds the host's node.
pub fn create(root: &Root, devices: &[Device], bind: bool) -> Result<(), Failure> {
    for d in devices {
        let path = d.path.display().to_string();
        if bind {
            bind_device(root, d).step(|| Step::BindDevice { path: path.clone() })?;
            continue;
        }
        let (dir, name) = root
            .parent_dir(&d.path)
            .step(|| Step::Resolve { path: path.clone() })?;
        let dev = rustix::fs::makedev(d.major, d.minor);
        let mode = Mode::from_raw_mode(d.mode);
        // On a fresh /dev tmpfs the name is free; an image's own node (or
        // file) is replaced.
        match rustix::fs::mknodat(&dir, &name, d.kind, mode, dev) {
            Err(rustix::io::Errno::EXIST) => rustix::fs::unlinkat(&dir, &name, AtFlags::empty())
                .and_then(|()| rustix::fs::mknodat(&dir, &name, d.kind, mode, dev)),
            other => other,
        }
        .step(|| Step::Mknod { path: path.clone() })?;
        if d.uid.is_some() || d.gid.is_some() {
            rustix::fs::chownat(
                &dir,
                &name,
                d.uid.map(rustix::fs::Uid::from_raw),
                d.gid.map(rustix::fs::Gid::from_raw),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .step(|| Step::Chown { path: path.clone() })?;
        }
    }
    Ok(())
}

/// An empty file in the rootfs with the host's device bound onto it.
fn bind_device(root: &Root, d: &Device) -> std::io::Result<()> {
    let target = root.resolve_create(&d.path, Leaf::File)?;
    rustix::mount::mount_bind(&d.path, fd_path(&target))?;
    Ok(())
}

/// The /dev links; an existing `ptmx` (a device node) is replaced, other
/// existing names are left as the image made them.
pub fn links(root: &Root) -> Result<(), Failure> {
    let (dev, _) = root
        .parent_dir(Path::new("/dev/ptmx"))
        .step(|| Step::Resolve {
            path: "/dev".into(),
        })?;
    for (name, target) in LINKS {
        let step = || Step::Symlink {
            path: format!("/dev/{name}"),
            target: target.to_string(),
        };
        if name == "ptmx" {
            match rustix::fs::unlinkat(&dev, name, AtFlags::empty()) {
                Ok(()) | Err(rustix::io::Errno::NOENT) => {}
                Err(e) => return Err(e).step(step),
            }
        }
        match rustix::fs::symlinkat(target, &dev, name) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e).step(step),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_devices_replace_defaults() {
        let mut d = LinuxDevice::default();
        d.set_path("/dev/null".into());
        d.set_typ(LinuxDeviceType::C);
        d.set_major(1);
        d.set_minor(3);
        d.set_file_mode(Some(0o600));
        let list = all(&[d]);
        assert_eq!(list.len(), 6);
        assert_eq!(
            list.iter()
                .filter(|x| x.path == Path::new("/dev/null"))
                .count(),
            1
        );
        assert_eq!(list[0].mode, 0o600);
    }
}
