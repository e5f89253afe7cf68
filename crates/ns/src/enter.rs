//! Running a program in existing namespaces: what util-linux `nsenter` does,
//! as one ordered list of steps driven by a plain [`EnterOptions`].
//!
//! [`run`] reads as the sequence:
//! 1. pin the target process with a pidfd ([`Target::open`]);
//! 2. open every namespace file, the root and working directories, the
//!    target's environment and ids, all from the caller's own mount namespace;
//! 3. check that the target is still alive, so every `/proc/PID/...` opened in
//!    step 2 belonged to it and not to a process that reused its pid;
//! 4. join the namespaces in [`NsKind::ALL`] order, in two passes as nsenter
//!    does (everything but the user namespace first, with the privilege we
//!    have; then the user namespace and whatever failed before it);
//! 5. change root, then working directory;
//! 6. set groups, gid and uid (0 in an entered user namespace by default);
//! 7. fork when a PID namespace was entered (only children land in it): the
//!    parent forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT and returns the child's
//!    status; the child, or the only process with `fork: false`, execs.
//!
//! Joining user and mount namespaces needs a single-threaded caller, and so
//! does the fork of step 7: [`run`] is an `unsafe fn` for that reason. The
//! `nsbox` binary is single-threaded.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use crate::{Error, NsFile, NsKind};

mod creds;
mod opened;
mod target;
mod wait;

use creds::{drop_groups_early, Creds};
use opened::Opened;
pub use target::Target;

/// Where one namespace comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NsSource {
    /// The target process's namespace of that kind (`/proc/PID/ns/KIND`).
    Target,
    /// An nsfs file: `/run/netns/NAME`, a file kept by `unshare --net=FILE`,
    /// another process's `/proc/PID/ns/KIND`.
    File(PathBuf),
}

/// Where the root or working directory comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirSource {
    /// The target's (`/proc/PID/root`, `/proc/PID/cwd`).
    Target,
    /// A path, resolved before any namespace is joined.
    Path(PathBuf),
}

/// A uid or gid to take after joining.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    Id(u32),
    /// The target process's (the owner of `/proc/PID`).
    Follow,
}

/// What to enter and what to run there. Mirrors nsenter's options.
#[derive(Clone, Debug, Default)]
pub struct EnterOptions {
    /// The process whose namespaces, root, cwd, environment or ids are taken.
    pub target: Option<u32>,
    /// Namespaces asked for by name, each from the target or a file.
    pub namespaces: Vec<(NsKind, NsSource)>,
    /// Also every other namespace of the target that differs from ours.
    pub all: bool,
    /// chroot into this directory after joining.
    pub root: Option<DirSource>,
    /// Working directory, opened before joining.
    pub wd: Option<DirSource>,
    /// Working directory as a path inside the joined namespaces and root.
    pub wd_in_ns: Option<PathBuf>,
    pub uid: Option<Credential>,
    pub gid: Option<Credential>,
    /// Leave uids, gids and groups alone even when joining a user namespace.
    pub preserve_credentials: bool,
    /// Run the program with the target's environment instead of ours.
    pub target_env: bool,
    /// Do not fork after joining a PID namespace: the program stays outside
    /// it, only its children are inside (nsenter's `-F`).
    pub no_fork: bool,
    /// Program and arguments; empty runs `$SHELL` (or `/bin/sh`) as a login shell.
    pub command: Vec<OsString>,
}

/// Runs the sequence described in the module documentation. Returns the
/// program's exit status (128+N if killed by signal N) when nsbox forked;
/// otherwise it returns only on failure, the program having replaced us.
///
/// # Safety
///
/// The calling process must be single-threaded: after joining a PID
/// namespace it forks, and the child runs Rust code (it allocates) before
/// exec, which a lock held by another thread at the fork would deadlock.
/// (The kernel also refuses a multi-threaded process entry to a user or
/// mount namespace.)
pub unsafe fn run(opts: &EnterOptions) -> Result<u8, Error> {
    let target = opts.target.map(Target::open).transpose()?;
    let opened = Opened::open(opts, target.as_ref())?;
    if let Some(target) = &target {
        target.check_alive()?;
    }
    let joins_user = opened.namespaces.iter().any(|f| f.kind() == NsKind::User);
    let groups_dropped = drop_groups_early(opts, joins_user);
    join_all(&opened.namespaces)?;
    opened.change_root()?;
    opened.change_dir()?;
    Creds::resolve(opts, opened.owner()?, joins_user)?.apply(groups_dropped)?;
    let (mut cmd, program) = opened.command(opts);
    let joins_pid = opened.namespaces.iter().any(|f| f.kind() == NsKind::Pid);
    if joins_pid && !opts.no_fork {
        // SAFETY: single-threaded, as this function's caller guarantees.
        unsafe { wait::fork_exec_wait(&mut cmd, &program) }
    } else {
        Err(Error::Exec {
            program: program.display().to_string(),
            source: cmd.exec(),
        })
    }
}

/// Joins every namespace in order, in two passes as nsenter does: first all
/// but the user namespace, ignoring failures, so that a privileged caller
/// joins what it can before a user namespace lowers its privilege; then the
/// user namespace and whatever failed, reporting errors.
fn join_all(files: &[NsFile]) -> Result<(), Error> {
    let mut pending = Vec::new();
    for file in files {
        if file.kind() == NsKind::User || file.join().is_err() {
            pending.push(file);
        }
    }
    for file in pending {
        file.join()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use rustix::event::{PollFd, PollFlags};

    use super::*;

    #[test]
    fn dead_and_zombie_targets_are_named() {
        let err = Target::open(1 << 23).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("process {} does not exist", 1 << 23)
        );
        let err = Target::open(0).unwrap_err();
        assert_eq!(err.to_string(), "process 0 does not exist");

        // A zombie has a pid but no namespaces any more.
        let mut child = Command::new("sleep").arg("100").spawn().unwrap();
        let pid = child.id();
        let target = Target::open(pid).unwrap();
        child.kill().unwrap();
        // Wait for the exit without reaping: the pidfd turns readable.
        let mut fds = [PollFd::new(target.pidfd.as_ref().unwrap(), PollFlags::IN)];
        rustix::event::poll(&mut fds, None).unwrap();
        let err = Target::open(pid).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("process {pid} exited before its namespaces were opened")
        );
        // Opening its namespaces through the old handle says the same.
        let opts = EnterOptions {
            target: Some(pid),
            namespaces: vec![(NsKind::Net, NsSource::Target)],
            ..Default::default()
        };
        let err = Opened::open(&opts, Some(&target)).err().unwrap();
        assert!(matches!(err, Error::TargetExited { pid: p } if p == pid));
        child.wait().unwrap();
    }

    #[test]
    fn follow_takes_the_owner_of_the_target() {
        let me = std::process::id();
        let target = Target::open(me).unwrap();
        let opts = EnterOptions {
            uid: Some(Credential::Follow),
            gid: Some(Credential::Follow),
            ..Default::default()
        };
        let opened = Opened::open(&opts, Some(&target)).unwrap();
        let owner = opened.owner().unwrap();
        let c = Creds::resolve(&opts, owner, false).unwrap();
        assert_eq!(c.uid, Some(rustix::process::geteuid().as_raw()));
        assert_eq!(c.gid, Some(rustix::process::getegid().as_raw()));
        let err = Creds::resolve(&opts, None, false).unwrap_err();
        assert_eq!(err.to_string(), "ids to follow: needs a target process");
    }
}
