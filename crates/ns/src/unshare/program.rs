//! The command to run, and finding it on `$PATH` before anything is
//! committed where a failed exec could no longer be undone.

use super::*;

/// The command: what to exec, its argv[0] and arguments.
pub(super) struct Program {
    /// The name given (searched on `$PATH` by execvp at exec time), or the
    /// path [`resolve`](Self::resolve) found.
    path: PathBuf,
    arg0: OsString,
    args: Vec<OsString>,
    name: String,
}

impl Program {
    /// The command of `opts`; `$SHELL` (or /bin/sh) as a login shell when empty.
    pub(super) fn new(opts: &UnshareOptions) -> Program {
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
        Program {
            name: name.to_string_lossy().into_owned(),
            path: PathBuf::from(name),
            arg0,
            args,
        }
    }

    /// Looks the program up now (as execvp will), so that a missing one
    /// fails before work that cannot be taken back after exec.
    pub(super) fn resolve(mut self) -> Result<Program, Error> {
        self.path = find_program(self.path.as_os_str()).map_err(|source| Error::Exec {
            program: self.name.clone(),
            source,
        })?;
        Ok(self)
    }

    /// Replaces this process with the command; returns only on failure.
    /// (std's exec also resets SIGPIPE, which Rust ignores, to its default.)
    pub(super) fn exec(&self) -> Error {
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
pub(super) fn find_program(name: &OsStr) -> io::Result<PathBuf> {
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
