//! A detached container's stdio: `run -d` leaves the container running
//! after nsbox exits, so its output must not go to the caller's terminal
//! or pipe (a pipe would also keep the caller waiting). The container's
//! init inherits nsbox's fds 0-2 at create, so for the create and start
//! they point at /dev/null (stdin) and the container's `output.log`
//! (stdout, stderr); [`Redirected`] puts nsbox's own back when dropped,
//! before anything is reported.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::Error;

/// nsbox's stdio, saved while 0-2 point elsewhere.
pub struct Redirected {
    saved: [OwnedFd; 3],
}

impl Redirected {
    /// Points stdin at /dev/null and stdout/stderr at `log` (created 0600,
    /// appended to).
    pub fn to_log(log: &Path) -> Result<Redirected, Error> {
        let err = |source| Error::Output {
            path: log.to_path_buf(),
            source,
        };
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(log)
            .map_err(err)?;
        let null = File::open("/dev/null").map_err(err)?;
        let saved = [
            io::stdin().as_fd().try_clone_to_owned().map_err(err)?,
            io::stdout().as_fd().try_clone_to_owned().map_err(err)?,
            io::stderr().as_fd().try_clone_to_owned().map_err(err)?,
        ];
        let redirected = Redirected { saved };
        rustix::stdio::dup2_stdin(&null).map_err(|e| err(e.into()))?;
        rustix::stdio::dup2_stdout(&out).map_err(|e| err(e.into()))?;
        rustix::stdio::dup2_stderr(&out).map_err(|e| err(e.into()))?;
        Ok(redirected)
    }
}

impl Drop for Redirected {
    fn drop(&mut self) {
        let [i, o, e] = &self.saved;
        let _ = rustix::stdio::dup2_stdin(i);
        let _ = rustix::stdio::dup2_stdout(o);
        let _ = rustix::stdio::dup2_stderr(e);
    }
}
