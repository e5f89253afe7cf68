//! What two processes share: each namespace, the root directory and the cgroup.

use std::path::PathBuf;

use crate::{Error, NsKind};

/// One compared aspect of two processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aspect<T> {
    pub first: Option<T>,
    pub second: Option<T>,
}

impl<T: PartialEq> Aspect<T> {
    /// Same when both are known and equal.
    pub fn same(&self) -> bool {
        self.first.is_some() && self.first == self.second
    }
}

/// A root directory's identity: `stat` of `/proc/PID/root` (device and inode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirId {
    pub dev: u64,
    pub ino: u64,
}

/// Everything [`diff`] compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NsDiff {
    pub pids: (u32, u32),
    /// Per kind, in [`NsKind::ALL`] order: the namespace inodes (None where the
    /// kernel lacks the kind).
    pub namespaces: Vec<(NsKind, Aspect<u64>)>,
    pub root: Aspect<DirId>,
    /// `/proc/PID/cgroup`, one entry per line (`hierarchy:controllers:path`).
    pub cgroup: Aspect<Vec<String>>,
}

impl NsDiff {
    /// Whether the two processes share every namespace, root and cgroup.
    pub fn all_same(&self) -> bool {
        self.namespaces
            .iter()
            .all(|(_, a)| a.same() || (a.first.is_none() && a.second.is_none()))
            && self.root.same()
            && self.cgroup.same()
    }
}

/// What `pid` looks like from here.
struct View {
    ns: Vec<(NsKind, u64)>,
    root: DirId,
    cgroup: Vec<String>,
}

fn view(pid: u32) -> Result<View, Error> {
    let ns = crate::namespaces_of_pid(pid)?
        .into_iter()
        .map(|(k, id)| (k, id.ino))
        .collect();
    let root_path = PathBuf::from(format!("/proc/{pid}/root"));
    let st = rustix::fs::stat(&root_path)
        .map_err(|e| Error::Stat {
            path: root_path,
            source: e.into(),
        })
        .map_err(|e| e.for_pid(pid))?;
    let cg_path = PathBuf::from(format!("/proc/{pid}/cgroup"));
    let text = std::fs::read_to_string(&cg_path)
        .map_err(|source| Error::Read {
            path: cg_path,
            source,
        })
        .map_err(|e| e.for_pid(pid))?;
    Ok(View {
        ns,
        root: DirId {
            dev: st.st_dev,
            ino: st.st_ino,
        },
        cgroup: text.lines().map(str::to_string).collect(),
    })
}

/// Compares processes `a` and `b`.
pub fn diff(a: u32, b: u32) -> Result<NsDiff, Error> {
    let va = view(a)?;
    let vb = view(b)?;
    let find = |v: &View, k: NsKind| v.ns.iter().find(|(kk, _)| *kk == k).map(|(_, i)| *i);
    let namespaces = NsKind::ALL
        .into_iter()
        .map(|k| {
            (
                k,
                Aspect {
                    first: find(&va, k),
                    second: find(&vb, k),
                },
            )
        })
        .filter(|(_, a)| a.first.is_some() || a.second.is_some())
        .collect();
    Ok(NsDiff {
        pids: (a, b),
        namespaces,
        root: Aspect {
            first: Some(va.root),
            second: Some(vb.root),
        },
        cgroup: Aspect {
            first: Some(va.cgroup),
            second: Some(vb.cgroup),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_equals_itself() {
        let me = std::process::id();
        let d = diff(me, me).unwrap();
        assert!(d.all_same());
        assert!(d.namespaces.iter().any(|(k, _)| *k == NsKind::Net));
    }

    #[test]
    fn dead_pid_is_named() {
        let err = diff(std::process::id(), 1 << 23).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("process {} does not exist", 1 << 23)
        );
    }
}
