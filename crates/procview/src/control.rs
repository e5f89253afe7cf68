//! Starting, finding and stopping a view from outside it (`nsbox proc-view
//! start|stop|status`, and `nsbox run` starting one when none runs). Start
//! holds a lock in the state directory, so two callers at once start one
//! view.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::process::{kill_process, Pid, Signal};

use crate::error::{Error, Result};
use crate::holder::Program;
use crate::state::{self, Role, State};

/// The lock's and the log's names in the view's directory.
const LOCK: &str = "lock";
const LOG: &str = "log";

/// Left by `nsbox run` when a view could not start, so later runs neither
/// try again nor warn again; `start` removes it.
const UNAVAILABLE: &str = "unavailable";

/// How long `start` waits for a server, and `stop` for the view's end.
pub const WAIT: Duration = Duration::from_secs(10);

/// The server when one serves (a stale state file is `None`).
pub fn status(state_dir: &Path) -> Result<Option<State>> {
    state::live(state_dir, Role::Server)
}

/// The holder when one runs: during a restart it runs without a server.
pub fn holder(state_dir: &Path) -> Result<Option<State>> {
    state::live(state_dir, Role::Holder)
}

/// Starts a view on `mount_point` (or a new server for a holder whose server
/// died) and waits until it serves; refuses when one serves already.
pub fn start(state_dir: &Path, mount_point: &Path, program: &Program) -> Result<State> {
    let s = bring_up(state_dir, mount_point, program, true)?;
    let _ = std::fs::remove_file(state::dir(state_dir).join(UNAVAILABLE));
    Ok(s)
}

/// A view could not start under `state_dir`, said before.
pub fn unavailable(state_dir: &Path) -> bool {
    state::dir(state_dir).join(UNAVAILABLE).exists()
}

/// Records why a view could not start (see [`unavailable`]).
pub fn mark_unavailable(state_dir: &Path, why: &str) {
    let _ = std::fs::create_dir_all(state::dir(state_dir));
    let _ = std::fs::write(state::dir(state_dir).join(UNAVAILABLE), format!("{why}\n"));
}

/// The serving view, started first when none serves (`nsbox run`).
pub fn ensure(state_dir: &Path, mount_point: &Path, program: &Program) -> Result<State> {
    if let Some(s) = status(state_dir)? {
        return Ok(s);
    }
    bring_up(state_dir, mount_point, program, false)
}

fn bring_up(
    state_dir: &Path,
    mount_point: &Path,
    program: &Program,
    refuse_running: bool,
) -> Result<State> {
    let _lock = lock(state_dir)?;
    if let Some(s) = status(state_dir)? {
        if refuse_running {
            return Err(Error::Running {
                pid: s.pid,
                mount_point: s.mount_point,
            });
        }
        return Ok(s);
    }
    let until = Instant::now() + WAIT;
    let mut asked: Option<u32> = None;
    let mut spawned: Option<Child> = None;
    loop {
        if let Some(s) = status(state_dir)? {
            return Ok(s);
        }
        match holder(state_dir)? {
            // A holder without a server (one died): a new one now.
            Some(h) if asked != Some(h.pid) && spawned.as_ref().map(Child::id) != Some(h.pid) => {
                if let Some(pid) = Pid::from_raw(h.pid as i32) {
                    kill_process(pid, Signal::USR1)
                        .map_err(|source| Error::Signal { pid: h.pid, source })?;
                }
                asked = Some(h.pid);
            }
            Some(_) => {}
            // None, or one on its way out: a view of our own.
            None if spawned.is_none() => {
                spawned = Some(spawn_holder(state_dir, mount_point, program)?);
            }
            None => {}
        }
        if let Some(c) = &mut spawned {
            if let Ok(Some(_)) = c.try_wait() {
                return Err(Error::NotStarted {
                    log: state::dir(state_dir).join(LOG),
                    why: last_line(&state::dir(state_dir).join(LOG)),
                });
            }
        }
        if Instant::now() >= until {
            if let Some(mut c) = spawned {
                let _ = c.kill();
                let _ = c.wait();
            }
            return Err(Error::NotStarted {
                log: state::dir(state_dir).join(LOG),
                why: format!("no server after {} s", WAIT.as_secs()),
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The holder, in a process group of its own (a terminal's ^C does not
/// reach it), its messages and its servers' in the log.
fn spawn_holder(state_dir: &Path, mount_point: &Path, program: &Program) -> Result<Child> {
    let log_path = state::dir(state_dir).join(LOG);
    let log = std::fs::File::create(&log_path).map_err(|source| Error::WriteState {
        path: log_path.clone(),
        source,
    })?;
    let mount_point = std::path::absolute(mount_point).map_err(|source| Error::MountPoint {
        path: mount_point.to_owned(),
        source,
    })?;
    use std::os::unix::process::CommandExt;
    program
        .command(&["start", "--foreground"], &mount_point)
        .stderr(Stdio::from(log))
        .process_group(0)
        .spawn()
        .map_err(|source| Error::Spawn { source })
}

/// The log's last line, without nsbox's prefix.
fn last_line(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let line = text.lines().last().unwrap_or("").trim();
    line.strip_prefix("nsbox: ").unwrap_or(line).to_owned()
}

fn lock(state_dir: &Path) -> Result<OwnedFd> {
    let path: PathBuf = state::dir(state_dir).join(LOCK);
    let fail = |source: rustix::io::Errno| Error::WriteState {
        path: path.clone(),
        source: source.into(),
    };
    std::fs::create_dir_all(state::dir(state_dir)).map_err(|source| Error::WriteState {
        path: path.clone(),
        source,
    })?;
    let fd = rustix::fs::open(
        &path,
        OFlags::CREATE | OFlags::RDWR | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(fail)?;
    rustix::fs::flock(&fd, FlockOperation::LockExclusive).map_err(fail)?;
    Ok(fd)
}

/// Ends the view: TERM to its holder (which stops its server and
/// unmounts), waits up to `wait`, then kills what is left; a dead view's
/// mount and state files are cleaned up. Returns the holder it found.
pub fn stop(state_dir: &Path, wait: Duration) -> Result<Option<State>> {
    let holder = state::read(state_dir, Role::Holder)?;
    let server = state::read(state_dir, Role::Server)?;
    let Some(found) = holder.clone().or(server.clone()) else {
        return Ok(None);
    };
    for s in [&holder, &server].into_iter().flatten() {
        signal(s, Signal::TERM)?;
    }
    let until = Instant::now() + wait;
    let running = || [&holder, &server].into_iter().flatten().any(State::alive);
    while running() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    for s in [&holder, &server].into_iter().flatten() {
        signal(s, Signal::KILL)?;
    }
    crate::device::detach(&found.mount_point)?;
    state::remove_any(state_dir, Role::Server);
    state::remove_any(state_dir, Role::Holder);
    Ok(Some(found))
}

/// `sig` to the process of `s` when it still runs.
fn signal(s: &State, sig: Signal) -> Result<()> {
    if !s.alive() {
        return Ok(());
    }
    let Some(pid) = Pid::from_raw(s.pid as i32) else {
        return Ok(());
    };
    match kill_process(pid, sig) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(source) => Err(Error::Signal { pid: s.pid, source }),
    }
}
