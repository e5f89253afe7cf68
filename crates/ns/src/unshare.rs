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
//!   failed step over a close-on-exec pipe ([`wire`]); end of file there
//!   means the command was executed.
//!
//! Time namespaces are unshared by the process that execs the command (or by
//! PID 1 before it forks the command) and their offsets written right after,
//! before any process enters.

mod wire;

use std::convert::Infallible;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rustix::pipe::{pipe_with, PipeFlags};
use rustix::process::{Pid, Signal, WaitOptions};
use rustix::thread::UnshareFlags;

use crate::mountns::{self, Propagation};
use crate::persist::{PersistTarget, Persisted};
use crate::pid1::{self, BlockedSignals, ChildStatus};
use crate::{limits, Error, IdMaps, NsKind, SetGroups};

use wire::{Msg, Reader};

/// Everything `nsbox unshare` can be asked to do.
#[derive(Clone, Debug, Default)]
pub struct UnshareOptions {
    /// New namespaces to create.
    pub namespaces: Vec<NsKind>,
    /// New namespaces to keep alive on files (each kind must be in `namespaces`).
    pub persist: Vec<PersistTarget>,
    /// Run the command as a child (needed for it to be in a new PID namespace).
    pub fork: bool,
    /// The child is a small init (PID 1) that runs the command, reaps
    /// orphans and passes signals on. Implies `fork`.
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
        unsafe { run_forked(opts) }
    } else {
        // SAFETY: as above.
        Err(never_ok(unsafe { run_in_place(opts) }))
    }
}

// ---------------------------------------------------------------- forked path

/// What the forked child is handed.
struct ChildCtx {
    report: OwnedFd,
    go: Option<OwnedFd>,
    parent: Option<OwnedFd>,
    signals: BlockedSignals,
}

/// # Safety
/// Single-threaded caller (see [`unshare`]).
unsafe fn run_forked(opts: &UnshareOptions) -> Result<ChildStatus, Error> {
    let mut files = Persisted::prepare(&opts.persist)?;
    // SAFETY: passed through from our caller.
    match unsafe { forked(opts, &mut files) } {
        Ok(status) => {
            files.keep();
            Ok(status)
        }
        Err(e) => {
            files.undo();
            Err(e)
        }
    }
}

/// # Safety
/// Single-threaded caller (see [`unshare`]).
unsafe fn forked(opts: &UnshareOptions, files: &mut Persisted) -> Result<ChildStatus, Error> {
    // 1. Block the forwarded signals before the child exists, so none is lost.
    let signals = BlockedSignals::block()?;
    // 2. A handle on ourselves, for the child to check after PR_SET_PDEATHSIG.
    let parent = match opts.kill_child {
        Some(_) => Some(
            rustix::process::pidfd_open(
                rustix::process::getpid(),
                rustix::process::PidfdFlags::empty(),
            )
            .map_err(|e| sys("open a pidfd on nsbox", e))?,
        ),
        None => None,
    };
    let (report_r, report_w) = pipe_with(PipeFlags::CLOEXEC).map_err(|e| sys("pipe", e))?;
    let parent_work = !maps_empty(&opts.maps) || !files.is_empty();
    let go = if parent_work {
        Some(pipe_with(PipeFlags::CLOEXEC).map_err(|e| sys("pipe", e))?)
    } else {
        None
    };

    // 3. One clone3 into every new namespace but time (see module docs).
    let kinds: Vec<NsKind> = opts
        .kinds()
        .into_iter()
        .filter(|k| *k != NsKind::Time)
        .collect();
    // SAFETY: single-threaded (our caller's guarantee); the child below
    // never returns into the caller: it execs or exits.
    let pid = match unsafe { fork_into(crate::clone_flags(kinds.iter().copied())) } {
        Ok(Some(pid)) => pid,
        Ok(None) => {
            drop(report_r);
            let go = go.map(|(r, w)| {
                drop(w);
                r
            });
            child_main(
                opts,
                ChildCtx {
                    report: report_w,
                    go,
                    parent,
                    signals,
                },
            )
        }
        Err(source) => {
            return Err(limits::explain_enospc(
                &kinds,
                Error::Unshare {
                    kinds: label(&kinds),
                    source,
                },
            ))
        }
    };
    drop(report_w);
    drop(parent);
    let mut reader = Reader::new();

    // 4. Sync: the child has done its namespace-side steps; do the outside
    //    ones (id maps, namespace files), then let it go on.
    if let Some((go_r, go_w)) = go {
        drop(go_r);
        match reader.next(report_r.as_fd())? {
            Some(Msg::Ready) => {}
            Some(Msg::Failed(e)) => {
                reap(pid);
                return Err(e);
            }
            None => {
                let status = reap(pid);
                return Err(Error::Protocol {
                    peer: "child",
                    expected: "ready",
                    got: format!("exit with status {}", status.code()),
                });
            }
        }
        let outside = write_maps(&opts.maps, pid)
            .and_then(|()| files.bind(pid.as_raw_nonzero().get() as u32));
        if let Err(e) = outside {
            drop(go_w);
            reap(pid);
            return Err(e);
        }
        wire_go(go_w.as_fd())?;
    }

    // 5. Wait, passing signals on; then the pipe says whether the command ran.
    let status = pid1::wait_forwarding(pid, &signals)?;
    match reader.next(report_r.as_fd())? {
        Some(Msg::Failed(e)) => Err(e),
        Some(Msg::Ready) => Err(Error::Protocol {
            peer: "child",
            expected: "failure or end of file",
            got: "ready".into(),
        }),
        None => Ok(status),
    }
}

fn reap(pid: Pid) -> ChildStatus {
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, s))) => {
                return s
                    .exit_status()
                    .map(|c| ChildStatus::Exited(c as u8))
                    .or(s.terminating_signal().map(ChildStatus::Signaled))
                    .unwrap_or(ChildStatus::Exited(1))
            }
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

const GO: u8 = 0x06;
const COMMIT: u8 = 0x07;

fn wire_go(fd: BorrowedFd<'_>) -> Result<(), Error> {
    rustix::io::write(fd, &[GO]).map_err(|e| sys("signal the child", e))?;
    Ok(())
}

/// Reads one byte; `None` at end of file.
fn read_byte(fd: BorrowedFd<'_>) -> Option<u8> {
    let mut b = [0u8; 1];
    loop {
        match rustix::io::read(fd, &mut b) {
            Ok(1) => return Some(b[0]),
            Err(rustix::io::Errno::INTR) => {}
            _ => return None,
        }
    }
}

/// The forked child: namespace-side steps, then the command (or PID 1).
fn child_main(opts: &UnshareOptions, ctx: ChildCtx) -> ! {
    let err = never_ok(child_steps(opts, &ctx));
    wire::send_failure(&ctx.report, &err);
    exit_now(exit_code_for(&err))
}

fn child_steps(opts: &UnshareOptions, ctx: &ChildCtx) -> Result<Infallible, Error> {
    if let Some(sig) = opts.kill_child {
        set_death_signal(sig, ctx.parent.as_ref())?;
    }
    if opts.creates(NsKind::Time) {
        unshare_time(opts)?;
    }
    if opts.creates(NsKind::Mnt) {
        mountns::set_root_propagation(opts.propagation)?;
    }
    if let Some(go) = &ctx.go {
        wire::send_ready(&ctx.report).map_err(|e| Error::Sys {
            what: "child setup",
            source: e,
        })?;
        if read_byte(go.as_fd()) != Some(GO) {
            // The parent failed and says so itself.
            exit_now(1);
        }
    }
    enter_root(opts)?;
    set_ids(opts)?;
    if opts.keep_caps && opts.creates(NsKind::User) {
        keep_caps()?;
    }
    let program = Program::resolve(opts)?;
    if !opts.init {
        ctx.signals.restore();
        return Err(program.exec());
    }
    // PID 1: fork the command, then reap and forward until it exits.
    // SAFETY: this child is single-threaded (it was forked from a
    // single-threaded process and started no thread).
    match unsafe { libc::fork() } {
        -1 => Err(Error::Sys {
            what: "fork the command",
            source: io::Error::last_os_error(),
        }),
        0 => {
            ctx.signals.restore();
            let err = program.exec();
            wire::send_failure(&ctx.report, &err);
            exit_now(exit_code_for(&err))
        }
        pid => {
            let command = Pid::from_raw(pid).expect("fork returned a positive pid");
            let status = pid1::init_loop(command, &ctx.signals)?;
            exit_now(status.code())
        }
    }
}

fn set_death_signal(sig: i32, parent: Option<&OwnedFd>) -> Result<(), Error> {
    let signal = Signal::from_named_raw(sig).ok_or(Error::DeathSignal {
        signal: sig,
        source: io::Error::from_raw_os_error(libc::EINVAL),
    })?;
    rustix::process::set_parent_process_death_signal(Some(signal)).map_err(|e| {
        Error::DeathSignal {
            signal: sig,
            source: e.into(),
        }
    })?;
    // If nsbox died before the prctl, nothing will send the signal: check.
    if let Some(fd) = parent {
        let mut fds = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        if matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(n) if n > 0) {
            return Err(Error::ParentGone);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- in-place path

/// # Safety
/// Single-threaded caller (see [`unshare`]).
unsafe fn run_in_place(opts: &UnshareOptions) -> Result<Infallible, Error> {
    let mut files = Persisted::prepare(&opts.persist)?;
    let self_maps = self_writable(&opts.maps);
    let helper_maps = !self_maps && !maps_empty(&opts.maps);
    let helper_binds =
        !files.is_empty() && (opts.creates(NsKind::Mnt) || opts.creates(NsKind::User));
    if !(helper_maps || helper_binds) {
        let e = never_ok(in_place_steps(opts, None, self_maps, &mut files));
        files.undo();
        return Err(e);
    }
    // The helper owns the files from here: it undoes them unless told to commit.
    let helper_files = if helper_binds {
        std::mem::take(&mut files)
    } else {
        Persisted::default()
    };
    // SAFETY: single-threaded, as our caller guarantees.
    let mut helper =
        match unsafe { Helper::spawn(helper_files, helper_maps.then(|| opts.maps.clone())) } {
            Ok(h) => h,
            Err((e, helper_files)) => {
                helper_files.undo();
                files.undo();
                return Err(e);
            }
        };
    let e = never_ok(in_place_steps(
        opts,
        Some(&mut helper),
        self_maps,
        &mut files,
    ));
    helper.abort();
    files.undo();
    Err(e)
}

fn in_place_steps(
    opts: &UnshareOptions,
    mut helper: Option<&mut Helper>,
    self_maps: bool,
    files: &mut Persisted,
) -> Result<Infallible, Error> {
    let kinds = opts.kinds();
    let flags = UnshareFlags::from_bits_retain(crate::clone_flags(kinds.iter().copied()) as u32);
    // SAFETY: the flags hold only CLONE_NEW* bits, none of which (unlike
    // CLONE_FILES) changes which file descriptors this process owns.
    unsafe { rustix::thread::unshare_unsafe(flags) }.map_err(|e| {
        limits::explain_enospc(
            &kinds,
            Error::Unshare {
                kinds: label(&kinds),
                source: e.into(),
            },
        )
    })?;
    if opts.creates(NsKind::Time) {
        write_time_offsets(opts)?;
    }
    if opts.creates(NsKind::Mnt) {
        mountns::set_root_propagation(opts.propagation)?;
    }
    if let Some(h) = helper.as_deref_mut() {
        h.go()?;
    }
    if self_maps && !maps_empty(&opts.maps) {
        let mut maps = opts.maps.clone();
        if !maps.gid.is_empty() {
            // An unprivileged gid map needs setgroups denied first.
            maps.setgroups = Some(SetGroups::Deny);
        }
        maps.write(std::process::id())?;
    }
    enter_root(opts)?;
    set_ids(opts)?;
    if opts.keep_caps && opts.creates(NsKind::User) {
        keep_caps()?;
    }
    let program = Program::resolve(opts)?;
    files.bind(std::process::id())?;
    if let Some(h) = helper {
        h.commit();
    }
    Err(program.exec())
}

/// Whether this process can write `maps` for itself after unsharing its user
/// namespace: at most one uid line mapping its own euid and one gid line
/// mapping its own egid (and setgroups not allowed).
fn self_writable(maps: &IdMaps) -> bool {
    let euid = rustix::process::geteuid().as_raw();
    let egid = rustix::process::getegid().as_raw();
    let single = |r: &[crate::IdRange], own: u32| {
        r.is_empty() || (r.len() == 1 && r[0].count == 1 && r[0].outside == own)
    };
    let gid_allowed = maps.gid.is_empty() || maps.setgroups != Some(SetGroups::Allow);
    single(&maps.uid, euid) && single(&maps.gid, egid) && gid_allowed
}

/// A process forked before `unshare(2)` that stays in the original
/// namespaces to write id maps and bind namespace files for its parent.
struct Helper {
    pid: Pid,
    to: Option<OwnedFd>,
    from: OwnedFd,
    reader: Reader,
}

impl Helper {
    /// # Safety
    /// Single-threaded caller (see [`unshare`]).
    unsafe fn spawn(
        mut files: Persisted,
        maps: Option<IdMaps>,
    ) -> Result<Helper, (Error, Persisted)> {
        let pipes = pipe_with(PipeFlags::CLOEXEC)
            .and_then(|a| pipe_with(PipeFlags::CLOEXEC).map(|b| (a, b)));
        let ((go_r, go_w), (rep_r, rep_w)) = match pipes {
            Ok(p) => p,
            Err(e) => return Err((sys("pipe", e), files)),
        };
        let parent = std::process::id();
        // SAFETY: single-threaded caller; the child only runs helper_main,
        // which ends in _exit.
        match unsafe { libc::fork() } {
            -1 => Err((
                Error::Fork {
                    source: io::Error::last_os_error(),
                },
                files,
            )),
            0 => {
                drop((go_w, rep_r));
                let maps = maps.unwrap_or_default();
                if read_byte(go_r.as_fd()) != Some(GO) {
                    files.undo();
                    exit_now(0);
                }
                let done = if maps_empty(&maps) {
                    Ok(())
                } else {
                    maps.write(parent)
                };
                if let Err(e) = done.and_then(|()| files.bind(parent)) {
                    wire::send_failure(&rep_w, &e);
                    files.undo();
                    exit_now(0);
                }
                let _ = wire::send_ready(&rep_w);
                if read_byte(go_r.as_fd()) == Some(COMMIT) {
                    files.keep();
                } else {
                    files.undo();
                }
                exit_now(0)
            }
            pid => {
                files.keep(); // the helper's copy is the one that acts
                Ok(Helper {
                    pid: Pid::from_raw(pid).expect("fork returned a positive pid"),
                    to: Some(go_w),
                    from: rep_r,
                    reader: Reader::new(),
                })
            }
        }
    }

    /// We have unshared: write the maps, bind the files; wait for the result.
    fn go(&mut self) -> Result<(), Error> {
        let to = self.to.as_ref().expect("helper already finished");
        wire_go(to.as_fd())?;
        match self.reader.next(self.from.as_fd())? {
            Some(Msg::Ready) => Ok(()),
            Some(Msg::Failed(e)) => Err(e),
            None => Err(Error::Protocol {
                peer: "helper",
                expected: "ready",
                got: "end of file".into(),
            }),
        }
    }

    /// Keep what the helper did; reap it.
    fn commit(&mut self) {
        if let Some(to) = self.to.take() {
            let _ = rustix::io::write(&to, &[COMMIT]);
        }
        reap(self.pid);
    }

    /// Take back what the helper did (it does so on end of file); reap it.
    fn abort(mut self) {
        if self.to.take().is_some() {
            reap(self.pid);
        }
    }
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
    let mut text = String::new();
    if let Some(s) = opts.monotonic {
        text.push_str(&format!("monotonic {s} 0\n"));
    }
    if let Some(s) = opts.boottime {
        text.push_str(&format!("boottime {s} 0\n"));
    }
    if text.is_empty() {
        return Ok(());
    }
    let path = PathBuf::from("/proc/self/timens_offsets");
    std::fs::write(&path, text).map_err(|source| Error::Write { path, source })
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
            what,
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

/// The command, found on `$PATH` before anything is committed, so that a
/// missing program fails while failures can still be undone.
struct Program {
    path: PathBuf,
    arg0: OsString,
    args: Vec<OsString>,
    name: String,
}

impl Program {
    fn resolve(opts: &UnshareOptions) -> Result<Program, Error> {
        let (name, arg0, args) = match opts.command.split_first() {
            Some((first, rest)) => (first.clone(), first.clone(), rest.to_vec()),
            None => {
                // util-linux runs a login shell: argv[0] is "-" + its basename.
                let shell = std::env::var_os("SHELL")
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "/bin/sh".into());
                let base = Path::new(&shell)
                    .file_name()
                    .map(|b| b.to_os_string())
                    .unwrap_or_else(|| shell.clone());
                let mut arg0 = OsString::from("-");
                arg0.push(base);
                (shell, arg0, Vec::new())
            }
        };
        let shown = name.to_string_lossy().into_owned();
        let path = find_program(&name).map_err(|source| Error::Exec {
            program: shown.clone(),
            source,
        })?;
        Ok(Program {
            path,
            arg0,
            args,
            name: shown,
        })
    }

    /// Replaces this process with the command; returns only on failure.
    /// (std's exec also resets SIGPIPE, which Rust ignores, to its default.)
    fn exec(&self) -> Error {
        let source = Command::new(&self.path)
            .arg0(&self.arg0)
            .args(&self.args)
            .exec();
        Error::Exec {
            program: self.name.clone(),
            source,
        }
    }
}

/// `execvp`'s search: a name with a slash is taken as is; otherwise the
/// first executable regular file of that name in `$PATH`.
fn find_program(name: &OsStr) -> io::Result<PathBuf> {
    if name.is_empty() {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    }
    if name.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(name));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut denied = false;
    for dir in std::env::split_paths(&path) {
        let candidate = if dir.as_os_str().is_empty() {
            PathBuf::from(name)
        } else {
            dir.join(name)
        };
        match std::fs::metadata(&candidate) {
            Ok(m) if m.is_file() => {
                let exec = rustix::fs::accessat(
                    rustix::fs::CWD,
                    &candidate,
                    rustix::fs::Access::EXEC_OK,
                    rustix::fs::AtFlags::EACCESS,
                );
                if exec.is_ok() {
                    return Ok(candidate);
                }
                denied = true;
            }
            _ => {}
        }
    }
    Err(io::Error::from_raw_os_error(if denied {
        libc::EACCES
    } else {
        libc::ENOENT
    }))
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
        what,
        source: e.into(),
    }
}

fn exit_now(code: u8) -> ! {
    // SAFETY: _exit ends the process at once; skipping atexit handlers and
    // stdio flushing is intended in a forked child that shares them with
    // its parent.
    unsafe { libc::_exit(code as i32) }
}

/// `struct clone_args` up to `tls` (CLONE_ARGS_SIZE_VER0).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
}

/// Forks into new namespaces (`clone3`, or `clone` on kernels before 5.3):
/// `Some(pid)` in the parent, `None` in the child.
///
/// # Safety
/// The caller must be single-threaded: the child gets a copy of its memory
/// with only the calling thread running. (glibc >= 2.34 resolves
/// `raise`/`abort` through `gettid`, so they stay correct in the child.)
unsafe fn fork_into(flags: u64) -> io::Result<Option<Pid>> {
    let args = CloneArgs {
        flags,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    // SAFETY: `args` is a valid clone_args of the size passed; no stack is
    // given, so the child continues on a copy of ours, as after fork(2).
    let mut ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
        // SAFETY: clone without CLONE_VM and a null stack behaves as fork.
        ret = unsafe {
            libc::syscall(
                libc::SYS_clone,
                flags | libc::SIGCHLD as u64,
                0usize,
                0usize,
                0usize,
                0usize,
            )
        };
    }
    match ret {
        r if r < 0 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Pid::from_raw(pid as i32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdRange;

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
