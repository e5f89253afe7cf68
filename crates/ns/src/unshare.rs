//! `unshare`: run a command in new namespaces, as util-linux `unshare(1)`
//! does, driven by a plain [`UnshareOptions`].
//!
//! Two paths, chosen by whether the command gets a process of its own:
//!
//! - **In place** (no `fork`): the caller `unshare(2)`s and `execve(2)`s the
//!   command. A helper is forked beforehand only when the kernel requires a
//!   process outside the new namespaces: to write a uid/gid map that is more
//!   than one self-mapping, or to bind a namespace file into the original
//!   mount namespace once the caller left it (new mount or user namespace).
//! - **Forked** (`fork`, `init`, `kill_child`): one `clone3(2)` creates the
//!   child directly in the new namespaces (user and PID included), so the
//!   parent is still outside them and does the outside work itself — id maps,
//!   namespace files — with no helper process at all. The child reports each
//!   failed step over a close-on-exec channel (`wire`); end of file there
//!   means the command was executed.
//!
//! Time namespaces are unshared by the process that execs the command (or by
//! PID 1 before it forks the command) and their offsets written right after,
//! before any process enters.

mod forked;
mod in_place;
mod program;
mod wire;

use std::convert::Infallible;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rustix::process::{Pid, Signal, WaitOptions};
use rustix::thread::UnshareFlags;

use crate::mountns::{self, Propagation};
use crate::persist::{PersistTarget, Persisted};
use crate::pid1;
use crate::supervise::{self, ChildStatus, Signals};
use crate::{limits, Error, IdMaps, NsKind, SetGroups};

use program::Program;
use wire::{Link, Msg};

/// Everything `nsbox unshare` can be asked to do.
#[derive(Clone, Debug, Default)]
pub struct UnshareOptions {
    /// New namespaces to create.
    pub namespaces: Vec<NsKind>,
    /// New namespaces to keep alive on files (each kind must be in `namespaces`).
    pub persist: Vec<PersistTarget>,
    /// Run the command as a child (needed for it to be in a new PID namespace).
    pub fork: bool,
    /// The child is a small init (PID 1 with a new PID namespace, else a
    /// child subreaper) that runs the command, reaps orphans and passes
    /// signals on. Implies `fork`.
    pub init: bool,
    /// Signal the child gets when nsbox dies (`PR_SET_PDEATHSIG`). Implies `fork`.
    pub kill_child: Option<i32>,
    /// Mount a new proc here (in a new mount namespace).
    pub mount_proc: Option<PathBuf>,
    /// Propagation applied recursively to `/` in a new mount namespace.
    pub propagation: Propagation,
    /// Maps and setgroups for a new user namespace.
    pub maps: IdMaps,
    /// CLOCK_MONOTONIC offset in seconds for a new time namespace.
    pub monotonic: Option<i64>,
    /// CLOCK_BOOTTIME offset in seconds for a new time namespace.
    pub boottime: Option<i64>,
    /// chroot here before running the command (then cwd is `/`).
    pub root: Option<PathBuf>,
    /// Working directory of the command.
    pub wd: Option<PathBuf>,
    /// Switch to this gid (and drop supplementary groups) before exec.
    pub setgid: Option<u32>,
    /// Switch to this uid before exec.
    pub setuid: Option<u32>,
    /// Keep the capabilities gained in a new user namespace across exec (as ambient).
    pub keep_caps: bool,
    /// The command and its arguments; empty means `$SHELL` (or /bin/sh) as
    /// a login shell.
    pub command: Vec<OsString>,
}

impl UnshareOptions {
    fn creates(&self, kind: NsKind) -> bool {
        self.namespaces.contains(&kind)
    }

    fn forks(&self) -> bool {
        self.fork || self.init || self.kill_child.is_some()
    }

    /// The kinds to create, in the kernel's join order (user first).
    fn kinds(&self) -> Vec<NsKind> {
        NsKind::ALL
            .into_iter()
            .filter(|k| self.creates(*k))
            .collect()
    }
}

/// Runs `opts.command` in new namespaces.
///
/// Without `fork` this returns only on failure (on success the calling
/// process *is* the command). With `fork` it returns the child's status.
/// Every failure leaves nothing behind: files it created are removed, binds
/// unmounted, children reaped.
///
/// # Safety
///
/// The calling process must be single-threaded: the forked child runs Rust
/// code on a copy of the caller's memory, where locks held by other threads
/// would stay locked forever, and a multi-threaded process cannot create a
/// user namespace at all.
pub unsafe fn unshare(opts: &UnshareOptions) -> Result<ChildStatus, Error> {
    // Bad maps fail here, before anything exists, with the kernel's reason.
    for ranges in [&opts.maps.uid, &opts.maps.gid] {
        if !ranges.is_empty() {
            crate::idmap::validate(ranges)?;
        }
    }
    if opts.forks() {
        // SAFETY: single-threaded, as this function's caller guarantees.
        unsafe { forked::run_forked(opts) }
    } else {
        // SAFETY: as above.
        Err(never_ok(unsafe { in_place::run_in_place(opts) }))
    }
}

/// Waits for `pid` (a helper or a child that failed); 1 if its status
/// cannot be had.
fn reap(pid: Pid) -> ChildStatus {
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, s))) => return ChildStatus::from_wait(s).unwrap_or(ChildStatus::Exited(1)),
            Err(rustix::io::Errno::INTR) => {}
            _ => return ChildStatus::Exited(1),
        }
    }
}

fn write_maps(maps: &IdMaps, pid: Pid) -> Result<(), Error> {
    if maps_empty(maps) {
        return Ok(());
    }
    maps.write(pid.as_raw_nonzero().get() as u32)
}

fn maps_empty(maps: &IdMaps) -> bool {
    maps.uid.is_empty() && maps.gid.is_empty() && maps.setgroups.is_none()
}

// ------------------------------------------------------- steps of both paths

fn unshare_time(opts: &UnshareOptions) -> Result<(), Error> {
    // SAFETY: CLONE_NEWTIME does not touch the file descriptor table.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWTIME) }.map_err(|e| {
        limits::explain_enospc(
            &[NsKind::Time],
            Error::Unshare {
                kinds: "time".into(),
                source: e.into(),
            },
        )
    })?;
    write_time_offsets(opts)
}

/// Writes the clock offsets of the time namespace just unshared; it is
/// entered by the next exec or fork, after which offsets are frozen.
fn write_time_offsets(opts: &UnshareOptions) -> Result<(), Error> {
    let clock = |secs: Option<i64>| secs.map(|secs| crate::ClockOffset { secs, nanos: 0 });
    crate::timens::write_offsets(&crate::TimeOffsets {
        monotonic: clock(opts.monotonic),
        boottime: clock(opts.boottime),
    })
}

/// chroot, working directory, proc — in util-linux's order.
fn enter_root(opts: &UnshareOptions) -> Result<(), Error> {
    let mut wd = opts.wd.clone();
    if let Some(root) = &opts.root {
        rustix::process::chroot(root).map_err(|e| Error::Chroot {
            path: root.clone(),
            source: e.into(),
        })?;
        wd.get_or_insert_with(|| PathBuf::from("/"));
    }
    if let Some(dir) = &wd {
        rustix::process::chdir(dir).map_err(|e| Error::Chdir {
            path: dir.clone(),
            source: e.into(),
        })?;
    }
    if let Some(dir) = &opts.mount_proc {
        // With the default (private) propagation the recursive change of `/`
        // already covers an existing proc mount; chroot hides that one anyway.
        let prop = if opts.root.is_some() {
            Propagation::Private
        } else {
            opts.propagation
        };
        mountns::mount_proc(dir, prop)?;
    }
    Ok(())
}

fn set_ids(opts: &UnshareOptions) -> Result<(), Error> {
    let set_id = |what: &'static str, id: u32, r: rustix::io::Result<()>| {
        r.map_err(|e| Error::SetId {
            what: what.into(),
            id,
            source: e.into(),
        })
    };
    if let Some(gid) = opts.setgid {
        set_id("setgroups", 0, rustix::thread::set_thread_groups(&[]))?;
        let g = rustix::process::Gid::from_raw(gid);
        set_id("setgid", gid, rustix::thread::set_thread_gid(g))?;
    }
    if let Some(uid) = opts.setuid {
        let u = rustix::process::Uid::from_raw(uid);
        set_id("setuid", uid, rustix::thread::set_thread_uid(u))?;
    }
    Ok(())
}

/// Makes the permitted capabilities (all of them, in a new user namespace)
/// inheritable and ambient, so that they survive exec for a non-root uid.
fn keep_caps() -> Result<(), Error> {
    let err = |e: caps::errors::CapsError| Error::KeepCaps {
        source: io::Error::other(e.to_string()),
    };
    let permitted = caps::read(None, caps::CapSet::Permitted).map_err(err)?;
    caps::set(None, caps::CapSet::Inheritable, &permitted).map_err(err)?;
    for cap in permitted {
        caps::raise(None, caps::CapSet::Ambient, cap).map_err(err)?;
    }
    Ok(())
}

/// The shell's exit code for a command that could not be run: 127 when not
/// found, 126 when found but not runnable; 1 for every other failure.
pub fn exit_code_for(err: &Error) -> u8 {
    match err {
        Error::Exec { source, .. } if source.raw_os_error() == Some(libc::ENOENT) => 127,
        Error::Exec { .. } => 126,
        _ => 1,
    }
}

/// Resolves `--map-user`'s argument: a number, or a name from the user database.
pub fn user_id(s: &str) -> Result<u32, Error> {
    if let Ok(n) = s.parse() {
        return Ok(n);
    }
    lookup(s, "/etc/passwd").ok_or_else(|| Error::NoSuchUser { name: s.into() })
}

/// Resolves `--map-group`'s argument: a number, or a name from the group database.
pub fn group_id(s: &str) -> Result<u32, Error> {
    if let Ok(n) = s.parse() {
        return Ok(n);
    }
    lookup(s, "/etc/group").ok_or_else(|| Error::NoSuchGroup { name: s.into() })
}

/// The id (third field) of `name` in a passwd- or group-format file.
fn lookup(name: &str, file: &str) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

/// The error of a sequence that ends in exec: it can only return one.
fn never_ok(r: Result<Infallible, Error>) -> Error {
    match r {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

fn label(kinds: &[NsKind]) -> String {
    kinds
        .iter()
        .map(|k| k.proc_name())
        .collect::<Vec<_>>()
        .join("+")
}

fn sys(what: &'static str, e: rustix::io::Errno) -> Error {
    Error::Sys {
        what: what.into(),
        source: e.into(),
    }
}

fn exit_now(code: u8) -> ! {
    // SAFETY: _exit ends the process at once; skipping atexit handlers and
    // stdio flushing is intended in a forked child that shares them with
    // its parent.
    unsafe { libc::_exit(code as i32) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdRange;
    use in_place::self_writable;
    use program::find_program;

    #[test]
    fn self_writable_maps() {
        let euid = rustix::process::geteuid().as_raw();
        let egid = rustix::process::getegid().as_raw();
        let mut maps = IdMaps {
            uid: vec![IdRange::single(0, euid)],
            gid: vec![IdRange::single(0, egid)],
            setgroups: None,
        };
        assert!(self_writable(&maps));
        maps.setgroups = Some(SetGroups::Allow);
        assert!(!self_writable(&maps));
        maps.setgroups = None;
        maps.uid = vec![IdRange {
            inside: 0,
            outside: 10000,
            count: 2000,
        }];
        assert!(!self_writable(&maps));
    }

    #[test]
    fn program_search_follows_execvp() {
        assert_eq!(
            find_program(OsStr::new("sh")).unwrap().file_name().unwrap(),
            "sh"
        );
        let err = find_program(OsStr::new("nsbox-no-such-program")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        assert_eq!(
            find_program(OsStr::new("./relative")).unwrap(),
            PathBuf::from("./relative")
        );
    }

    #[test]
    fn exit_codes_for_failed_exec() {
        let exec = |n| Error::Exec {
            program: "x".into(),
            source: io::Error::from_raw_os_error(n),
        };
        assert_eq!(exit_code_for(&exec(libc::ENOENT)), 127);
        assert_eq!(exit_code_for(&exec(libc::EACCES)), 126);
        assert_eq!(exit_code_for(&Error::ParentGone), 1);
    }

    #[test]
    fn names_resolve_from_the_databases() {
        assert_eq!(user_id("0").unwrap(), 0);
        assert_eq!(user_id("root").unwrap(), 0);
        assert_eq!(group_id("root").unwrap(), 0);
        assert!(user_id("nsbox-nobody-here").is_err());
    }

    #[test]
    fn labels_join_kinds() {
        assert_eq!(label(&[NsKind::User, NsKind::Net]), "user+net");
    }
}
