//! What the forked child tells the parent over its close-on-exec pipe:
//! `Ready` (its namespace-side steps are done, the parent may map ids and
//! bind files) or `Failed` (a step failed: the step, its object and errno),
//! which the parent turns back into the same [`Error`] it would have made
//! itself. End of file means the command was executed.
//!
//! Frames are `[len u16][tag u8][body]` so that messages written back to
//! back are read apart.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;

use crate::Error;

const READY: u8 = 1;
const FAILED: u8 = 2;

/// One message from the child.
#[derive(Debug)]
pub(crate) enum Msg {
    Ready,
    Failed(Error),
}

/// `Error::Sys` descriptions the child can produce, sent by index.
const SYS_WHATS: [&str; 7] = [
    "child setup",
    "block signals",
    "wait for signals",
    "reap children",
    "fork the command",
    "wait for the child",
    "become a subreaper",
];

const PROPAGATIONS: [&str; 4] = ["rprivate", "rshared", "rslave", "unchanged"];

/// Which variant a failure is, on the wire.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Code {
    Unshare = 1,
    LimitReached,
    Write,
    Open,
    DeathSignal,
    ParentGone,
    Propagation,
    Chroot,
    Chdir,
    MountProc,
    KeepCaps,
    Exec,
    Sys,
    Fork,
    SetId,
    Persist,
    Spawn,
    HelperFailed,
    NoSuchProcess,
}

impl Code {
    fn from_u8(v: u8) -> Option<Code> {
        use Code::*;
        [
            Unshare,
            LimitReached,
            Write,
            Open,
            DeathSignal,
            ParentGone,
            Propagation,
            Chroot,
            Chdir,
            MountProc,
            KeepCaps,
            Exec,
            Sys,
            Fork,
            SetId,
            Persist,
            Spawn,
            HelperFailed,
            NoSuchProcess,
        ]
        .into_iter()
        .find(|c| *c as u8 == v)
    }
}

fn index_of(table: &[&'static str], s: &str) -> u8 {
    table.iter().position(|t| *t == s).unwrap_or(0) as u8
}

/// Encodes `err` as (code, extra, errno, text).
fn encode(err: &Error) -> (Code, u8, i32, String) {
    let errno = err.errno().unwrap_or(0);
    let path = |p: &PathBuf| p.display().to_string();
    match err {
        Error::Unshare { kinds, .. } => (Code::Unshare, 0, errno, kinds.clone()),
        Error::LimitReached { kinds, limits } => {
            (Code::LimitReached, 0, 0, format!("{kinds}\n{limits}"))
        }
        Error::Write { path: p, .. } => (Code::Write, 0, errno, path(p)),
        Error::Open { path: p, .. } => (Code::Open, 0, errno, path(p)),
        Error::DeathSignal { signal, .. } => {
            (Code::DeathSignal, *signal as u8, errno, String::new())
        }
        Error::ParentGone => (Code::ParentGone, 0, 0, String::new()),
        Error::Propagation { target, mode, .. } => (
            Code::Propagation,
            index_of(&PROPAGATIONS, mode),
            errno,
            path(target),
        ),
        Error::Chroot { path: p, .. } => (Code::Chroot, 0, errno, path(p)),
        Error::Chdir { path: p, .. } => (Code::Chdir, 0, errno, path(p)),
        Error::Mount { target, .. } => (Code::MountProc, 0, errno, path(target)),
        Error::KeepCaps { .. } => (Code::KeepCaps, 0, errno, String::new()),
        Error::Exec { program, .. } => (Code::Exec, 0, errno, program.clone()),
        Error::Sys { what, .. } => (Code::Sys, index_of(&SYS_WHATS, what), errno, String::new()),
        Error::Fork { .. } => (Code::Fork, 0, errno, String::new()),
        Error::SetId { what, id, .. } => {
            (Code::SetId, index_of(&SET_IDS, what), errno, id.to_string())
        }
        Error::Persist {
            source_path,
            target,
            ..
        } => (
            Code::Persist,
            0,
            errno,
            format!("{}\n{}", path(source_path), path(target)),
        ),
        Error::Spawn { program, .. } => (
            Code::Spawn,
            index_of(&HELPERS, program),
            errno,
            String::new(),
        ),
        Error::HelperFailed {
            program,
            args,
            status,
        } => (
            Code::HelperFailed,
            index_of(&HELPERS, program),
            0,
            format!("{args}\n{status}"),
        ),
        Error::NoSuchProcess { pid } => (Code::NoSuchProcess, 0, 0, pid.to_string()),
        // Not produced by the child or helper steps; keep the errno at least.
        _ => (Code::Sys, 0, errno, String::new()),
    }
}

/// The shadow suite's map helpers, sent by index.
const HELPERS: [&str; 2] = ["newuidmap", "newgidmap"];

/// `Error::SetId` steps, sent by index.
pub(crate) const SET_IDS: [&str; 3] = ["setgroups", "setgid", "setuid"];

fn decode(code: Code, extra: u8, errno: i32, text: String) -> Error {
    let source = io::Error::from_raw_os_error(errno);
    let path = PathBuf::from(&text);
    match code {
        Code::Unshare => Error::Unshare {
            kinds: text,
            source,
        },
        Code::LimitReached => {
            let (kinds, limits) = text.split_once('\n').unwrap_or((&text, ""));
            Error::LimitReached {
                kinds: kinds.to_string(),
                limits: limits.to_string(),
            }
        }
        Code::Write => Error::Write { path, source },
        Code::Open => Error::Open { path, source },
        Code::DeathSignal => Error::DeathSignal {
            signal: extra as i32,
            source,
        },
        Code::ParentGone => Error::ParentGone,
        Code::Propagation => Error::Propagation {
            target: path,
            mode: PROPAGATIONS[(extra as usize).min(PROPAGATIONS.len() - 1)],
            source,
        },
        Code::Chroot => Error::Chroot { path, source },
        Code::Chdir => Error::Chdir { path, source },
        Code::MountProc => Error::Mount {
            what: "proc",
            target: path,
            source,
        },
        Code::KeepCaps => Error::KeepCaps { source },
        Code::Exec => Error::Exec {
            program: text,
            source,
        },
        Code::Sys => Error::Sys {
            what: SYS_WHATS[(extra as usize).min(SYS_WHATS.len() - 1)],
            source,
        },
        Code::Fork => Error::Fork { source },
        Code::Persist => {
            let (from, to) = text.split_once('\n').unwrap_or((&text, ""));
            Error::Persist {
                source_path: PathBuf::from(from),
                target: PathBuf::from(to),
                source,
            }
        }
        Code::Spawn => Error::Spawn {
            program: HELPERS[(extra as usize).min(HELPERS.len() - 1)],
            source,
        },
        Code::HelperFailed => {
            let (args, status) = text.split_once('\n').unwrap_or((&text, ""));
            Error::HelperFailed {
                program: HELPERS[(extra as usize).min(HELPERS.len() - 1)],
                args: args.to_string(),
                status: status.to_string(),
            }
        }
        Code::NoSuchProcess => Error::NoSuchProcess {
            pid: text.parse().unwrap_or(0),
        },
        Code::SetId => Error::SetId {
            what: SET_IDS[(extra as usize).min(SET_IDS.len() - 1)],
            id: text.parse().unwrap_or(u32::MAX),
            source,
        },
    }
}

fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let len = (1 + body.len()) as u16;
    let mut out = Vec::with_capacity(2 + len as usize);
    out.extend_from_slice(&len.to_le_bytes());
    out.push(tag);
    out.extend_from_slice(body);
    out
}

fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match rustix::io::write(fd, buf) {
            Ok(n) => buf = &buf[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Child: the namespace-side steps are done.
pub(crate) fn send_ready(fd: impl AsFd) -> io::Result<()> {
    write_all(fd.as_fd(), &frame(READY, &[]))
}

/// Child: step `err` failed. Best effort: if the parent is gone, nobody is
/// left to tell.
pub(crate) fn send_failure(fd: impl AsFd, err: &Error) {
    let (code, extra, errno, mut text) = encode(err);
    // One frame stays below PIPE_BUF, so it is written in one piece.
    if text.len() > 3000 {
        let mut cut = 3000;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    let mut body = vec![code as u8, extra];
    body.extend_from_slice(&errno.to_le_bytes());
    body.extend_from_slice(text.as_bytes());
    let _ = write_all(fd.as_fd(), &frame(FAILED, &body));
}

/// Parent: reads the child's messages one at a time.
pub(crate) struct Reader {
    buf: Vec<u8>,
    eof: bool,
}

impl Reader {
    pub(crate) fn new() -> Reader {
        Reader {
            buf: Vec::new(),
            eof: false,
        }
    }

    /// The next message, or `None` at end of file (the child executed the
    /// command, or died without a word).
    pub(crate) fn next(&mut self, fd: BorrowedFd<'_>) -> Result<Option<Msg>, Error> {
        loop {
            if let Some(msg) = self.parse()? {
                return Ok(Some(msg));
            }
            if self.eof {
                return Ok(None);
            }
            let mut chunk = [0u8; 4096];
            match rustix::io::read(fd, &mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    return Err(Error::Sys {
                        what: "read from the child",
                        source: e.into(),
                    })
                }
            }
        }
    }

    fn parse(&mut self) -> Result<Option<Msg>, Error> {
        if self.buf.len() < 2 {
            return self.truncated();
        }
        let len = u16::from_le_bytes([self.buf[0], self.buf[1]]) as usize;
        if self.buf.len() < 2 + len {
            return self.truncated();
        }
        let frame: Vec<u8> = self.buf.drain(..2 + len).skip(2).collect();
        match frame.first() {
            Some(&READY) => Ok(Some(Msg::Ready)),
            Some(&FAILED) if frame.len() >= 7 => {
                let code = Code::from_u8(frame[1]).ok_or_else(|| bad(&frame))?;
                let errno = i32::from_le_bytes([frame[3], frame[4], frame[5], frame[6]]);
                let text = String::from_utf8_lossy(&frame[7..]).into_owned();
                Ok(Some(Msg::Failed(decode(code, frame[2], errno, text))))
            }
            _ => Err(bad(&frame)),
        }
    }

    fn truncated(&self) -> Result<Option<Msg>, Error> {
        if self.eof && !self.buf.is_empty() {
            return Err(bad(&self.buf));
        }
        Ok(None)
    }
}

fn bad(bytes: &[u8]) -> Error {
    Error::Protocol {
        peer: "child",
        expected: "a ready or failure message",
        got: format!(
            "{} bytes {:02x?}",
            bytes.len(),
            &bytes[..bytes.len().min(8)]
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::pipe::{pipe_with, PipeFlags};

    fn round_trip(err: Error) -> String {
        let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        send_ready(&w).unwrap();
        send_failure(&w, &err);
        drop(w);
        let mut reader = Reader::new();
        assert!(matches!(reader.next(r.as_fd()).unwrap(), Some(Msg::Ready)));
        let Some(Msg::Failed(back)) = reader.next(r.as_fd()).unwrap() else {
            panic!("no failure");
        };
        assert!(reader.next(r.as_fd()).unwrap().is_none());
        assert_eq!(back.errno(), err.errno());
        back.to_string()
    }

    #[test]
    fn failures_come_back_as_the_same_error() {
        let e = |n| io::Error::from_raw_os_error(n);
        for err in [
            Error::Chroot {
                path: "/no/such".into(),
                source: e(libc::ENOENT),
            },
            Error::Exec {
                program: "frobnicate".into(),
                source: e(libc::ENOENT),
            },
            Error::Propagation {
                target: "/".into(),
                mode: "rslave",
                source: e(libc::EPERM),
            },
            Error::Mount {
                what: "proc",
                target: "/proc".into(),
                source: e(libc::EBUSY),
            },
            Error::Unshare {
                kinds: "time".into(),
                source: e(libc::EPERM),
            },
            Error::Sys {
                what: "fork the command",
                source: e(libc::EAGAIN),
            },
            Error::SetId {
                what: "setuid",
                id: 1000,
                source: e(libc::EPERM),
            },
            Error::ParentGone,
            Error::Persist {
                source_path: "/proc/1/ns/net".into(),
                target: "/run/netns/x".into(),
                source: e(libc::EINVAL),
            },
            Error::HelperFailed {
                program: "newgidmap",
                args: "12 0 1000 1".into(),
                status: "newgidmap: gid range [0-1) -> [1000-1001) not allowed".into(),
            },
            Error::Write {
                path: "/proc/12/uid_map".into(),
                source: e(libc::EPERM),
            },
        ] {
            let want = err.to_string();
            assert_eq!(round_trip(err), want);
        }
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        write_all(w.as_fd(), &[3, 0, 9, 9, 9]).unwrap();
        drop(w);
        let err = Reader::new().next(r.as_fd()).unwrap_err().to_string();
        assert!(err.starts_with("child broke the setup protocol"), "{err}");
    }
}
