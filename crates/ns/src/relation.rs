//! How namespaces hang together: owners (`NS_GET_USERNS`), parents
//! (`NS_GET_PARENT`) and creators (`NS_GET_OWNER_UID`), and the tree they form.
//!
//! [`relate`] costs an open and a few ioctls per namespace, so listings call it
//! only when a column or view needs it. It also finds namespaces that nothing
//! but a relation keeps alive (a user namespace that owns a bind-mounted net
//! namespace but holds no process) and adds them with that relation as holder.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};

use crate::catalog::{Discovery, Holder, KindSet};
use crate::{ioctl, NsKind};

/// Fills `parent`, `owner` and `creator_uid` of every namespace in `d`, adding
/// the ancestors and owners that no other source showed. A namespace that
/// can no longer be opened (its last holder went away) keeps `None`s.
pub fn relate(d: &mut Discovery) {
    let count = d.namespaces.len();
    for i in 0..count {
        let Some(fd) = open_namespace(d, i) else {
            continue;
        };
        relate_fd(d, i, fd.as_fd(), 0);
    }
    d.sort();
}

/// A path through which namespace `i` can be opened, best first.
pub fn path_of(d: &Discovery, i: usize) -> Option<PathBuf> {
    let ns = &d.namespaces[i];
    if let Some(pid) = ns.pid {
        return Some(crate::proc_ns_path(pid, ns.kind));
    }
    ns.holders.iter().find_map(|h| match h {
        Holder::Fd { pid, fd } => Some(PathBuf::from(format!("/proc/{pid}/fd/{fd}"))),
        Holder::Mount {
            path, mnt_ns: None, ..
        } => Some(path.clone()),
        Holder::Mount { path, via_pid, .. } => {
            Some(PathBuf::from(format!("/proc/{via_pid}/root")).join(path.strip_prefix("/").ok()?))
        }
        Holder::ForChildren { pid } => Some(PathBuf::from(format!(
            "/proc/{pid}/ns/{}",
            ns.kind.for_children_name()?
        ))),
        Holder::Socket { .. } | Holder::OwnerOf { .. } | Holder::ParentOf { .. } => None,
    })
}

fn open_namespace(d: &Discovery, i: usize) -> Option<OwnedFd> {
    let fd = match path_of(d, i) {
        Some(path) => {
            rustix::fs::open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?
        }
        // Only a socket holds it: ask the socket again.
        None => d.namespaces[i].holders.iter().find_map(|h| match h {
            Holder::Socket { pid, fd } => {
                crate::sockns::socket_netns(crate::sockns::pidfd(*pid)?.as_fd(), *fd)
            }
            _ => None,
        })?,
    };
    // The path may have been reused by something else since discovery.
    let st = rustix::fs::fstat(&fd).ok()?;
    (st.st_ino == d.namespaces[i].id.ino && st.st_dev == d.nsfs_dev).then_some(fd)
}

/// User namespaces nest at most 32 deep; PID namespaces likewise.
const MAX_DEPTH: u32 = 40;

fn relate_fd(d: &mut Discovery, i: usize, fd: BorrowedFd<'_>, depth: u32) {
    let kind = d.namespaces[i].kind;
    let ino = d.namespaces[i].id.ino;
    let what = format!("{}:[{ino}]", kind.proc_name());
    if let Ok(owner) = ioctl::owner_userns(fd, &what) {
        let owner_ino = related(
            d,
            owner.as_fd(),
            NsKind::User,
            Holder::OwnerOf { of: ino },
            depth,
        );
        d.namespaces[i].owner = owner_ino;
    }
    if matches!(kind, NsKind::User | NsKind::Pid) {
        if let Ok(Some(parent)) = ioctl::parent(fd, &what) {
            let parent_ino = related(d, parent.as_fd(), kind, Holder::ParentOf { of: ino }, depth);
            d.namespaces[i].parent = parent_ino;
        }
    }
    if kind == NsKind::User {
        d.namespaces[i].creator_uid = ioctl::owner_uid(fd, &what).ok();
    }
}

/// The inode of the namespace behind `fd`; when it is new, adds it (held by
/// `holder`) and relates it in turn.
fn related(
    d: &mut Discovery,
    fd: BorrowedFd<'_>,
    kind: NsKind,
    holder: Holder,
    depth: u32,
) -> Option<u64> {
    let st = rustix::fs::fstat(fd).ok()?;
    let ino = st.st_ino;
    if d.position(ino).is_none() && depth < MAX_DEPTH {
        let j = d.entry(kind, ino);
        d.namespaces[j].holders.push(holder);
        relate_fd(d, j, fd, depth + 1);
    }
    Some(ino)
}

/// One node of the namespace tree: a namespace (index into
/// [`Discovery::namespaces`]) and what hangs below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeNode {
    pub index: usize,
    pub children: Vec<TreeNode>,
}

/// The namespace hierarchy of a related [`Discovery`]: user namespaces nested
/// by parent; under each, the namespaces it owns (those of `show` kinds),
/// PID namespaces nested under their parent when the same user namespace owns
/// both. Within a level: owned namespaces by inode, then child user namespaces.
pub fn tree(d: &Discovery, show: KindSet) -> Vec<TreeNode> {
    let n = &d.namespaces;
    let known = |ino: Option<u64>| ino.and_then(|i| d.position(i));
    // Children lists, built once: O(n).
    let mut user_children: Vec<Vec<usize>> = vec![Vec::new(); n.len()];
    let mut owned: Vec<Vec<usize>> = vec![Vec::new(); n.len()];
    let mut pid_children: Vec<Vec<usize>> = vec![Vec::new(); n.len()];
    let mut roots = Vec::new();
    for (i, ns) in n.iter().enumerate() {
        match ns.kind {
            NsKind::User => match known(ns.parent) {
                Some(p) if p != i => user_children[p].push(i),
                _ => roots.push(i),
            },
            kind if !show.contains(kind) => {}
            NsKind::Pid => {
                let parent = known(ns.parent).filter(|&p| p != i && n[p].owner == ns.owner);
                match (parent, known(ns.owner)) {
                    (Some(p), _) => pid_children[p].push(i),
                    (None, Some(o)) => owned[o].push(i),
                    (None, None) => roots.push(i),
                }
            }
            _ => match known(ns.owner) {
                Some(o) => owned[o].push(i),
                None => roots.push(i),
            },
        }
    }
    fn build(
        i: usize,
        owned: &[Vec<usize>],
        users: &[Vec<usize>],
        pids: &[Vec<usize>],
        depth: u32,
    ) -> TreeNode {
        let mut children = Vec::new();
        if depth < MAX_DEPTH * 2 {
            for &c in owned[i].iter().chain(pids[i].iter()).chain(users[i].iter()) {
                children.push(build(c, owned, users, pids, depth + 1));
            }
        }
        TreeNode { index: i, children }
    }
    roots
        .into_iter()
        .filter(|&r| n[r].kind == NsKind::User || show.contains(n[r].kind))
        .map(|r| build(r, &owned, &user_children, &pid_children, 0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::{discover, Options};

    /// Builds a discovery by hand: (kind, ino, parent, owner).
    fn synthetic(list: &[(NsKind, u64, Option<u64>, Option<u64>)]) -> Discovery {
        let mut d = Discovery::default();
        for &(kind, ino, parent, owner) in list {
            let i = d.entry(kind, ino);
            d.namespaces[i].parent = parent;
            d.namespaces[i].owner = owner;
        }
        d.sort();
        d
    }

    /// The tree as (ino, children) pairs, for comparison.
    fn shape(d: &Discovery, nodes: &[TreeNode]) -> Vec<(u64, Vec<u64>)> {
        let mut out = Vec::new();
        for n in nodes {
            let kids = n
                .children
                .iter()
                .map(|c| d.namespaces[c.index].id.ino)
                .collect();
            out.push((d.namespaces[n.index].id.ino, kids));
            out.extend(shape(d, &n.children));
        }
        out
    }

    #[test]
    fn tree_nests_users_owned_and_pid_parents() {
        use NsKind::*;
        let d = synthetic(&[
            (User, 10, None, None),
            (User, 20, Some(10), Some(10)),
            (Pid, 11, None, Some(10)),
            // Same owner as its parent: nested under the parent pid ns.
            (Pid, 12, Some(11), Some(10)),
            // Owned by the child user ns: under that user ns, not under pid 12.
            (Pid, 21, Some(12), Some(20)),
            (Net, 22, None, Some(20)),
            (Uts, 13, None, Some(10)),
        ]);
        let t = tree(&d, KindSet::ALL);
        assert_eq!(
            shape(&d, &t),
            vec![
                (10, vec![11, 13, 20]),
                (11, vec![12]),
                (12, vec![]),
                (13, vec![]),
                (20, vec![21, 22]),
                (21, vec![]),
                (22, vec![]),
            ]
        );
        // A kind filter keeps the user namespaces as the skeleton.
        let t = tree(&d, [Net].into_iter().collect());
        assert_eq!(
            shape(&d, &t),
            vec![(10, vec![20]), (20, vec![22]), (22, vec![])]
        );
    }

    #[test]
    fn own_namespaces_are_owned_by_own_user_namespace() {
        let mut d = discover(Options::default()).unwrap();
        relate(&mut d);
        let me = std::process::id();
        let user = crate::ns_of_pid(me, NsKind::User).unwrap().ino;
        let net = crate::ns_of_pid(me, NsKind::Net).unwrap().ino;
        assert_eq!(d.get(net).unwrap().owner, Some(user));
        assert!(d.get(user).unwrap().creator_uid.is_some());
        let t = tree(&d, KindSet::ALL);
        fn contains(nodes: &[TreeNode], i: usize) -> bool {
            nodes
                .iter()
                .any(|n| n.index == i || contains(&n.children, i))
        }
        assert!(contains(&t, d.position(net).unwrap()));
        assert!(contains(&t, d.position(user).unwrap()));
    }
}
