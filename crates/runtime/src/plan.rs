//! How init gets its namespaces: which are created by the clone itself,
//! which are joined by path (files opened here, in the parent, so a bad
//! path fails before any process exists), which must be unshared after
//! joining, and whether the kernel forces a second process.
//!
//! The fast path, taken whenever nothing is joined (or nothing that
//! interferes): one `clone3` with every `CLONE_NEW*` flag. Otherwise:
//! - a namespace joined by path must be entered with the privilege of the
//!   host, i.e. *before* a new user namespace exists; and a joined user
//!   namespace must own the new ones. So when a user namespace is joined,
//!   or a new one is combined with joined namespaces, the clone creates
//!   nothing, the child joins (user first) and then `unshare`s the new ones;
//! - `setns` into a PID namespace, and `unshare` of a PID or time namespace,
//!   only affect children: only then does init fork once more
//!   (`CLONE_PARENT`, so the real init is still nsbox's child).

use nsbox_ns::{NsFile, NsKind};
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use crate::Error;

/// The kind nsbox-ns calls this OCI namespace type.
pub fn kind_of(t: LinuxNamespaceType) -> NsKind {
    match t {
        LinuxNamespaceType::Mount => NsKind::Mnt,
        LinuxNamespaceType::Cgroup => NsKind::Cgroup,
        LinuxNamespaceType::Uts => NsKind::Uts,
        LinuxNamespaceType::Ipc => NsKind::Ipc,
        LinuxNamespaceType::User => NsKind::User,
        LinuxNamespaceType::Pid => NsKind::Pid,
        LinuxNamespaceType::Network => NsKind::Net,
        LinuxNamespaceType::Time => NsKind::Time,
    }
}

/// Flags and process count, decided from kinds alone (unit-tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// `CLONE_NEW*` flags for clone3.
    pub clone_flags: u64,
    /// `CLONE_NEW*` flags the child unshares after joining.
    pub unshare_flags: u64,
    /// Init is a grandchild: the clone could not put it in its PID/time ns.
    pub extra_fork: bool,
    /// A new user namespace whose maps the parent writes.
    pub new_user: bool,
}

pub fn shape(new: &[NsKind], joined: &[NsKind]) -> Shape {
    let flags = nsbox_ns::clone_flags(new.iter().copied());
    let new_user = new.contains(&NsKind::User);
    let join_first = joined.contains(&NsKind::User) || (new_user && !joined.is_empty());
    if join_first {
        Shape {
            clone_flags: 0,
            unshare_flags: flags,
            extra_fork: new.contains(&NsKind::Pid)
                || new.contains(&NsKind::Time)
                || joined.contains(&NsKind::Pid),
            new_user,
        }
    } else {
        Shape {
            clone_flags: flags,
            unshare_flags: 0,
            extra_fork: joined.contains(&NsKind::Pid),
            new_user,
        }
    }
}

/// With `linux.timeOffsets`, a new time namespace cannot come from the
/// clone (its first process freezes the offsets): init unshares it, writes
/// the offsets, and forks once more so the real init is born inside. A new
/// PID namespace moves along: the fork takes CLONE_PARENT, which the
/// kernel refuses to a namespace's PID 1.
pub fn with_time_offsets(shape: Shape) -> Shape {
    let time = NsKind::Time.clone_flag();
    if shape.clone_flags & time == 0 {
        return Shape {
            extra_fork: shape.extra_fork || shape.unshare_flags & time != 0,
            ..shape
        };
    }
    let moved = time | (shape.clone_flags & NsKind::Pid.clone_flag());
    Shape {
        clone_flags: shape.clone_flags & !moved,
        unshare_flags: shape.unshare_flags | moved,
        extra_fork: true,
        ..shape
    }
}

/// The namespace plan of one container.
#[derive(Debug)]
pub struct NsPlan {
    pub shape: Shape,
    /// Namespaces to join, opened, in join order (user first).
    pub joins: Vec<NsFile>,
}

/// Opens every `linux.namespaces[i].path` and decides the shape
/// (`time_offsets`: the config sets `linux.timeOffsets`).
pub fn plan(namespaces: &[LinuxNamespace], time_offsets: bool) -> Result<NsPlan, Error> {
    let mut new = Vec::new();
    let mut joins = Vec::new();
    for (index, ns) in namespaces.iter().enumerate() {
        let kind = kind_of(ns.typ());
        match ns.path() {
            None => new.push(kind),
            Some(path) => {
                let file = NsFile::open(path, Some(kind)).map_err(|source| Error::JoinNs {
                    index,
                    kind,
                    path: path.clone(),
                    source,
                })?;
                joins.push(file);
            }
        }
    }
    joins.sort_by_key(|f| NsKind::ALL.iter().position(|k| *k == f.kind()));
    let joined: Vec<NsKind> = joins.iter().map(|f| f.kind()).collect();
    let mut shape = shape(&new, &joined);
    if time_offsets {
        shape = with_time_offsets(shape);
    }
    Ok(NsPlan { shape, joins })
}

#[cfg(test)]
mod tests {
    use super::*;
    use NsKind::*;

    #[test]
    fn time_offsets_move_time_to_unshare_and_fork() {
        let s = with_time_offsets(shape(&[User, Pid, Mnt, Time], &[]));
        assert_eq!(s.clone_flags, User.clone_flag() | Mnt.clone_flag());
        assert_eq!(s.unshare_flags, Time.clone_flag() | Pid.clone_flag());
        assert!(s.extra_fork && s.new_user);
        let j = shape(&[User, Time], &[Net]);
        assert_eq!(with_time_offsets(j), j);
    }

    #[test]
    fn all_new_is_one_clone() {
        let s = shape(&[Pid, Mnt, Net, Ipc, Uts, User], &[]);
        assert_eq!(s.unshare_flags, 0);
        assert!(!s.extra_fork);
        assert!(s.new_user);
        assert_eq!(s.clone_flags.count_ones(), 6);
    }

    #[test]
    fn joined_net_without_userns_stays_one_clone() {
        let s = shape(&[Pid, Mnt], &[Net]);
        assert_eq!(s.clone_flags, Pid.clone_flag() | Mnt.clone_flag());
        assert!(!s.extra_fork);
    }

    #[test]
    fn joined_pid_forces_a_fork() {
        let s = shape(&[Mnt], &[Pid]);
        assert!(s.extra_fork);
        assert_eq!(s.clone_flags, Mnt.clone_flag());
    }

    #[test]
    fn new_userns_with_joined_ns_joins_first() {
        let s = shape(&[User, Mnt, Pid], &[Net]);
        assert_eq!(s.clone_flags, 0);
        assert_eq!(s.unshare_flags.count_ones(), 3);
        assert!(s.extra_fork, "unshared PID namespace needs a child");
        let s = shape(&[User, Mnt], &[Net]);
        assert!(!s.extra_fork);
    }

    #[test]
    fn joined_userns_owns_new_ones() {
        let s = shape(&[Mnt, Uts], &[User]);
        assert_eq!(s.clone_flags, 0);
        assert_eq!(s.unshare_flags, Mnt.clone_flag() | Uts.clone_flag());
        assert!(!s.new_user);
    }
}
