//! The FUSE side: `fuser::Filesystem` over the fixed `tree`. Each open builds
//! the file once for the process that opened it (the request's pid), and
//! reads serve slices of that buffer (LXCFS's rule: a reader that reads in
//! pieces sees one consistent file). Files are opened `direct_io`, so the
//! kernel caches nothing and their size of 0 (as in /proc) does not matter.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, Request,
};

use crate::tree::{self, Kind, Node};
use crate::view::Source;

/// How long the kernel may keep names and attributes: they never change.
const TTL: Duration = Duration::from_secs(3600);

pub struct ProcView {
    source: Source,
    open: Mutex<HashMap<u64, Vec<u8>>>,
    next: AtomicU64,
    started: SystemTime,
}

impl ProcView {
    pub fn new(source: Source) -> ProcView {
        ProcView {
            source,
            open: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            started: SystemTime::now(),
        }
    }

    fn attr(&self, n: &Node) -> FileAttr {
        let (kind, perm, nlink) = match n.kind {
            Kind::Dir => (FileType::Directory, 0o555, 2),
            Kind::File(_) => (FileType::RegularFile, 0o444, 1),
        };
        FileAttr {
            ino: INodeNo(n.ino),
            size: 0,
            blocks: 0,
            atime: self.started,
            mtime: self.started,
            ctime: self.started,
            crtime: self.started,
            kind,
            perm,
            nlink,
            uid: 0,
            gid: 0,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    fn handles(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<u8>>> {
        // A panic elsewhere cannot leave the map half-changed: take it anyway.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Filesystem for ProcView {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        use std::os::unix::ffi::OsStrExt;
        match tree::lookup(parent.0, name.as_bytes()) {
            Some(n) => reply.entry(&TTL, &self.attr(n), Generation(0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match tree::node(ino.0) {
            Some(n) => reply.attr(&TTL, &self.attr(n)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let Some(Kind::File(file)) = tree::node(ino.0).map(|n| n.kind) else {
            return reply.error(Errno::EISDIR);
        };
        if flags.0 & libc::O_ACCMODE != libc::O_RDONLY {
            return reply.error(Errno::EACCES);
        }
        let content = self.source.content(file, req.pid());
        let fh = self.next.fetch_add(1, Ordering::Relaxed);
        self.handles().insert(fh, content);
        reply.opened(FileHandle(fh), FopenFlags::FOPEN_DIRECT_IO);
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let handles = self.handles();
        let Some(content) = handles.get(&fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(content.len());
        let end = start.saturating_add(size as usize).min(content.len());
        reply.data(&content[start..end]);
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.handles().remove(&fh.0);
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Some(dir) = tree::node(ino.0).filter(|n| n.kind == Kind::Dir) else {
            return reply.error(Errno::ENOTDIR);
        };
        let dots = [(dir.ino, "."), (dir.parent, "..")];
        let entries = dots
            .into_iter()
            .map(|(i, name)| (i, FileType::Directory, name))
            .chain(tree::children(dir.ino).map(|n| {
                let kind = match n.kind {
                    Kind::Dir => FileType::Directory,
                    Kind::File(_) => FileType::RegularFile,
                };
                (n.ino, kind, n.name)
            }));
        for (i, (ino, kind, name)) in entries.enumerate().skip(offset as usize) {
            if reply.add(INodeNo(ino), (i + 1) as u64, kind, name) {
                break;
            }
        }
        reply.ok();
    }
}
