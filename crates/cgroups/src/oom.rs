//! Waking on OOM without polling: a descriptor that turns readable when the
//! kernel reports an OOM in the cgroup.
//!
//! - v1: an eventfd registered through `cgroup.event_control` against
//!   `memory.oom_control` (the kernel signals it when the cgroup runs out
//!   of memory, and when the cgroup is removed);
//! - v2: inotify on `memory.events`, which the kernel marks modified each
//!   time one of its counters (`oom`, `oom_kill`) moves.
//!
//! The descriptor only wakes the caller; how many kills happened is read
//! from the counter ([`crate::Cgroup::oom_kills`]). On v1 the notification
//! comes just before the OOM killer picks its victim, so the counter may
//! move a moment later ([`OomWatch::settles`]).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::event::{eventfd, EventfdFlags};
use rustix::fs::{inotify, Mode, OFlags};

use crate::error::{Error, Result};

/// A readable-on-OOM descriptor for one cgroup.
#[derive(Debug)]
pub struct OomWatch {
    fd: OwnedFd,
    v1: bool,
    /// v1: `memory.oom_control`, held open while the eventfd is registered.
    _control: Option<OwnedFd>,
}

impl OomWatch {
    /// v1: registers an eventfd for `dir/memory.oom_control`.
    pub fn v1(dir: &Path) -> Result<OomWatch> {
        let control_path = dir.join("memory.oom_control");
        let control = rustix::fs::open(
            &control_path,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::Open {
            path: control_path.clone(),
            source: e.into(),
        })?;
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).map_err(|e| {
            Error::Open {
                path: "eventfd".into(),
                source: e.into(),
            }
        })?;
        use std::os::fd::AsRawFd;
        let line = format!("{} {}", fd.as_raw_fd(), control.as_raw_fd());
        crate::fs::write(&dir.join("cgroup.event_control"), &line)?;
        Ok(OomWatch {
            fd,
            v1: true,
            _control: Some(control),
        })
    }

    /// v2: watches `dir/memory.events` for modification.
    pub fn v2(dir: &Path) -> Result<OomWatch> {
        let path = dir.join("memory.events");
        let open_err = |e: rustix::io::Errno| Error::Open {
            path: path.clone(),
            source: e.into(),
        };
        let fd = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
            .map_err(open_err)?;
        inotify::add_watch(&fd, &path, inotify::WatchFlags::MODIFY).map_err(open_err)?;
        Ok(OomWatch {
            fd,
            v1: false,
            _control: None,
        })
    }

    /// The descriptor to poll for reading.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Consumes what made the descriptor readable, so the next poll waits
    /// for the next report.
    pub fn clear(&self) {
        let mut buf = [0u8; 4096];
        while let Ok(n) = rustix::io::read(&self.fd, &mut buf) {
            if n == 0 {
                break;
            }
        }
    }

    /// Whether the kill counter may lag the wake-up (v1: the notification
    /// precedes the kill), so the caller should look again shortly.
    pub fn settles(&self) -> bool {
        self.v1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_wakes_on_modification() {
        let t = nsbox_testutil::TempDir::new("cg-oomwatch");
        std::fs::write(t.join("memory.events"), "oom 0\noom_kill 0\n").unwrap();
        let w = OomWatch::v2(t.path()).unwrap();
        let readable = |w: &OomWatch| {
            let mut p = [rustix::event::PollFd::new(
                &w.fd,
                rustix::event::PollFlags::IN,
            )];
            rustix::event::poll(
                &mut p,
                Some(&rustix::event::Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                }),
            )
            .unwrap()
                == 1
        };
        assert!(!readable(&w));
        std::fs::write(t.join("memory.events"), "oom 1\noom_kill 1\n").unwrap();
        assert!(readable(&w));
        w.clear();
        assert!(!readable(&w));
        assert!(!w.settles());
    }

    #[test]
    fn v1_without_event_control_names_the_file() {
        let t = nsbox_testutil::TempDir::new("cg-oomwatch1");
        std::fs::write(t.join("memory.oom_control"), "oom_kill 0\n").unwrap();
        let e = OomWatch::v1(t.path()).unwrap_err();
        assert!(e.to_string().ends_with("/cgroup.event_control"), "{e}");
    }
}
