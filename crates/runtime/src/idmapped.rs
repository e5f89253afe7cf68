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
use std::path::Path;

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

/// The user namespace whose maps mount `m` uses: one made for its own
/// maps; else the container's: the one it joins by path, or one made with
/// the maps of the new one (validated: one of these exists).
fn userns_for(m: &Mount, spec: &Spec) -> Result<OwnedFd, nsbox_ns::Error> {
    let linux = spec.linux().as_ref().expect("validated: linux");
    let (uid, gid) = if has(m.uid_mappings()) {
        (m.uid_mappings(), m.gid_mappings())
    } else {
        let joined = linux
            .namespaces()
            .iter()
            .flatten()
            .find(|n| n.typ() == LinuxNamespaceType::User)
            .and_then(|n| n.path().as_ref());
        if let Some(path) = joined {
            return std::fs::File::open(path)
                .map(OwnedFd::from)
                .map_err(|source| nsbox_ns::Error::Open {
                    path: path.clone(),
                    source,
                });
        }
        (linux.uid_mappings(), linux.gid_mappings())
    };
    nsbox_ns::mapped_userns::userns_with_maps(&IdMaps {
        uid: ranges(uid),
        gid: ranges(gid),
        setgroups: None,
    })
}

fn ranges(maps: &Option<Vec<LinuxIdMapping>>) -> Vec<IdRange> {
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
    for (index, m) in mounts.iter().enumerate() {
        if !asked(m) {
            trees.push(None);
            continue;
        }
        let source = crate::init::mounts::source_path(bundle_dir, m);
        let userns = userns_for(m, spec).map_err(|e| Error::IdmapUserns {
            index,
            from: source.clone(),
            dest: m.destination().clone(),
            source: Box::new(e),
        })?;
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
