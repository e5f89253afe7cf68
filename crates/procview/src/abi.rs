//! The FUSE wire format (the kernel's `include/uapi/linux/fuse.h`), the part
//! a read-only view needs: the request header, the requests it answers, and
//! reply bodies built as bytes (no unsafe casts: every field is written in
//! native byte order, in the header's order).

/// The protocol version we speak: 7.31 has every field written below.
pub const MAJOR: u32 = 7;
pub const MINOR: u32 = 31;

/// Request opcodes.
pub mod op {
    pub const LOOKUP: u32 = 1;
    pub const FORGET: u32 = 2;
    pub const GETATTR: u32 = 3;
    pub const OPEN: u32 = 14;
    pub const READ: u32 = 15;
    pub const STATFS: u32 = 17;
    pub const RELEASE: u32 = 18;
    pub const FLUSH: u32 = 25;
    pub const INIT: u32 = 26;
    pub const OPENDIR: u32 = 27;
    pub const READDIR: u32 = 28;
    pub const RELEASEDIR: u32 = 29;
    pub const INTERRUPT: u32 = 36;
    pub const DESTROY: u32 = 38;
    pub const BATCH_FORGET: u32 = 42;
}

/// `FOPEN_DIRECT_IO`: the kernel caches nothing of an opened file.
pub const FOPEN_DIRECT_IO: u32 = 1;

/// `struct fuse_in_header`.
const IN_HEADER: usize = 40;
/// The largest write we accept (we accept none: the kernel's minimum).
const MAX_WRITE: u32 = 4096;

/// A request: `struct fuse_in_header`'s fields we use, and the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub opcode: u32,
    pub unique: u64,
    pub nodeid: u64,
    /// The calling process, in the PID namespace of whoever mounted.
    pub pid: u32,
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// One request as read from `/dev/fuse`; `None` when it is shorter than
    /// its header says.
    pub fn parse(buf: &'a [u8]) -> Option<Request<'a>> {
        let len = u32_at(buf, 0)? as usize;
        if len < IN_HEADER || buf.len() < len {
            return None;
        }
        Some(Request {
            opcode: u32_at(buf, 4)?,
            unique: u64_at(buf, 8)?,
            nodeid: u64_at(buf, 16)?,
            pid: u32_at(buf, 32)?,
            body: &buf[IN_HEADER..len],
        })
    }

    /// The body's u32 at `off`.
    pub fn u32(&self, off: usize) -> Option<u32> {
        u32_at(self.body, off)
    }

    /// The body's u64 at `off`.
    pub fn u64(&self, off: usize) -> Option<u64> {
        u64_at(self.body, off)
    }

    /// A LOOKUP's name: the body up to its NUL.
    pub fn name(&self) -> &'a [u8] {
        let end = self
            .body
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.body.len());
        &self.body[..end]
    }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// A reply: `struct fuse_out_header` (length, `-errno` or 0, the request's
/// id) and the body.
pub fn reply(unique: u64, errno: i32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + body.len());
    put32(&mut out, (16 + body.len()) as u32);
    put32(&mut out, (-errno) as u32);
    put64(&mut out, unique);
    out.extend_from_slice(body);
    out
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_ne_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_ne_bytes());
}

/// `FUSE_NOTIFY_STORE`: data the server puts in an inode's page cache; the
/// kernel raises the inode's size to its end.
const NOTIFY_STORE: i32 = 4;

/// A `FUSE_NOTIFY_STORE` message: `data` at `offset` of inode `nodeid`
/// (`struct fuse_notify_store_out` and the data, unasked: id 0).
pub fn notify_store(nodeid: u64, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(24 + data.len());
    put64(&mut body, nodeid);
    put64(&mut body, offset);
    put32(&mut body, data.len() as u32);
    put32(&mut body, 0);
    body.extend_from_slice(data);
    reply(0, -NOTIFY_STORE, &body)
}

/// What `struct fuse_attr` says of an inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    pub ino: u64,
    /// `S_IFDIR | 0555`, `S_IFREG | 0444`.
    pub mode: u32,
    pub nlink: u32,
    /// Bytes.
    pub size: u64,
    /// Seconds since the epoch, for all three times.
    pub time: u64,
}

/// `struct fuse_attr` (88 bytes).
fn put_attr(out: &mut Vec<u8>, a: &Attr) {
    put64(out, a.ino);
    put64(out, a.size);
    put64(out, a.size.div_ceil(512)); // blocks
    for _ in 0..3 {
        put64(out, a.time);
    }
    for _ in 0..3 {
        put32(out, 0); // nanoseconds
    }
    put32(out, a.mode);
    put32(out, a.nlink);
    put32(out, 0); // uid
    put32(out, 0); // gid
    put32(out, 0); // rdev
    put32(out, 4096); // blksize
    put32(out, 0); // flags
}

/// `struct fuse_entry_out` for LOOKUP: valid for `ttl` seconds.
pub fn entry_out(a: &Attr, ttl: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    put64(&mut out, a.ino); // nodeid
    put64(&mut out, 0); // generation
    put64(&mut out, ttl); // entry_valid
    put64(&mut out, ttl); // attr_valid
    put32(&mut out, 0);
    put32(&mut out, 0);
    put_attr(&mut out, a);
    out
}

/// `struct fuse_attr_out` for GETATTR.
pub fn attr_out(a: &Attr, ttl: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(104);
    put64(&mut out, ttl);
    put32(&mut out, 0);
    put32(&mut out, 0);
    put_attr(&mut out, a);
    out
}

/// `struct fuse_open_out`.
pub fn open_out(fh: u64, flags: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    put64(&mut out, fh);
    put32(&mut out, flags);
    put32(&mut out, 0);
    out
}

/// `struct fuse_init_out` (64 bytes) answering the kernel's `minor`: no
/// optional features, the smallest write size (the view is read-only).
pub fn init_out(minor: u32, max_readahead: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    put32(&mut out, MAJOR);
    put32(&mut out, minor.min(MINOR));
    put32(&mut out, max_readahead);
    put32(&mut out, 0); // flags
    out.extend_from_slice(&16u16.to_ne_bytes()); // max_background
    out.extend_from_slice(&12u16.to_ne_bytes()); // congestion_threshold
    put32(&mut out, MAX_WRITE);
    put32(&mut out, 1); // time_gran: nanoseconds
    out.resize(64, 0); // max_pages, map_alignment, flags2, unused
    out
}

/// `struct fuse_statfs_out`: an empty file system of 255-byte names.
pub fn statfs_out() -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    for _ in 0..5 {
        put64(&mut out, 0); // blocks, bfree, bavail, files, ffree
    }
    put32(&mut out, 4096); // bsize
    put32(&mut out, 255); // namelen
    put32(&mut out, 4096); // frsize
    out.resize(80, 0);
    out
}

/// `DT_DIR` and `DT_REG`, a dirent's type.
pub const DT_DIR: u32 = 4;
pub const DT_REG: u32 = 8;

/// Appends `struct fuse_dirent` (padded to 8 bytes) when it fits in `max`
/// bytes in all; false when it does not.
pub fn push_dirent(
    out: &mut Vec<u8>,
    max: usize,
    ino: u64,
    next: u64,
    kind: u32,
    name: &str,
) -> bool {
    let len = (24 + name.len()).next_multiple_of(8);
    if out.len() + len > max {
        return false;
    }
    put64(out, ino);
    put64(out, next);
    put32(out, name.len() as u32);
    put32(out, kind);
    out.extend_from_slice(name.as_bytes());
    out.resize(out.len() + len - 24 - name.len(), 0);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_and_its_fields() {
        let mut buf = Vec::new();
        put32(&mut buf, 46);
        put32(&mut buf, op::LOOKUP);
        put64(&mut buf, 7);
        put64(&mut buf, 1);
        put32(&mut buf, 0);
        put32(&mut buf, 0);
        put32(&mut buf, 1234);
        put32(&mut buf, 0);
        buf.extend_from_slice(b"proc\0x");
        let r = Request::parse(&buf).unwrap();
        assert_eq!(
            (r.opcode, r.unique, r.nodeid, r.pid),
            (op::LOOKUP, 7, 1, 1234)
        );
        assert_eq!(r.name(), b"proc");
        assert!(Request::parse(&buf[..45]).is_none());
    }

    #[test]
    fn sizes_are_the_kernels() {
        let a = Attr {
            ino: 1,
            mode: 0,
            nlink: 1,
            size: 0,
            time: 0,
        };
        assert_eq!(entry_out(&a, 1).len(), 128);
        assert_eq!(attr_out(&a, 1).len(), 104);
        assert_eq!(open_out(1, 0).len(), 16);
        assert_eq!(init_out(45, 0).len(), 64);
        assert_eq!(statfs_out().len(), 80);
        let n = notify_store(10, 0, b"abc");
        assert_eq!(n.len(), 16 + 24 + 3);
        assert_eq!(n[4..8], 4i32.to_ne_bytes());
        assert_eq!(
            reply(9, 2, b"ab")[..8],
            [18, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]
        );
        let mut d = Vec::new();
        assert!(push_dirent(&mut d, 64, 2, 1, DT_DIR, "proc"));
        assert_eq!(d.len(), 32);
        assert!(!push_dirent(&mut d, 64, 3, 2, DT_DIR, "sys-and-more"));
    }
}
