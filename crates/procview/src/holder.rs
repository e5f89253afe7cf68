//! The holder: a small single-threaded process that opens the connection
//! (`/dev/fuse`), mounts it, and keeps its descriptor for the life of the
//! view, while servers come and go. It starts a server with the descriptor
//! inherited; when one dies (killed, crashed), the connection lives on, so
//! containers that bound the view's files keep them: their new reads wait
//! in the kernel's queue until the next server, which the holder starts
//! after a short pause (at once on `SIGUSR1`, which `start` sends). A server
//! that exits cleanly (told to stop, or its mount gone) ends the view: the
//! holder unmounts and exits. So does TERM, INT or HUP to the holder.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nsbox_ns::supervise::Signals;
use rustix::event::{PollFd, PollFlags, Timespec};

use crate::device;
use crate::error::{Error, Result};
use crate::state::{self, Role, State};

/// The pause before a dead server is replaced, doubled (up to `MAX_PAUSE`)
/// while servers keep dying within `STEADY` of their start.
const PAUSE: Duration = Duration::from_millis(500);
const MAX_PAUSE: Duration = Duration::from_secs(30);
const STEADY: Duration = Duration::from_secs(10);
/// How long a server has to end after TERM before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// How to run nsbox's `proc-view` verbs: the program and the arguments
/// before the verb (`nsbox --root R proc-view`). The holder runs `serve
/// --fd N --mount-point DIR` with it; `start` runs `start --foreground
/// --mount-point DIR` (the holder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub exe: PathBuf,
    pub args: Vec<OsString>,
}

impl Program {
    pub fn command(&self, verb: &[&str], mount_point: &Path) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(&self.args)
            .args(verb)
            .arg("--mount-point")
            .arg(mount_point)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        c
    }
}

/// Mounts the view on `mount_point` and keeps it, with a server, until the
/// view ends. A mount left by a dead view is removed first.
pub fn hold(state_dir: &Path, mount_point: &Path, program: &Program) -> Result<()> {
    let signals = Signals::block().map_err(Error::Signals)?;
    if let Some(old) = state::read(state_dir, Role::Holder)? {
        if old.alive() {
            return Err(Error::Running {
                pid: old.pid,
                mount_point: old.mount_point,
            });
        }
        device::detach(&old.mount_point)?;
    }
    device::detach(mount_point)?;
    std::fs::create_dir_all(mount_point).map_err(|source| Error::MountPoint {
        path: mount_point.to_owned(),
        source,
    })?;
    let conn = device::open()?;
    device::mount(conn.as_fd(), mount_point)?;
    let me = State::me(mount_point)?;
    state::write(state_dir, Role::Holder, &me)?;
    let mut h = Holder {
        program,
        mount_point,
        conn,
        server: None,
        next: Some(Instant::now()),
        pause: PAUSE,
    };
    h.run(&signals);
    h.end();
    state::remove_any(state_dir, Role::Server);
    state::remove(state_dir, Role::Holder, &me);
    Ok(())
}

struct Holder<'a> {
    program: &'a Program,
    mount_point: &'a Path,
    conn: OwnedFd,
    /// The server and when it started.
    server: Option<(Child, Instant)>,
    /// When to start the next server, while none runs.
    next: Option<Instant>,
    pause: Duration,
}

impl Holder<'_> {
    /// Until the view ends: a stop signal, a clean server exit, or the
    /// connection gone (its mount removed and no container holding it).
    fn run(&mut self, signals: &Signals) {
        loop {
            if self.next.is_some_and(|t| t <= Instant::now()) && self.server.is_none() {
                self.next = None;
                self.spawn();
            }
            let wait = self.next.map_or(Duration::from_secs(1), |t| {
                t.saturating_duration_since(Instant::now())
            });
            let tick = Timespec {
                tv_sec: wait.as_secs() as i64,
                tv_nsec: i64::from(wait.subsec_nanos()),
            };
            let sig = signals.fd();
            let mut fds = [
                PollFd::new(&sig, PollFlags::IN),
                // no events asked: the connection's end shows as ERR
                PollFd::new(&self.conn, PollFlags::empty()),
            ];
            let _ = rustix::event::poll(&mut fds, Some(&tick));
            if fds[1].revents().intersects(PollFlags::ERR | PollFlags::HUP) {
                return;
            }
            while let Some(r) = signals.read() {
                match r.signal {
                    libc::SIGUSR1 if self.server.is_none() => self.next = Some(Instant::now()),
                    libc::SIGTERM | libc::SIGINT | libc::SIGHUP => return,
                    _ => {}
                }
            }
            if self.reaped_clean() {
                return;
            }
        }
    }

    /// Starts a server on the connection (its descriptor inherited).
    fn spawn(&mut self) {
        let fd = self.conn.as_raw_fd().to_string();
        match self
            .program
            .command(&["serve", "--fd", &fd], self.mount_point)
            .spawn()
        {
            Ok(child) => self.server = Some((child, Instant::now())),
            Err(e) => {
                eprintln!("nsbox proc-view: start a server: {e}");
                self.retry_later(Instant::now());
            }
        }
    }

    /// Whether the server ended cleanly (the end of the view); one that
    /// died is replaced after a pause.
    fn reaped_clean(&mut self) -> bool {
        let Some((child, started)) = &mut self.server else {
            return false;
        };
        let Ok(Some(status)) = child.try_wait() else {
            return false;
        };
        let (pid, started) = (child.id(), *started);
        self.server = None;
        if status.success() {
            return true;
        }
        eprintln!("nsbox proc-view: server {pid} ended ({status}); a new one follows");
        self.retry_later(started);
        false
    }

    fn retry_later(&mut self, started: Instant) {
        self.pause = if started.elapsed() < STEADY {
            (self.pause * 2).min(MAX_PAUSE)
        } else {
            PAUSE
        };
        self.next = Some(Instant::now() + self.pause);
    }

    /// Stops the server (TERM, then KILL after `GRACE`) and unmounts.
    fn end(&mut self) {
        if let Some((mut child, _)) = self.server.take() {
            if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            let until = Instant::now() + GRACE;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = device::detach(self.mount_point);
    }
}
