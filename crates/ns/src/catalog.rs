//! The namespaces found on the machine, as plain data: each [`Namespace`]
//! with what holds it, each [`Process`] with the inode of its namespaces,
//! kept in a [`Discovery`] indexed by inode. Filled by `discover::discover`,
//! completed by `relation::relate`, read by the listings; it knows nothing
//! of how it was collected (so both of those depend on it, not on each other).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::PathBuf;

use crate::{NsId, NsKind};

/// A set of namespace kinds (a bit per kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindSet(u8);

impl KindSet {
    pub const ALL: KindSet = KindSet(0xff);
    pub const NONE: KindSet = KindSet(0);

    pub fn contains(self, kind: NsKind) -> bool {
        self.0 & (1 << slot(kind)) != 0
    }

    pub fn insert(&mut self, kind: NsKind) {
        self.0 |= 1 << slot(kind);
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<NsKind> for KindSet {
    fn from_iter<I: IntoIterator<Item = NsKind>>(iter: I) -> Self {
        let mut set = KindSet::NONE;
        for k in iter {
            set.insert(k);
        }
        set
    }
}

/// Index of `kind` in [`Process::ns`] (the order of [`NsKind::ALL`]).
pub fn slot(kind: NsKind) -> usize {
    match kind {
        NsKind::User => 0,
        NsKind::Cgroup => 1,
        NsKind::Ipc => 2,
        NsKind::Uts => 3,
        NsKind::Net => 4,
        NsKind::Pid => 5,
        NsKind::Mnt => 6,
        NsKind::Time => 7,
    }
}

/// One process as seen in `/proc`: its pid and the inode of each of its
/// namespaces (0 where unknown: kind not collected, missing or denied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub ns: [u64; 8],
}

impl Process {
    /// The inode of this process's namespace of `kind`, if known.
    pub fn ns_of(&self, kind: NsKind) -> Option<u64> {
        Some(self.ns[slot(kind)]).filter(|&i| i != 0)
    }
}

/// Something other than a member process that keeps a namespace alive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// Open descriptor `fd` of process `pid`.
    Fd { pid: u32, fd: u32 },
    /// Socket `fd` of process `pid`, which lives in this network namespace.
    Socket { pid: u32, fd: u32 },
    /// An nsfs bind mount at `path`: in our own mount namespace when `mnt_ns`
    /// is `None`, else in mount namespace `mnt_ns` as seen by process `via_pid`.
    Mount {
        path: PathBuf,
        mnt_ns: Option<u64>,
        via_pid: u32,
    },
    /// `/proc/PID/ns/pid_for_children` (or `time_for_children`) of `pid`: the
    /// namespace its next children will be born in.
    ForChildren { pid: u32 },
    /// It is the owning user namespace of namespace `of` (found by NS_GET_USERNS).
    OwnerOf { of: u64 },
    /// It is the parent of user or PID namespace `of` (found by NS_GET_PARENT).
    ParentOf { of: u64 },
}

/// One namespace and what is known about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    pub id: NsId,
    pub kind: NsKind,
    /// Processes in it (threads are not counted, as with lsns).
    pub nprocs: u32,
    /// Lowest pid among them.
    pub pid: Option<u32>,
    /// Non-process holders, in discovery order.
    pub holders: Vec<Holder>,
    /// Parent (user and PID namespaces), from `relation::relate`.
    pub parent: Option<u64>,
    /// Owning user namespace, from `relation::relate`.
    pub owner: Option<u64>,
    /// For user namespaces: the uid that created it, from `relation::relate`.
    pub creator_uid: Option<u32>,
}

impl Namespace {
    fn new(kind: NsKind, id: NsId) -> Namespace {
        Namespace {
            id,
            kind,
            nprocs: 0,
            pid: None,
            holders: Vec::new(),
            parent: None,
            owner: None,
            creator_uid: None,
        }
    }

    /// nsfs mount points of this namespace in our own mount namespace (lsns's NSFS).
    pub fn nsfs_paths(&self) -> impl Iterator<Item = &PathBuf> {
        self.holders.iter().filter_map(|h| match h {
            Holder::Mount {
                path, mnt_ns: None, ..
            } => Some(path),
            _ => None,
        })
    }
}

/// Hasher for nsfs inode numbers: they are unique and well spread already.
#[derive(Default)]
pub struct InoHasher(u64);

impl Hasher for InoHasher {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) type InoMap<V> = HashMap<u64, V, BuildHasherDefault<InoHasher>>;

/// Everything found: namespaces sorted by inode (as lsns sorts), processes by pid.
#[derive(Debug, Default)]
pub struct Discovery {
    pub namespaces: Vec<Namespace>,
    pub processes: Vec<Process>,
    /// Device of the nsfs file system (the `dev` of every [`NsId`]).
    pub nsfs_dev: u64,
    /// Our own mount namespace (whose mount points [`Holder::Mount`] `None` names).
    pub own_mnt_ns: u64,
    index: InoMap<usize>,
}

impl Discovery {
    /// An empty catalog for namespaces on nsfs device `nsfs_dev`, seen from
    /// mount namespace `own_mnt_ns`.
    pub(crate) fn new(nsfs_dev: u64, own_mnt_ns: u64) -> Discovery {
        Discovery {
            nsfs_dev,
            own_mnt_ns,
            ..Discovery::default()
        }
    }

    /// The namespace with inode `ino`.
    pub fn get(&self, ino: u64) -> Option<&Namespace> {
        self.index.get(&ino).map(|&i| &self.namespaces[i])
    }

    /// Position of namespace `ino` in [`Discovery::namespaces`].
    pub fn position(&self, ino: u64) -> Option<usize> {
        self.index.get(&ino).copied()
    }

    /// The process `pid`, if it was read.
    pub fn process(&self, pid: u32) -> Option<&Process> {
        self.processes
            .binary_search_by_key(&pid, |p| p.pid)
            .ok()
            .map(|i| &self.processes[i])
    }

    /// Number of namespaces of `kind`.
    pub fn count(&self, kind: NsKind) -> usize {
        self.namespaces.iter().filter(|n| n.kind == kind).count()
    }

    /// Index of namespace `ino`, adding it (empty) when new.
    pub(crate) fn entry(&mut self, kind: NsKind, ino: u64) -> usize {
        let next = self.namespaces.len();
        let dev = self.nsfs_dev;
        let i = *self.index.entry(ino).or_insert(next);
        if i == next {
            self.namespaces
                .push(Namespace::new(kind, NsId { ino, dev }));
        }
        i
    }

    /// Sorts by inode and rebuilds the index (after namespaces were added).
    pub(crate) fn sort(&mut self) {
        self.namespaces.sort_unstable_by_key(|n| n.id.ino);
        self.index.clear();
        for (i, n) in self.namespaces.iter().enumerate() {
            self.index.insert(n.id.ino, i);
        }
    }
}
