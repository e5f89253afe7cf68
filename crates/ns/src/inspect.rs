//! Which namespace a process, thread or file refers to: `/proc/PID/ns/*` and nsfs inodes.

use std::path::{Path, PathBuf};

use crate::{Error, NsKind};

/// The identity of a namespace: the nsfs inode (what `readlink /proc/PID/ns/X`
/// shows as `net:[4026531833]`) and the device of the nsfs mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NsId {
    pub ino: u64,
    pub dev: u64,
}

/// Magic number of the nsfs file system (`statfs(2)` `f_type`).
pub const NSFS_MAGIC: i64 = 0x6e73_6673;

/// `/proc/PID/ns/NAME` for a process's own namespace of `kind`.
pub fn proc_ns_path(pid: u32, kind: NsKind) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/{}", kind.proc_name()))
}

/// The namespace of `kind` that process `pid` is in.
pub fn ns_of_pid(pid: u32, kind: NsKind) -> Result<NsId, Error> {
    let path = proc_ns_path(pid, kind);
    ns_of_path(&path).map_err(|e| e.for_pid(pid))
}

/// The namespace that the nsfs file (or a `/proc/PID/ns` link) at `path` refers to.
pub fn ns_of_path(path: &Path) -> Result<NsId, Error> {
    let st = rustix::fs::stat(path).map_err(|e| Error::Stat {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    Ok(NsId {
        ino: st.st_ino,
        dev: st.st_dev,
    })
}

/// Every namespace of process `pid`, in [`NsKind::ALL`] order. Kinds the kernel
/// lacks (no `/proc/PID/ns/time` before 5.6) are left out.
pub fn namespaces_of_pid(pid: u32) -> Result<Vec<(NsKind, NsId)>, Error> {
    let mut out = Vec::with_capacity(NsKind::ALL.len());
    for kind in NsKind::ALL {
        match ns_of_pid(pid, kind) {
            Ok(id) => out.push((kind, id)),
            Err(Error::Stat { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                // The process exists (or we would have got NoSuchProcess): the kind is missing.
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    return Err(Error::NoSuchProcess { pid });
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Whether `path` is a file on nsfs (a namespace, possibly bind-mounted elsewhere).
pub fn is_nsfs(path: &Path) -> bool {
    rustix::fs::statfs(path).is_ok_and(|s| s.f_type == NSFS_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_namespaces_are_nsfs_inodes() {
        let me = std::process::id();
        let all = namespaces_of_pid(me).unwrap();
        assert!(all.iter().any(|(k, _)| *k == NsKind::Net));
        for (kind, id) in all {
            assert!(id.ino > 0);
            assert!(is_nsfs(&proc_ns_path(me, kind)));
            let link = std::fs::read_link(proc_ns_path(me, kind)).unwrap();
            assert_eq!(
                link.to_str().unwrap(),
                format!("{}:[{}]", kind.proc_name(), id.ino)
            );
        }
    }

    #[test]
    fn dead_pid_is_named() {
        // pid_max is at most 2^22, so this pid cannot exist.
        let err = namespaces_of_pid(1 << 23).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("process {} does not exist", 1 << 23)
        );
    }
}
