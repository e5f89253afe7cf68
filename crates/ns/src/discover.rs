//! Finding every namespace on the machine, as plain data (what `lsns` collects
//! before it prints anything).
//!
//! Sources, in the order they are read:
//! 1. `/proc/PID/ns/*` of every process (stat of the link, never an open), and
//!    `pid_for_children`/`time_for_children` where they differ;
//! 2. the open descriptors of every process: nsfs files (`/proc/PID/fd/*`),
//!    and sockets, whose network namespace (`SIOCGSKNS`) may differ from the
//!    process's own;
//! 3. nsfs bind mounts in our mount namespace (`/proc/self/mountinfo`) and,
//!    on request, in the mount namespaces of other processes (`/proc/PID/mountinfo`).
//!
//! Parents and owners (`ioctl_ns(2)`) cost an open and ioctls per namespace,
//! so they are filled in only on request, by [`crate::relation::relate`].
//!
//! A process that vanishes or denies access while being read is skipped.

use std::ffi::CStr;
use std::hash::BuildHasherDefault;
use std::io::Read;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use rustix::fs::{AtFlags, Mode, OFlags, RawDir};

use crate::catalog::{slot, Discovery, Holder, InoHasher, KindSet, Process};
use crate::mountinfo::Entry;
use crate::{Error, NsKind};

/// What to collect.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Kinds to look for; others are not even stat'ed.
    pub kinds: KindSet,
    /// Also look at open descriptors and nsfs mounts (namespaces no process is in).
    pub holders: bool,
    /// Also read the mountinfo of every other mount namespace (through its
    /// lowest pid) for nsfs mounts there. Off by default: a copy of a mount
    /// table with many nsfs mounts costs as much to read as our own, per copy.
    pub foreign_mounts: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            kinds: KindSet::ALL,
            holders: true,
            foreign_mounts: false,
        }
    }
}

/// Collects every namespace visible from here.
pub fn discover(opts: Options) -> Result<Discovery, Error> {
    let proc_path = PathBuf::from("/proc");
    let proc = rustix::fs::open(
        "/proc",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::Open {
        path: proc_path.clone(),
        source: e.into(),
    })?;
    let me =
        rustix::fs::statat(&proc, c"self/ns/mnt", AtFlags::empty()).map_err(|e| Error::Stat {
            path: "/proc/self/ns/mnt".into(),
            source: e.into(),
        })?;
    let mut d = Discovery::new(me.st_dev, me.st_ino);
    // Finding other mount namespaces' mounts needs the mount namespaces,
    // even when they are not to be listed.
    let mut scan_opts = opts;
    let borrowed_mnt = opts.holders && opts.foreign_mounts && !opts.kinds.contains(NsKind::Mnt);
    if borrowed_mnt {
        scan_opts.kinds.insert(NsKind::Mnt);
    }
    let mut scan = Scan {
        opts: scan_opts,
        fd_holders: Vec::new(),
        sockets: Default::default(),
    };

    let mut buf = [MaybeUninit::<u8>::uninit(); 8192];
    let mut dir = RawDir::new(proc.as_fd(), &mut buf);
    while let Some(entry) = dir.next() {
        let entry = entry.map_err(|e| Error::Read {
            path: proc_path.clone(),
            source: e.into(),
        })?;
        let Some(pid) = parse_u32(entry.file_name().to_bytes()) else {
            continue;
        };
        scan.process(&mut d, proc.as_fd(), pid);
    }

    if opts.holders {
        scan.resolve_fd_holders(&mut d, proc.as_fd());
        let own =
            read_mountinfo(c"self/mountinfo", proc.as_fd()).map_err(|source| Error::Read {
                path: "/proc/self/mountinfo".into(),
                source,
            })?;
        add_mounts(&mut d, opts.kinds, &own, None, std::process::id());
        if opts.foreign_mounts {
            foreign_mounts(&mut d, opts.kinds, proc.as_fd());
        }
    }
    if borrowed_mnt {
        d.namespaces.retain(|n| n.kind != NsKind::Mnt);
        for p in &mut d.processes {
            p.ns[slot(NsKind::Mnt)] = 0;
        }
    }
    d.sort();
    Ok(d)
}

/// Per-run scratch state of the process scan.
struct Scan {
    opts: Options,
    /// (inode, pid, fd) of nsfs descriptors whose namespace was unknown when met.
    fd_holders: Vec<(u64, u32, u32)>,
    /// Socket inodes already asked about (children inherit their parents' sockets).
    sockets: std::collections::HashSet<u64, BuildHasherDefault<InoHasher>>,
}

/// A short path under /proc built on the stack: `PID/<rest>` NUL-terminated.
struct ProcPath {
    buf: [u8; 64],
    base: usize,
    len: usize,
}

impl ProcPath {
    fn new(pid: u32) -> ProcPath {
        let mut p = ProcPath {
            buf: [0; 64],
            base: 0,
            len: 0,
        };
        p.push_u32(pid);
        p.push(b"/");
        p.base = p.len;
        p
    }

    fn push(&mut self, s: &[u8]) {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    fn push_u32(&mut self, mut n: u32) {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }

    /// `PID/fd/N` as a C string.
    fn fd(&mut self, fd: u32) -> &CStr {
        self.len = self.base;
        self.push(b"fd/");
        self.push_u32(fd);
        self.buf[self.len] = 0;
        CStr::from_bytes_with_nul(&self.buf[..=self.len]).unwrap_or(c"")
    }

    /// `PID/<a><b>` as a C string.
    fn with(&mut self, a: &[u8], b: &[u8]) -> &CStr {
        self.len = self.base;
        self.push(a);
        self.push(b);
        self.buf[self.len] = 0;
        // The buffer holds no interior NUL: pids are digits, names are ASCII words.
        CStr::from_bytes_with_nul(&self.buf[..=self.len]).unwrap_or(c"")
    }
}

impl Scan {
    fn process(&mut self, d: &mut Discovery, proc: BorrowedFd<'_>, pid: u32) {
        let mut path = ProcPath::new(pid);
        let mut ns = [0u64; 8];
        let mut any = false;
        for kind in NsKind::ALL {
            if !self.opts.kinds.contains(kind) {
                continue;
            }
            // A vanished process (ENOENT/ESRCH) or one we may not inspect
            // (EACCES) simply contributes nothing.
            if let Ok(st) = rustix::fs::statat(
                proc,
                path.with(b"ns/", kind.proc_name().as_bytes()),
                AtFlags::empty(),
            ) {
                ns[slot(kind)] = st.st_ino;
                any = true;
            }
        }
        if !any {
            return;
        }
        for (kind, &ino) in NsKind::ALL.iter().zip(ns.iter()) {
            if ino == 0 {
                continue;
            }
            let i = d.entry(*kind, ino);
            let n = &mut d.namespaces[i];
            n.nprocs += 1;
            if n.pid.is_none_or(|p| p > pid) {
                n.pid = Some(pid);
            }
        }
        if self.opts.holders {
            for kind in [NsKind::Pid, NsKind::Time] {
                if !self.opts.kinds.contains(kind) || ns[slot(kind)] == 0 {
                    continue;
                }
                let name = kind.for_children_name().unwrap_or_default();
                if let Ok(st) =
                    rustix::fs::statat(proc, path.with(b"ns/", name.as_bytes()), AtFlags::empty())
                {
                    if st.st_ino != ns[slot(kind)] {
                        let i = d.entry(kind, st.st_ino);
                        d.namespaces[i].holders.push(Holder::ForChildren { pid });
                    }
                }
            }
            self.fds(d, proc, &mut path, pid, ns[slot(NsKind::Net)]);
        }
        d.processes.push(Process { pid, ns });
    }

    /// Records the nsfs descriptors of `pid`.
    fn fds(
        &mut self,
        d: &mut Discovery,
        proc: BorrowedFd<'_>,
        path: &mut ProcPath,
        pid: u32,
        own_net: u64,
    ) {
        let Ok(dirfd) = rustix::fs::openat(
            proc,
            path.with(b"fd", b""),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return;
        };
        let mut pidfd: Option<Option<OwnedFd>> = None;
        let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
        let mut dir = RawDir::new(dirfd.as_fd(), &mut buf);
        while let Some(Ok(entry)) = dir.next() {
            let name = entry.file_name();
            let Some(fd) = parse_u32(name.to_bytes()) else {
                continue;
            };
            let Ok(st) = rustix::fs::statat(dirfd.as_fd(), name, AtFlags::empty()) else {
                continue;
            };
            if st.st_mode & libc::S_IFMT == libc::S_IFSOCK {
                if own_net != 0 && self.sockets.insert(st.st_ino) {
                    let pidfd = pidfd.get_or_insert_with(|| crate::sockns::pidfd(pid));
                    if let Some(pidfd) = pidfd {
                        socket_holder(d, pidfd.as_fd(), pid, fd, own_net);
                    }
                }
                continue;
            }
            if st.st_dev != d.nsfs_dev {
                continue;
            }
            match d.position(st.st_ino) {
                Some(i) => d.namespaces[i].holders.push(Holder::Fd { pid, fd }),
                None => self.fd_holders.push((st.st_ino, pid, fd)),
            }
        }
    }

    /// Places descriptors that named a namespace not yet met when they were read.
    fn resolve_fd_holders(&mut self, d: &mut Discovery, proc: BorrowedFd<'_>) {
        for (ino, pid, fd) in std::mem::take(&mut self.fd_holders) {
            let i = match d.position(ino) {
                Some(i) => i,
                None => {
                    let mut path = ProcPath::new(pid);
                    let Some(kind) = kind_of_fd_link(proc, path.fd(fd)) else {
                        continue;
                    };
                    if !self.opts.kinds.contains(kind) {
                        continue;
                    }
                    d.entry(kind, ino)
                }
            };
            d.namespaces[i].holders.push(Holder::Fd { pid, fd });
        }
    }
}

/// Records socket `fd` of `pid` when its network namespace is not the
/// process's own (`own_net`).
fn socket_holder(d: &mut Discovery, pidfd: BorrowedFd<'_>, pid: u32, fd: u32, own_net: u64) {
    let Some(ns) = crate::sockns::socket_netns(pidfd, fd) else {
        return;
    };
    let Ok(st) = rustix::fs::fstat(&ns) else {
        return;
    };
    if st.st_ino != own_net {
        let i = d.entry(NsKind::Net, st.st_ino);
        d.namespaces[i].holders.push(Holder::Socket { pid, fd });
    }
}

/// The kind of the namespace an nsfs descriptor link refers to: from the link
/// text (`net:[4026532177]`) or, when it was opened through a bind mount and
/// reads as a path, by asking the kernel.
fn kind_of_fd_link(proc: BorrowedFd<'_>, link: &CStr) -> Option<NsKind> {
    let text = rustix::fs::readlinkat(proc, link, Vec::new()).ok()?;
    if let Some((kind, _)) = parse_ns_name(text.as_bytes()) {
        return Some(kind);
    }
    let fd: OwnedFd =
        rustix::fs::openat(proc, link, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let what = format!("/proc/{}", link.to_string_lossy());
    crate::ioctl::kind(fd.as_fd(), &what).ok()
}

/// Parses `net:[4026532177]` (an nsfs dentry name) into kind and inode.
pub fn parse_ns_name(s: &[u8]) -> Option<(NsKind, u64)> {
    let colon = s.iter().position(|&b| b == b':')?;
    let rest = s.get(colon + 1..)?;
    let digits = rest.strip_prefix(b"[")?.strip_suffix(b"]")?;
    let kind = std::str::from_utf8(&s[..colon]).ok()?.parse().ok()?;
    Some((kind, parse_u64(digits)?))
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

fn parse_u32(s: &[u8]) -> Option<u32> {
    parse_u64(s).and_then(|n| u32::try_from(n).ok())
}

fn read_mountinfo(rel: &CStr, proc: BorrowedFd<'_>) -> std::io::Result<Vec<u8>> {
    let fd = rustix::fs::openat(proc, rel, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut file = std::fs::File::from(fd);
    let mut out = Vec::with_capacity(64 * 1024);
    file.read_to_end(&mut out)?;
    Ok(out)
}

/// One nsfs mount from a mountinfo line: the namespace's kind and inode and
/// the (unescaped) mount point.
pub fn nsfs_mounts(mountinfo: &[u8]) -> impl Iterator<Item = (NsKind, u64, PathBuf)> + '_ {
    mountinfo.split(|&b| b == b'\n').filter_map(|line| {
        // Most lines are not nsfs: look at the type before splitting the rest.
        if Entry::fs_type_of(line)? != b"nsfs" {
            return None;
        }
        let entry = Entry::parse(line).ok()?;
        let (kind, ino) = parse_ns_name(entry.root_raw)?;
        Some((kind, ino, entry.mount_point()))
    })
}

fn add_mounts(d: &mut Discovery, kinds: KindSet, info: &[u8], mnt_ns: Option<u64>, via_pid: u32) {
    for (kind, ino, path) in nsfs_mounts(info) {
        if !kinds.contains(kind) {
            continue;
        }
        let i = d.entry(kind, ino);
        let holders = &mut d.namespaces[i].holders;
        // A mount namespace copied from ours repeats our mounts: name each path once.
        let dup = holders
            .iter()
            .any(|h| matches!(h, Holder::Mount { path: p, .. } if *p == path));
        if !dup {
            holders.push(Holder::Mount {
                path,
                mnt_ns,
                via_pid,
            });
        }
    }
}

/// nsfs mounts in the mount namespaces of other processes, read through the
/// lowest pid of each.
fn foreign_mounts(d: &mut Discovery, kinds: KindSet, proc: BorrowedFd<'_>) {
    let others: Vec<(u64, u32)> = d
        .namespaces
        .iter()
        .filter(|n| n.kind == NsKind::Mnt && n.id.ino != d.own_mnt_ns)
        .filter_map(|n| Some((n.id.ino, n.pid?)))
        .collect();
    for (mnt_ns, pid) in others {
        let mut path = ProcPath::new(pid);
        if let Ok(info) = read_mountinfo(path.with(b"mountinfo", b""), proc) {
            add_mounts(d, kinds, &info, Some(mnt_ns), pid);
        }
    }
}

/// The uid owning process `pid` (owner of `/proc/PID`), as lsns shows it.
pub fn uid_of(pid: u32) -> Option<u32> {
    rustix::fs::stat(format!("/proc/{pid}"))
        .ok()
        .map(|st| st.st_uid)
}

/// The parent pid of process `pid` (from `/proc/PID/stat`).
pub fn ppid_of(pid: u32) -> Option<u32> {
    crate::procstat::Stat::read(pid).ok()?.map(|s| s.ppid)
}

/// The command line of process `pid`, arguments joined by spaces; for kernel
/// threads (empty cmdline) the thread name, as lsns shows it.
pub fn command_of(pid: u32) -> Option<String> {
    let mut raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    while raw.last() == Some(&0) {
        raw.pop();
    }
    if raw.is_empty() {
        let comm = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
        return Some(
            String::from_utf8_lossy(comm.strip_suffix(b"\n").unwrap_or(&comm)).into_owned(),
        );
    }
    for b in &mut raw {
        if *b == 0 {
            *b = b' ';
        }
    }
    Some(String::from_utf8_lossy(&raw).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ns_names() {
        assert_eq!(
            parse_ns_name(b"net:[4026531833]"),
            Some((NsKind::Net, 4026531833))
        );
        assert_eq!(parse_ns_name(b"mnt:[1]"), Some((NsKind::Mnt, 1)));
        assert_eq!(parse_ns_name(b"socket:[12]"), None);
        assert_eq!(parse_ns_name(b"/run/netns/blue"), None);
        assert_eq!(parse_ns_name(b"net:[12"), None);
    }

    #[test]
    fn finds_nsfs_mounts_in_mountinfo() {
        let info = b"22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw\n\
            42 27 0:4 net:[4026532177] /run/netns/a\\040b rw shared:9 - nsfs nsfs rw\n\
            43 27 0:4 uts:[4026532178] /tmp/u rw - nsfs nsfs rw\n";
        let got: Vec<_> = nsfs_mounts(info).collect();
        assert_eq!(
            got,
            vec![
                (NsKind::Net, 4026532177, PathBuf::from("/run/netns/a b")),
                (NsKind::Uts, 4026532178, PathBuf::from("/tmp/u")),
            ]
        );
    }

    #[test]
    fn proc_path_is_built_on_the_stack() {
        let mut p = ProcPath::new(4321);
        assert_eq!(p.with(b"ns/", b"net"), c"4321/ns/net");
        assert_eq!(p.with(b"fd", b""), c"4321/fd");
        assert_eq!(p.fd(17), c"4321/fd/17");
        let mut z = ProcPath::new(0);
        assert_eq!(z.with(b"", b""), c"0/");
    }

    #[test]
    fn finds_own_namespaces() {
        let d = discover(Options::default()).unwrap();
        let me = std::process::id();
        for kind in NsKind::ALL {
            let Ok(id) = crate::ns_of_pid(me, kind) else {
                continue;
            };
            let ns = d.get(id.ino).expect("own namespace listed");
            assert_eq!(ns.kind, kind);
            assert!(ns.nprocs >= 1);
            assert!(ns.pid.unwrap() <= me);
        }
        assert!(d.namespaces.windows(2).all(|w| w[0].id.ino < w[1].id.ino));
        assert!(d.process(me).is_some());
    }

    #[test]
    fn kind_filter_limits_what_is_read() {
        let d = discover(Options {
            kinds: [NsKind::Uts].into_iter().collect(),
            holders: true,
            foreign_mounts: true,
        })
        .unwrap();
        assert!(d.namespaces.iter().all(|n| n.kind == NsKind::Uts));
        assert!(!d.namespaces.is_empty());
    }

    #[test]
    fn own_command_and_uid() {
        let me = std::process::id();
        assert_eq!(uid_of(me), Some(rustix::process::geteuid().as_raw()));
        assert!(command_of(me).is_some_and(|c| !c.is_empty()));
        assert_eq!(
            ppid_of(me),
            Some(rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get() as u32))
        );
    }
}
