//! The long-running server: mount the view, serve it until the mount goes
//! away; its state (pid, start time, mount point) in one JSON file, so
//! `status` and `stop` find it and tell a live server from a stale file
//! (the pid's start time must match: a reused pid is not ours).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fuser::{Config, MountOption, SessionACL};
use nsbox_ns::supervise::Signals;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::mount::{unmount, UnmountFlags};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::filesystem::ProcView;
use crate::view::Source;

/// Where the view is mounted unless told otherwise.
pub const DEFAULT_MOUNT_POINT: &str = "/var/lib/nsbox/proc-view";

/// Request loops serving the mount at once.
const THREADS: usize = 4;

/// The state file's name in the state directory (nsbox's `--root`).
const STATE_FILE: &str = "proc-view.json";

/// What `status --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub pid: u32,
    /// The pid's start time (clock ticks since boot), against pid reuse.
    pub start_time: u64,
    pub mount_point: PathBuf,
}

fn state_path(state_dir: &Path) -> PathBuf {
    state_dir.join(STATE_FILE)
}

/// The server's state when one runs; a stale file (its process gone) is
/// `None`.
pub fn status(state_dir: &Path) -> Result<Option<State>> {
    let Some(state) = read_state(state_dir)? else {
        return Ok(None);
    };
    Ok(alive(&state).then_some(state))
}

fn read_state(state_dir: &Path) -> Result<Option<State>> {
    let path = state_path(state_dir);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::ReadState { path, source }),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| Error::BadState { path, source })
}

fn alive(state: &State) -> bool {
    matches!(nsbox_ns::procstat::Stat::read(state.pid),
        Ok(Some(s)) if s.start_time == state.start_time && s.state != b'Z')
}

/// Mounts the view on `mount_point` and serves it in this process until the
/// mount is removed (`stop`, or `umount`). Refuses when one runs already; a
/// mount left by a server that died is removed first.
pub fn serve(state_dir: &Path, mount_point: &Path) -> Result<()> {
    if let Some(s) = status(state_dir)? {
        return Err(Error::Running {
            pid: s.pid,
            mount_point: s.mount_point,
        });
    }
    if let Some(stale) = read_state(state_dir)? {
        detach(&stale.mount_point)?;
    }
    detach(mount_point)?;
    std::fs::create_dir_all(mount_point).map_err(|source| Error::MountPoint {
        path: mount_point.to_owned(),
        source,
    })?;
    let source = Source::detect()?;
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("nsbox-proc-view".to_owned()),
        MountOption::Subtype("nsbox-proc-view".to_owned()),
        MountOption::RO,
        MountOption::NoSuid,
        MountOption::NoDev,
        MountOption::NoExec,
    ];
    // Containers read as any uid, in user namespaces too: allow_other.
    config.acl = SessionACL::All;
    // One slow reader (a v1 memory.stat in a deep tree) must not hold up
    // the others: a few request loops on cloned descriptors.
    config.n_threads = Some(THREADS);
    config.clone_fd = true;
    // Blocked before any thread exists, so every thread inherits the mask
    // and TERM/INT/HUP wait on the signalfd for `watch`.
    let signals = Signals::block().map_err(Error::Signals)?;
    let loads = source.loads();
    let mut session =
        fuser::Session::new(ProcView::new(source), mount_point, &config).map_err(|source| {
            Error::Mount {
                path: mount_point.to_owned(),
                source,
            }
        })?;
    let me = nsbox_ns::procstat::Stat::read_self().map_err(|source| Error::ProcStat {
        pid: std::process::id(),
        source,
    })?;
    let state = State {
        pid: std::process::id(),
        start_time: me.start_time,
        mount_point: mount_point.to_owned(),
    };
    write_state(state_dir, &state)?;
    let mut unmounter = session.unmount_callable();
    let done = AtomicBool::new(false);
    let served = std::thread::scope(|s| {
        s.spawn(|| watch(&signals, &done, &mut unmounter));
        s.spawn(|| loads.run(&done));
        let served = session.run();
        done.store(true, Ordering::Relaxed);
        served
    })
    .map_err(|source| Error::Serve {
        path: mount_point.to_owned(),
        source,
    });
    let _ = std::fs::remove_file(state_path(state_dir));
    served
}

/// Until the session ends (`done`): on TERM, INT or HUP, unmount, which
/// ends the session's request loop, so `serve` cleans up and returns.
fn watch(signals: &Signals, done: &AtomicBool, unmounter: &mut fuser::SessionUnmounter) {
    let tick = Timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };
    while !done.load(Ordering::Relaxed) {
        let fd = signals.fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        let _ = rustix::event::poll(&mut fds, Some(&tick));
        while let Some(r) = signals.read() {
            if r.signal != libc::SIGCHLD {
                let _ = unmounter.unmount();
                return;
            }
        }
    }
}

/// Written to a temporary name and renamed, so a reader never sees half.
fn write_state(state_dir: &Path, state: &State) -> Result<()> {
    let path = state_path(state_dir);
    let tmp = state_dir.join(format!(".{STATE_FILE}.{}", std::process::id()));
    let fail = |source| Error::WriteState {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(state_dir).map_err(fail)?;
    let json = serde_json::to_vec(state).unwrap_or_default();
    std::fs::write(&tmp, json).map_err(fail)?;
    std::fs::rename(&tmp, &path).map_err(fail)
}

/// Lazily unmounts whatever is mounted on `path` (a live view or a dead
/// server's); nothing mounted there is fine.
fn detach(path: &Path) -> Result<()> {
    match unmount(path, UnmountFlags::DETACH) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOENT => Ok(()),
        Err(source) => Err(Error::Unmount {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Stops the server: removes its mount (its request loop then ends and it
/// exits), waits up to `wait` for it, else kills it. A dead server's mount
/// and state file are cleaned up. Returns the state it found, if any.
pub fn stop(state_dir: &Path, wait: Duration) -> Result<Option<State>> {
    let Some(state) = read_state(state_dir)? else {
        return Ok(None);
    };
    detach(&state.mount_point)?;
    let until = Instant::now() + wait;
    while alive(&state) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    if alive(&state) {
        let pid = rustix::process::Pid::from_raw(state.pid as i32)
            .ok_or(Error::StillRunning { pid: state.pid })?;
        rustix::process::kill_process(pid, rustix::process::Signal::KILL).map_err(|source| {
            Error::Signal {
                pid: state.pid,
                source,
            }
        })?;
    }
    let _ = std::fs::remove_file(state_path(state_dir));
    Ok(Some(state))
}

/// Waits until a server started as `pid` has written its state (its mount
/// is up), up to `wait`. `false` if it did not (the caller looks at why).
pub fn wait_ready(state_dir: &Path, pid: u32, wait: Duration) -> Result<bool> {
    let until = Instant::now() + wait;
    loop {
        if let Some(s) = read_state(state_dir)? {
            if s.pid == pid && alive(&s) {
                return Ok(true);
            }
        }
        if Instant::now() >= until {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
