//! The view's state in the state directory (nsbox's `--root`), in its own
//! directory there ([`dir`]): one JSON file
//! for the holder (the process that keeps the connection, see `holder`) and
//! one for the server that answers on it, each with its pid, the pid's start
//! time (a reused pid is not ours) and the mount point. Written to a
//! temporary name and renamed, so a reader never sees half.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Whose state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Holder,
    Server,
}

impl Role {
    fn file(self) -> &'static str {
        match self {
            Role::Holder => "holder.json",
            Role::Server => "server.json",
        }
    }
}

/// One process of the view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub pid: u32,
    /// The pid's start time (clock ticks since boot), against pid reuse.
    pub start_time: u64,
    pub mount_point: PathBuf,
}

impl State {
    /// This process, serving `mount_point`.
    pub fn me(mount_point: &Path) -> Result<State> {
        let me = nsbox_ns::procstat::Stat::read_self().map_err(|source| Error::ProcStat {
            pid: std::process::id(),
            source,
        })?;
        Ok(State {
            pid: std::process::id(),
            start_time: me.start_time,
            mount_point: mount_point.to_owned(),
        })
    }

    /// The process still runs (not a zombie, not a reused pid).
    pub fn alive(&self) -> bool {
        matches!(nsbox_ns::procstat::Stat::read(self.pid),
            Ok(Some(s)) if s.start_time == self.start_time && s.state != b'Z')
    }
}

/// The view's directory in the state directory `state_dir`: its state
/// files, lock and log (one name in the state directory, beside the
/// containers').
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("proc-view")
}

fn path(state_dir: &Path, role: Role) -> PathBuf {
    dir(state_dir).join(role.file())
}

/// The file as written; `None` when there is none.
pub fn read(dir: &Path, role: Role) -> Result<Option<State>> {
    let path = path(dir, role);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::ReadState { path, source }),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| Error::BadState { path, source })
}

/// The state of a process that still runs; a stale file is `None`.
pub fn live(dir: &Path, role: Role) -> Result<Option<State>> {
    Ok(read(dir, role)?.filter(State::alive))
}

pub fn write(dir: &Path, role: Role, state: &State) -> Result<()> {
    let path = path(dir, role);
    let tmp = self::dir(dir).join(format!(".{}.{}", role.file(), std::process::id()));
    let fail = |source| Error::WriteState {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(self::dir(dir)).map_err(fail)?;
    let json = serde_json::to_vec(state).unwrap_or_default();
    std::fs::write(&tmp, json).map_err(fail)?;
    std::fs::rename(&tmp, &path).map_err(fail)
}

/// Removes the file if it is `state`'s (a newer process's is left alone).
pub fn remove(dir: &Path, role: Role, state: &State) {
    if matches!(read(dir, role), Ok(Some(s)) if s == *state) {
        let _ = std::fs::remove_file(path(dir, role));
    }
}

/// Removes the file whatever it says (its process is known to be gone).
pub fn remove_any(dir: &Path, role: Role) {
    let _ = std::fs::remove_file(path(dir, role));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_read_and_removed_only_when_ours() {
        let t = nsbox_testutil::TempDir::new("procview-state");
        let me = State::me(Path::new("/m")).unwrap();
        assert!(me.alive());
        assert_eq!(read(t.path(), Role::Server).unwrap(), None);
        write(t.path(), Role::Server, &me).unwrap();
        assert_eq!(live(t.path(), Role::Server).unwrap(), Some(me.clone()));
        assert_eq!(read(t.path(), Role::Holder).unwrap(), None);
        let other = State {
            pid: me.pid,
            start_time: me.start_time + 1,
            mount_point: me.mount_point.clone(),
        };
        assert!(!other.alive());
        remove(t.path(), Role::Server, &other);
        assert!(read(t.path(), Role::Server).unwrap().is_some());
        remove(t.path(), Role::Server, &me);
        assert_eq!(read(t.path(), Role::Server).unwrap(), None);
    }
}
