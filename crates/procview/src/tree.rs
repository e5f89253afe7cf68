//! The view's directory tree as a fixed table of inodes: directories down to
//! each file of `view::File::ALL`, in LXCFS's layout.

use crate::view::File;

/// What an inode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File(File),
}

/// One inode: its number, its parent's, its name there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub ino: u64,
    pub parent: u64,
    pub name: &'static str,
    pub kind: Kind,
}

/// The root is inode 1, as FUSE requires.
pub const ROOT: u64 = 1;

pub const NODES: &[Node] = &[
    dir(ROOT, ROOT, ""),
    dir(2, ROOT, "proc"),
    dir(3, ROOT, "sys"),
    dir(4, 3, "devices"),
    dir(5, 4, "system"),
    dir(6, 5, "cpu"),
    file(10, 2, "meminfo", File::Meminfo),
    file(11, 2, "cpuinfo", File::Cpuinfo),
    file(12, 2, "stat", File::Stat),
    file(13, 2, "uptime", File::Uptime),
    file(14, 6, "online", File::CpuOnline),
    dir(7, 2, "pressure"),
    file(15, 2, "swaps", File::Swaps),
    file(19, 2, "loadavg", File::Loadavg),
    file(20, 2, "diskstats", File::Diskstats),
    file(16, 7, "cpu", File::PressureCpu),
    file(17, 7, "memory", File::PressureMemory),
    file(18, 7, "io", File::PressureIo),
];

const fn dir(ino: u64, parent: u64, name: &'static str) -> Node {
    Node {
        ino,
        parent,
        name,
        kind: Kind::Dir,
    }
}

const fn file(ino: u64, parent: u64, name: &'static str, f: File) -> Node {
    Node {
        ino,
        parent,
        name,
        kind: Kind::File(f),
    }
}

pub fn node(ino: u64) -> Option<&'static Node> {
    NODES.iter().find(|n| n.ino == ino)
}

/// The entry `name` in directory `parent`.
pub fn lookup(parent: u64, name: &[u8]) -> Option<&'static Node> {
    children(parent).find(|n| n.name.as_bytes() == name)
}

pub fn children(parent: u64) -> impl Iterator<Item = &'static Node> {
    NODES
        .iter()
        .filter(move |n| n.parent == parent && n.ino != ROOT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of the view is reachable by its path, and nothing else is.
    #[test]
    fn every_file_at_its_path() {
        for f in File::ALL {
            let mut at = ROOT;
            for part in f.path().split('/') {
                at = lookup(at, part.as_bytes())
                    .unwrap_or_else(|| panic!("{}", f.path()))
                    .ino;
            }
            assert_eq!(node(at).unwrap().kind, Kind::File(f));
        }
        let files = NODES
            .iter()
            .filter(|n| matches!(n.kind, Kind::File(_)))
            .count();
        assert_eq!(files, File::ALL.len());
        assert!(lookup(2, b"nope").is_none());
    }
}
