//! The target process of `enter`, pinned by a pidfd so that every
//! `/proc/PID/...` opened later can be checked to belong to it.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{Pid, PidfdFlags};

use crate::Error;

/// The target process, pinned by a pidfd where the kernel gives one.
#[derive(Debug)]
pub struct Target {
    pub(super) pid: u32,
    /// `None` for a thread id (no pidfd before Linux 6.9) or a kernel
    /// before 5.3: then only `/proc/PID` tells whether it is still there.
    pub(super) pidfd: Option<OwnedFd>,
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
    pub(super) fn explain(&self, err: Error) -> Error {
        if self.exited() {
            Error::TargetExited { pid: self.pid }
        } else {
            err
        }
    }

    /// `/proc/PID/REL`, or `/proc/PID` itself for ".".
    pub(super) fn proc_path(&self, rel: &str) -> PathBuf {
        match rel {
            "." => PathBuf::from(format!("/proc/{}", self.pid)),
            _ => PathBuf::from(format!("/proc/{}/{rel}", self.pid)),
        }
    }
}
