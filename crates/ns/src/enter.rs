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
//! Joining user and mount namespaces needs a single-threaded caller; the
//! `nsbox` binary is one.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::{Mode, OFlags};
use rustix::process::{Pid, PidfdFlags};

use crate::{Error, NsFile, NsKind};

mod wait;

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
pub fn run(opts: &EnterOptions) -> Result<u8, Error> {
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
        wait::fork_exec_wait(&mut cmd, &program)
    } else {
        Err(Error::Exec {
            program: program.display().to_string(),
            source: cmd.exec(),
        })
    }
}

/// The target process, pinned by a pidfd where the kernel gives one.
#[derive(Debug)]
pub struct Target {
    pid: u32,
    /// `None` for a thread id (no pidfd before Linux 6.9) or a kernel
    /// before 5.3: then only `/proc/PID` tells whether it is still there.
    pidfd: Option<OwnedFd>,
}

impl Target {
    /// Pins `pid`. Fails with [`Error::NoSuchProcess`] if there is no such
    /// process and [`Error::TargetExited`] if it is a zombie.
    pub fn open(pid: u32) -> Result<Target, Error> {
        let raw = i32::try_from(pid)
            .ok()
            .and_then(Pid::from_raw)
            .ok_or(Error::NoSuchProcess { pid })?;
        let pidfd = match rustix::process::pidfd_open(raw, PidfdFlags::empty()) {
            Ok(fd) => Some(fd),
            Err(rustix::io::Errno::SRCH) => return Err(Error::NoSuchProcess { pid }),
            Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOSYS) => None,
            Err(e) => {
                return Err(Error::PidfdOpen {
                    pid,
                    source: e.into(),
                })
            }
        };
        if pidfd.is_none() && !Path::new(&format!("/proc/{pid}")).exists() {
            return Err(Error::NoSuchProcess { pid });
        }
        let target = Target { pid, pidfd };
        target.check_alive()?;
        Ok(target)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the process has exited (it may still be a zombie).
    pub fn exited(&self) -> bool {
        match &self.pidfd {
            // A pidfd polls readable once its process has exited.
            Some(fd) => {
                let mut fds = [PollFd::new(fd, PollFlags::IN)];
                let now = Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                match rustix::event::poll(&mut fds, Some(&now)) {
                    Ok(n) => n > 0,
                    Err(_) => !Path::new(&format!("/proc/{}", self.pid)).exists(),
                }
            }
            None => !Path::new(&format!("/proc/{}", self.pid)).exists(),
        }
    }

    /// Fails with [`Error::TargetExited`] if the process is gone. Called after
    /// opening its `/proc` files: alive now means alive since the pidfd was
    /// taken, so the pid was not reused in between.
    pub fn check_alive(&self) -> Result<(), Error> {
        if self.exited() {
            Err(Error::TargetExited { pid: self.pid })
        } else {
            Ok(())
        }
    }

    /// An error about one of the target's `/proc` files, or the better
    /// explanation that the target went away.
    fn explain(&self, err: Error) -> Error {
        if self.exited() {
            Error::TargetExited { pid: self.pid }
        } else {
            err
        }
    }

    /// `/proc/PID/REL`, or `/proc/PID` itself for ".".
    fn proc_path(&self, rel: &str) -> PathBuf {
        match rel {
            "." => PathBuf::from(format!("/proc/{}", self.pid)),
            _ => PathBuf::from(format!("/proc/{}/{rel}", self.pid)),
        }
    }
}

/// Everything [`run`] needs, opened before any namespace is joined.
struct Opened {
    /// In join order ([`NsKind::ALL`]).
    namespaces: Vec<NsFile>,
    root: Option<(OwnedFd, PathBuf)>,
    wd: Option<(OwnedFd, PathBuf)>,
    wd_in_ns: Option<PathBuf>,
    env: Option<Vec<(OsString, OsString)>>,
    /// `/proc/PID` when `-S follow` / `-G follow` asks for the target's ids.
    owner: Option<(OwnedFd, PathBuf)>,
}

impl Opened {
    fn open(opts: &EnterOptions, target: Option<&Target>) -> Result<Opened, Error> {
        let explain = |e: Error| match target {
            Some(t) => t.explain(e),
            None => e,
        };
        let namespaces = open_namespaces(opts, target).map_err(explain)?;
        let root = opts
            .root
            .as_ref()
            .map(|d| open_dir(d, target, "root"))
            .transpose()
            .map_err(explain)?;
        let wd = opts
            .wd
            .as_ref()
            .map(|d| open_dir(d, target, "cwd"))
            .transpose()
            .map_err(explain)?;
        let env = match (opts.target_env, target) {
            (true, Some(t)) => Some(read_environ(&t.proc_path("environ")).map_err(explain)?),
            (true, None) => {
                return Err(Error::NoTargetFor {
                    what: "environment".into(),
                })
            }
            (false, _) => None,
        };
        let follows = [opts.uid, opts.gid].contains(&Some(Credential::Follow));
        let owner = match (follows && !opts.preserve_credentials, target) {
            (true, Some(t)) => Some(open_path(t.proc_path(".")).map_err(explain)?),
            (true, None) => {
                return Err(Error::NoTargetFor {
                    what: "ids to follow".into(),
                })
            }
            (false, _) => None,
        };
        Ok(Opened {
            namespaces,
            root,
            wd,
            wd_in_ns: opts.wd_in_ns.clone(),
            env,
            owner,
        })
    }

    /// The target's uid and gid as seen from the namespaces now joined (the
    /// kernel maps the owner of `/proc/PID` into the caller's user namespace
    /// at `fstat` time, so this runs after joining).
    fn owner(&self) -> Result<Option<(u32, u32)>, Error> {
        let Some((fd, path)) = &self.owner else {
            return Ok(None);
        };
        let st = rustix::fs::fstat(fd).map_err(|e| Error::Stat {
            path: path.clone(),
            source: e.into(),
        })?;
        Ok(Some((st.st_uid, st.st_gid)))
    }

    /// chroot into the root directory opened before joining, then go to its `/`.
    fn change_root(&self) -> Result<(), Error> {
        let Some((fd, path)) = &self.root else {
            return Ok(());
        };
        let chroot_err = |source: rustix::io::Errno| Error::Chroot {
            path: path.clone(),
            source: source.into(),
        };
        rustix::process::fchdir(fd).map_err(chroot_err)?;
        rustix::process::chroot(".").map_err(chroot_err)?;
        rustix::process::chdir("/").map_err(chroot_err)
    }

    /// Changes to the working directory: the one opened before joining, or a
    /// path resolved now, inside the joined namespaces and root.
    fn change_dir(&self) -> Result<(), Error> {
        if let Some((fd, path)) = &self.wd {
            rustix::process::fchdir(fd).map_err(|e| Error::Chdir {
                path: path.clone(),
                source: e.into(),
            })?;
        }
        if let Some(path) = &self.wd_in_ns {
            rustix::process::chdir(path.as_path()).map_err(|e| Error::Chdir {
                path: path.clone(),
                source: e.into(),
            })?;
        }
        Ok(())
    }

    /// The command to run, resolved inside the new root: the given program,
    /// or `$SHELL` (`/bin/sh` if `$SHELL` is unset or missing there) as a
    /// login shell, as nsenter runs it.
    fn command(&self, opts: &EnterOptions) -> (Command, PathBuf) {
        let (mut cmd, program) = match opts.command.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args);
                (cmd, PathBuf::from(program))
            }
            None => {
                // $SHELL from the environment the program gets.
                let shell = match &self.env {
                    Some(env) => env
                        .iter()
                        .find(|(k, _)| k == "SHELL")
                        .map(|(_, v)| v.clone()),
                    None => std::env::var_os("SHELL"),
                };
                let shell = default_shell(shell);
                let mut cmd = Command::new(&shell);
                let base = Path::new(&shell).file_name().unwrap_or(shell.as_os_str());
                let mut arg0 = OsString::from("-");
                arg0.push(base);
                cmd.arg0(arg0);
                (cmd, PathBuf::from(shell))
            }
        };
        if let Some(env) = &self.env {
            cmd.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
        }
        (cmd, program)
    }
}

/// `$SHELL` if it names an existing file (after chroot), else `/bin/sh`.
fn default_shell(shell: Option<OsString>) -> OsString {
    match shell {
        Some(s) if !s.is_empty() && Path::new(&s).is_file() => s,
        _ => OsString::from("/bin/sh"),
    }
}

/// Opens the namespaces asked for, plus with `all` every other one of the
/// target that differs from ours, in join order. A user namespace that is
/// already ours is left out: setns into it fails with EINVAL and would change
/// nothing.
fn open_namespaces(opts: &EnterOptions, target: Option<&Target>) -> Result<Vec<NsFile>, Error> {
    let mut files = Vec::new();
    for kind in NsKind::ALL {
        let asked = opts.namespaces.iter().rev().find(|(k, _)| *k == kind);
        let file = match (asked, target) {
            (Some((_, NsSource::File(path))), _) => NsFile::open(path, Some(kind))?,
            (Some((_, NsSource::Target)), Some(t)) => NsFile::of_pid(t.pid, kind)?,
            (Some((_, NsSource::Target)), None) => return Err(Error::NoTarget { kind }),
            (None, Some(t)) if opts.all => {
                if !Path::new(&own_ns_path(kind)).exists() {
                    continue; // the kernel lacks this kind
                }
                let file = NsFile::of_pid(t.pid, kind)?;
                if is_ours(&file)? {
                    continue;
                }
                file
            }
            (None, None) if opts.all => return Err(Error::NoTarget { kind }),
            (None, _) => continue,
        };
        if kind == NsKind::User && is_ours(&file)? {
            continue;
        }
        files.push(file);
    }
    Ok(files)
}

/// Our namespace of `kind` as our children get it (`pid_for_children`,
/// `time_for_children`): the one a program we start would be in.
fn own_ns_path(kind: NsKind) -> String {
    let name = kind.for_children_name().unwrap_or(kind.proc_name());
    format!("/proc/self/ns/{name}")
}

/// Whether `file` is the namespace we (or our future children) are in already.
fn is_ours(file: &NsFile) -> Result<bool, Error> {
    let theirs = rustix::fs::fstat(file).map_err(|e| Error::Stat {
        path: file.path().to_path_buf(),
        source: e.into(),
    })?;
    let path = PathBuf::from(own_ns_path(file.kind()));
    let ours = crate::ns_of_path(&path)?;
    Ok(theirs.st_ino == ours.ino && theirs.st_dev == ours.dev)
}

/// Opens a root or working directory before joining (a path is resolved in
/// the caller's mount namespace, like nsenter).
fn open_dir(
    dir: &DirSource,
    target: Option<&Target>,
    what: &'static str,
) -> Result<(OwnedFd, PathBuf), Error> {
    let path = match (dir, target) {
        (DirSource::Path(p), _) => p.clone(),
        (DirSource::Target, Some(t)) => t.proc_path(what),
        (DirSource::Target, None) => {
            let what = if what == "root" {
                "root directory"
            } else {
                "working directory"
            };
            return Err(Error::NoTargetFor { what: what.into() });
        }
    };
    open_path(path)
}

/// An `O_PATH` descriptor: enough to fchdir, chroot or fstat, and needs no
/// read permission.
fn open_path(path: PathBuf) -> Result<(OwnedFd, PathBuf), Error> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(&path, flags, Mode::empty()).map_err(|e| Error::Open {
        path: path.clone(),
        source: e.into(),
    })?;
    Ok((fd, path))
}

/// `/proc/PID/environ`: NUL-separated `KEY=VALUE` entries.
fn read_environ(path: &Path) -> Result<Vec<(OsString, OsString)>, Error> {
    let mut data = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(parse_environ(&data))
}

fn parse_environ(data: &[u8]) -> Vec<(OsString, OsString)> {
    data.split(|b| *b == 0)
        .filter_map(|entry| {
            let eq = entry.iter().position(|b| *b == b'=')?;
            if eq == 0 {
                return None;
            }
            Some((
                OsStr::from_bytes(&entry[..eq]).to_os_string(),
                OsString::from_vec(entry[eq + 1..].to_vec()),
            ))
        })
        .collect()
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

/// The uid, gid and groups to take once inside.
#[derive(Debug, Default, PartialEq, Eq)]
struct Creds {
    uid: Option<u32>,
    gid: Option<u32>,
}

impl Creds {
    /// With a user namespace joined, uid and gid default to 0 (nsenter's
    /// behaviour), unless `preserve_credentials`. `owner` is the target's
    /// uid and gid, for [`Credential::Follow`].
    fn resolve(
        opts: &EnterOptions,
        owner: Option<(u32, u32)>,
        joins_user: bool,
    ) -> Result<Creds, Error> {
        if opts.preserve_credentials {
            return Ok(Creds::default());
        }
        let default = joins_user.then_some(0);
        let pick = |c: Option<Credential>, follow: Option<u32>| match c {
            Some(Credential::Id(id)) => Ok(Some(id)),
            Some(Credential::Follow) => follow.map(Some).ok_or(Error::NoTargetFor {
                what: "ids to follow".into(),
            }),
            None => Ok(default),
        };
        Ok(Creds {
            uid: pick(opts.uid, owner.map(|o| o.0))?,
            gid: pick(opts.gid, owner.map(|o| o.1))?,
        })
    }

    /// setgroups, setgid, setuid, in that order. rustix's calls act on the
    /// calling thread only; the caller is single-threaded, so on the process.
    fn apply(&self, groups_dropped: bool) -> Result<(), Error> {
        if let Some(gid) = self.gid {
            if let Err(e) = rustix::thread::set_thread_groups(&[]) {
                if !groups_dropped && !has_no_groups() {
                    return Err(Error::SetGroups { source: e.into() });
                }
            }
            set_gid(gid).map_err(|e| Error::SetGid {
                gid,
                source: e.into(),
            })?;
        }
        if let Some(uid) = self.uid {
            set_uid(uid).map_err(|e| Error::SetUid {
                uid,
                source: e.into(),
            })?;
        }
        Ok(())
    }
}

/// Drops supplementary groups while still privileged outside, when a gid
/// will be set: inside a user namespace whose `setgroups` is "deny" it is no
/// longer allowed. Returns whether that worked.
fn drop_groups_early(opts: &EnterOptions, joins_user: bool) -> bool {
    let sets_gid = !opts.preserve_credentials && (opts.gid.is_some() || joins_user);
    sets_gid && rustix::thread::set_thread_groups(&[]).is_ok()
}

/// Whether there are no supplementary groups to drop (an unprivileged
/// caller may not call setgroups at all, yet has nothing to lose).
fn has_no_groups() -> bool {
    rustix::process::getgroups().is_ok_and(|g| g.is_empty())
}

/// -1 is not an id: to setuid(2) it means "leave unchanged".
fn set_uid(uid: u32) -> rustix::io::Result<()> {
    if uid == u32::MAX {
        return Err(rustix::io::Errno::INVAL);
    }
    rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(uid))
}

fn set_gid(gid: u32) -> rustix::io::Result<()> {
    if gid == u32::MAX {
        return Err(rustix::io::Errno::INVAL);
    }
    rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environ_is_split_on_nul_and_first_equals() {
        let env = parse_environ(b"A=1\0PATH=/bin:/usr/bin\0B=x=y\0\0=bad\0noeq\0");
        let env: Vec<(String, String)> = env
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect();
        assert_eq!(
            env,
            [
                ("A".into(), "1".into()),
                ("PATH".into(), "/bin:/usr/bin".into()),
                ("B".into(), "x=y".into())
            ]
        );
    }

    #[test]
    fn default_shell_falls_back_to_bin_sh() {
        assert_eq!(default_shell(None), "/bin/sh");
        assert_eq!(default_shell(Some("".into())), "/bin/sh");
        assert_eq!(default_shell(Some("/no/such/shell".into())), "/bin/sh");
        assert_eq!(default_shell(Some("/bin/sh".into())), "/bin/sh");
    }

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
    fn all_leaves_out_our_own_namespaces() {
        let me = std::process::id();
        let target = Target::open(me).unwrap();
        let opts = EnterOptions {
            target: Some(me),
            all: true,
            ..Default::default()
        };
        let files = open_namespaces(&opts, Some(&target)).unwrap();
        assert!(files.is_empty(), "{files:?}");
        // Asked for by name, our own namespaces are kept, except user.
        let opts = EnterOptions {
            target: Some(me),
            namespaces: vec![
                (NsKind::User, NsSource::Target),
                (NsKind::Uts, NsSource::Target),
            ],
            ..Default::default()
        };
        let files = open_namespaces(&opts, Some(&target)).unwrap();
        let kinds: Vec<NsKind> = files.iter().map(|f| f.kind()).collect();
        assert_eq!(kinds, [NsKind::Uts]);
    }

    #[test]
    fn namespace_without_source_is_an_error() {
        let opts = EnterOptions {
            namespaces: vec![(NsKind::Net, NsSource::Target)],
            ..Default::default()
        };
        let err = open_namespaces(&opts, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "net namespace: no file given and no target process"
        );
    }

    #[test]
    fn user_namespace_sets_ids_to_zero_unless_preserved() {
        let opts = EnterOptions::default();
        let c = Creds::resolve(&opts, None, true).unwrap();
        assert_eq!(
            c,
            Creds {
                uid: Some(0),
                gid: Some(0)
            }
        );
        let c = Creds::resolve(&opts, None, false).unwrap();
        assert_eq!(c, Creds::default());
        let opts = EnterOptions {
            uid: Some(Credential::Id(1000)),
            ..Default::default()
        };
        let c = Creds::resolve(&opts, None, true).unwrap();
        assert_eq!(
            c,
            Creds {
                uid: Some(1000),
                gid: Some(0)
            }
        );
        let opts = EnterOptions {
            uid: Some(Credential::Id(1000)),
            preserve_credentials: true,
            ..Default::default()
        };
        assert_eq!(Creds::resolve(&opts, None, true).unwrap(), Creds::default());
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
