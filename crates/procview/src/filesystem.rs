//! The view's answers to FUSE requests, over the fixed `tree`. Each open
//! builds the file once for the process that opened it (the request's pid),
//! and reads serve slices of that buffer (LXCFS's rule: a reader that reads
//! in pieces sees one consistent file). Files are opened `direct_io`, so
//! read(2) bypasses the page cache and their size of 0 (as in /proc) does
//! not matter to it (sendfile: see `ProcView::open`). A read of a handle this server never gave (the file was opened before a
//! restart) is answered from a file built for the reader then.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::abi::{self, op, Attr, Request};
use crate::tree::{self, Kind, Node};
use crate::view::Source;

/// How long the kernel may keep names and attributes, in seconds: they
/// never change.
const TTL: u64 = 3600;

/// What a request gets back: a notification first (for an open, its file
/// for the page cache: see `ProcView::open`; the kernel may refuse it, which
/// costs only sendfile readers), then the reply, none for the requests the
/// kernel expects none for (FORGET, INTERRUPT).
pub struct Written {
    pub notify: Option<Vec<u8>>,
    pub reply: Option<Vec<u8>>,
}

impl Written {
    fn reply(reply: Vec<u8>) -> Written {
        Written {
            notify: None,
            reply: Some(reply),
        }
    }
}

pub struct ProcView {
    source: Source,
    open: Mutex<HashMap<u64, Vec<u8>>>,
    next: AtomicU64,
    started: u64,
}

/// A request's answer: an errno, or a reply body.
type Answer = Result<Vec<u8>, i32>;

impl ProcView {
    pub fn new(source: Source) -> ProcView {
        let started = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        ProcView {
            source,
            open: Mutex::new(HashMap::new()),
            // Handles from the clock: a restarted server does not hand out
            // a number an earlier one gave to a file still open.
            next: AtomicU64::new(started << 20),
            started,
        }
    }

    /// What to write back for `req`.
    pub fn answer(&self, req: &Request) -> Written {
        if req.opcode == op::OPEN {
            return match self.open(req) {
                Ok((store, body)) => Written {
                    notify: Some(store),
                    reply: Some(abi::reply(req.unique, 0, &body)),
                },
                Err(errno) => Written::reply(abi::reply(req.unique, errno, &[])),
            };
        }
        let answer = match req.opcode {
            op::INIT => self.init(req),
            op::LOOKUP => self.lookup(req),
            op::GETATTR => self.getattr(req),
            op::READ => self.read(req),
            op::RELEASE => self.release(req),
            op::OPENDIR => self.opendir(req),
            op::READDIR => self.readdir(req),
            op::STATFS => Ok(abi::statfs_out()),
            op::RELEASEDIR | op::DESTROY => Ok(Vec::new()),
            // nothing to flush: ENOSYS once, and the kernel stops asking
            // (a round trip less at every close)
            op::FLUSH => Err(libc::ENOSYS),
            op::FORGET | op::BATCH_FORGET | op::INTERRUPT => {
                return Written {
                    notify: None,
                    reply: None,
                }
            }
            _ => Err(libc::ENOSYS),
        };
        Written::reply(match answer {
            Ok(body) => abi::reply(req.unique, 0, &body),
            Err(errno) => abi::reply(req.unique, errno, &[]),
        })
    }

    fn init(&self, req: &Request) -> Answer {
        let (Some(major), Some(minor)) = (req.u32(0), req.u32(4)) else {
            return Err(libc::EINVAL);
        };
        if major != abi::MAJOR {
            return Err(libc::EPROTO);
        }
        Ok(abi::init_out(minor, req.u32(8).unwrap_or(0)))
    }

    fn attr(&self, n: &Node) -> Attr {
        let (mode, nlink) = match n.kind {
            Kind::Dir => (libc::S_IFDIR | 0o555, 2),
            Kind::File(_) => (libc::S_IFREG | 0o444, 1),
        };
        Attr {
            ino: n.ino,
            mode,
            nlink,
            // 0, as procfs says: readers read to the end
            size: 0,
            time: self.started,
        }
    }

    fn lookup(&self, req: &Request) -> Answer {
        let n = tree::lookup(req.nodeid, req.name()).ok_or(libc::ENOENT)?;
        Ok(abi::entry_out(&self.attr(n), TTL))
    }

    fn getattr(&self, req: &Request) -> Answer {
        let n = tree::node(req.nodeid).ok_or(libc::ENOENT)?;
        Ok(abi::attr_out(&self.attr(n), TTL))
    }

    /// The file built for the opener under a new handle, and the store of
    /// it in the inode's page cache. `read(2)` never uses that cache
    /// (`direct_io`), but sendfile(2) and splice(2) (busybox's `cat`) do,
    /// and they stop at the inode's size, which procfs's 0 would make
    /// empty and which the kernel lowers to the end of any short read: the
    /// store raises it to this file's end (the kernel drops the cached
    /// pages at each open, so a splice reader reads its own file).
    fn open(&self, req: &Request) -> Result<(Vec<u8>, Vec<u8>), i32> {
        let Some(Kind::File(file)) = tree::node(req.nodeid).map(|n| n.kind) else {
            return Err(libc::EISDIR);
        };
        let flags = req.u32(0).ok_or(libc::EINVAL)? as i32;
        if flags & libc::O_ACCMODE != libc::O_RDONLY {
            return Err(libc::EACCES);
        }
        let content = self.source.content(file, req.pid);
        let store = abi::notify_store(req.nodeid, 0, &content);
        let fh = self.next.fetch_add(1, Ordering::Relaxed);
        self.handles().insert(fh, content);
        Ok((store, abi::open_out(fh, abi::FOPEN_DIRECT_IO)))
    }

    /// `struct fuse_read_in`: fh, offset, size.
    fn read(&self, req: &Request) -> Answer {
        let (Some(fh), Some(offset), Some(size)) = (req.u64(0), req.u64(8), req.u32(16)) else {
            return Err(libc::EINVAL);
        };
        let slice = |content: &[u8]| {
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(content.len());
            let end = start.saturating_add(size as usize).min(content.len());
            content[start..end].to_vec()
        };
        if let Some(content) = self.handles().get(&fh) {
            return Ok(slice(content));
        }
        let Some(Kind::File(file)) = tree::node(req.nodeid).map(|n| n.kind) else {
            return Err(libc::EBADF);
        };
        Ok(slice(&self.source.content(file, req.pid)))
    }

    fn release(&self, req: &Request) -> Answer {
        if let Some(fh) = req.u64(0) {
            self.handles().remove(&fh);
        }
        Ok(Vec::new())
    }

    fn opendir(&self, req: &Request) -> Answer {
        match tree::node(req.nodeid).map(|n| n.kind) {
            Some(Kind::Dir) => Ok(abi::open_out(0, 0)),
            Some(Kind::File(_)) => Err(libc::ENOTDIR),
            None => Err(libc::ENOENT),
        }
    }

    /// `struct fuse_read_in` again: the offset is the index of the next
    /// entry, the size the most bytes the kernel takes.
    fn readdir(&self, req: &Request) -> Answer {
        let dir = tree::node(req.nodeid)
            .filter(|n| n.kind == Kind::Dir)
            .ok_or(libc::ENOTDIR)?;
        let offset = req.u64(8).unwrap_or(0) as usize;
        let max = req.u32(16).unwrap_or(0) as usize;
        let dots = [(dir.ino, "."), (dir.parent, "..")];
        let entries = dots
            .into_iter()
            .map(|(i, name)| (i, abi::DT_DIR, name))
            .chain(tree::children(dir.ino).map(|n| {
                let kind = match n.kind {
                    Kind::Dir => abi::DT_DIR,
                    Kind::File(_) => abi::DT_REG,
                };
                (n.ino, kind, n.name)
            }));
        let mut out = Vec::new();
        for (i, (ino, kind, name)) in entries.enumerate().skip(offset) {
            if !abi::push_dirent(&mut out, max, ino, (i + 1) as u64, kind, name) {
                break;
            }
        }
        Ok(out)
    }

    fn handles(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<u8>>> {
        // A panic elsewhere cannot leave the map half-changed: take it anyway.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}
