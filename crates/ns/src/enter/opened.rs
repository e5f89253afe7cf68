//! Step 2 of `enter`: everything opened before any namespace is joined,
//! from the caller's own mount namespace: namespace files, root and working
//! directories, the target's environment and the owner of `/proc/PID`.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rustix::fs::{Mode, OFlags};

use super::{Credential, DirSource, EnterOptions, NsSource, Target};
use crate::{Error, NsFile, NsKind};

/// Everything [`run`] needs, opened before any namespace is joined.
pub(super) struct Opened {
    /// In join order ([`NsKind::ALL`]).
    pub(super) namespaces: Vec<NsFile>,
    root: Option<(OwnedFd, PathBuf)>,
    wd: Option<(OwnedFd, PathBuf)>,
    wd_in_ns: Option<PathBuf>,
    env: Option<Vec<(OsString, OsString)>>,
    /// `/proc/PID` when `-S follow` / `-G follow` asks for the target's ids.
    owner: Option<(OwnedFd, PathBuf)>,
}

impl Opened {
    pub(super) fn open(opts: &EnterOptions, target: Option<&Target>) -> Result<Opened, Error> {
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
    pub(super) fn owner(&self) -> Result<Option<(u32, u32)>, Error> {
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
    pub(super) fn change_root(&self) -> Result<(), Error> {
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
    pub(super) fn change_dir(&self) -> Result<(), Error> {
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
    pub(super) fn command(&self, opts: &EnterOptions) -> (Command, PathBuf) {
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
}
