//! Idmapped mounts (runtime-spec 1.1+): a bind mount with `uidMappings` and
//! `gidMappings`, or the `idmap`/`ridmap` option, shows the source's files
//! with their owners translated: id N on disk shows as the host id the
//! mapping gives N (as in a user namespace's maps: `containerID` is the id
//! on disk, `hostID` the id seen), and files created through the mount are
//! stored with the inverse. Without mappings of its own, a mount takes the
//! container's user namespace: the one it joins by path, or the maps of its
//! new one (as runc and crun do).
//!
//! Only the host's side can idmap a host file system (the kernel wants
//! `CAP_SYS_ADMIN` over it), so create makes each tree here, before the
//! clone: a short-lived user namespace carries the maps, `open_tree` +
//! `mount_setattr` make a detached idmapped copy of the source, and init,
//! which inherits the descriptors, attaches it with `move_mount` in config
//! order (`init::mounts::mount_one`).

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nsbox_ns::mountattr::{idmapped_tree, IdmapDepth};
use nsbox_ns::{IdMaps, IdRange};
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Mount, Spec};

use crate::bundle::decode::{IdmapWord, MountExtensions};
use crate::Error;

/// Whether `m` asks for an idmapped mount: an `idmap`/`ridmap` option or
/// mappings of its own (runc takes those alone as asking).
pub fn asked(m: &Mount) -> bool {
    MountExtensions::of(m.options().as_deref().unwrap_or(&[]))
        .idmap
        .is_some()
        || has(m.uid_mappings())
        || has(m.gid_mappings())
}

fn has(maps: &Option<Vec<LinuxIdMapping>>) -> bool {
    maps.as_ref().is_some_and(|m| !m.is_empty())
}

/// Where the user namespace whose maps a mount uses comes from.
#[derive(Debug, PartialEq, Eq)]
enum Carrier {
    /// The container joins it by path.
    Joined(PathBuf),
    /// One made for these uid and gid maps.
    Maps(Vec<IdRange>, Vec<IdRange>),
}

/// Mount `m`'s maps: its own; else the container's: the user namespace it
/// joins by path, or the maps of its new one (validated: one exists).
fn carrier_of(m: &Mount, spec: &Spec) -> Carrier {
    if has(m.uid_mappings()) {
        return Carrier::Maps(ranges(m.uid_mappings()), ranges(m.gid_mappings()));
    }
    let linux = spec.linux().as_ref().expect("validated: linux");
    let joined = linux
        .namespaces()
        .iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::User)
        .and_then(|n| n.path().clone());
    match joined {
        Some(path) => Carrier::Joined(path),
        None => Carrier::Maps(ranges(linux.uid_mappings()), ranges(linux.gid_mappings())),
    }
}

impl Carrier {
    fn open(&self) -> Result<OwnedFd, nsbox_ns::Error> {
        match self {
            Carrier::Joined(path) => {
                std::fs::File::open(path)
                    .map(OwnedFd::from)
                    .map_err(|source| nsbox_ns::Error::Open {
                        path: path.clone(),
                        source,
                    })
            }
            Carrier::Maps(uid, gid) => nsbox_ns::mapped_userns::userns_with_maps(&IdMaps {
                uid: uid.clone(),
                gid: gid.clone(),
                setgroups: None,
            }),
        }
    }
}

/// OCI id mappings as nsbox-ns ranges (also the container's own maps,
/// `create`'s `id_maps`).
pub(crate) fn ranges(maps: &Option<Vec<LinuxIdMapping>>) -> Vec<IdRange> {
    maps.iter()
        .flatten()
        .map(|m| IdRange {
            inside: m.container_id(),
            outside: m.host_id(),
            count: m.size(),
        })
        .collect()
}

/// One detached idmapped tree per `mounts[i]` that asks for one (`None`
/// for the others), made on the host's side for init to attach.
pub fn prepare(spec: &Spec, bundle_dir: &Path) -> Result<Vec<Option<OwnedFd>>, Error> {
    let mounts = spec.mounts().as_deref().unwrap_or(&[]);
    // Without a mount namespace no mount is made (see bundle).
    if !mounts.iter().any(asked) || !crate::bundle::has_mount_ns(spec) {
        return Ok(Vec::new());
    }
    let mut trees = Vec::with_capacity(mounts.len());
    // One user namespace per distinct maps, however many mounts use them.
    let mut carriers: Vec<(Carrier, OwnedFd)> = Vec::new();
    for (index, m) in mounts.iter().enumerate() {
        if !asked(m) {
            trees.push(None);
            continue;
        }
        let source = crate::init::mounts::source_path(bundle_dir, m);
        let carrier = carrier_of(m, spec);
        let at = match carriers.iter().position(|(c, _)| *c == carrier) {
            Some(at) => at,
            None => {
                let fd = carrier.open().map_err(|e| Error::IdmapUserns {
                    index,
                    from: source.clone(),
                    dest: m.destination().clone(),
                    source: Box::new(e),
                })?;
                carriers.push((carrier, fd));
                carriers.len() - 1
            }
        };
        let userns = &carriers[at].1;
        let tree =
            idmapped_tree(&source, userns.as_fd(), depth(m)).map_err(|e| Error::IdmapMount {
                index,
                from: source.clone(),
                dest: m.destination().clone(),
                hint: hint(e.raw_os_error()),
                source: e,
            })?;
        trees.push(Some(tree));
    }
    Ok(trees)
}

/// `ridmap`: every mount of the tree idmapped; `rbind` alone: the tree,
/// its top idmapped; else the source mount alone.
fn depth(m: &Mount) -> IdmapDepth {
    let options = m.options().as_deref().unwrap_or(&[]);
    let ext = MountExtensions::of(options);
    if ext.idmap == Some(IdmapWord::Ridmap) {
        IdmapDepth::TreeAllMapped
    } else if options.iter().any(|o| o == "rbind") {
        IdmapDepth::TreeTopMapped
    } else {
        IdmapDepth::One
    }
}

fn hint(errno: Option<i32>) -> &'static str {
    match errno {
        Some(libc::EINVAL) => {
            " (its file system, or with ridmap one mounted beneath it, cannot be idmapped)"
        }
        Some(libc::EPERM) => " (needs root on the host: CAP_SYS_ADMIN over its file system)",
        _ => "",
    }
}
