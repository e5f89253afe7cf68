//! Container state on disk: `ROOT/ID/` holds `state.json` (written
//! atomically: temporary file, rename) and the exec fifo; the
//! directory itself is the lock (`flock`), so concurrent verbs on one id
//! serialize. What the file says about the process is checked against the
//! kernel: the pid must exist with the start time recorded at create
//! (field 22 of `/proc/PID/stat`, see `liveness`), else the container is `stopped`.

use std::fs;
use std::io::{self, Write as _};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{ContainerState, State};
use rustix::fs::{FlockOperation, Mode, OFlags};
use serde::{Deserialize, Serialize};

use crate::Error;

pub const STATE_FILE: &str = "state.json";
/// The cgroup recorded before state.json exists (see `write_cgroup`).
const CGROUP_FILE: &str = "cgroup.json";
pub const FIFO: &str = "exec.fifo";

/// Checks a container id: non-empty, not `.`/`..`, no `/` or NUL, and
/// short enough to be a file name.
pub fn validate_id(id: &str) -> Result<(), Error> {
    let bad = |why| Error::BadId {
        id: id.to_string(),
        why,
    };
    if id.is_empty() {
        return Err(bad("empty"));
    }
    if id == "." || id == ".." {
        return Err(bad("not a file name"));
    }
    if id.contains('/') || id.contains('\0') {
        return Err(bad("contains '/' or NUL"));
    }
    if id.len() > 255 {
        return Err(bad("longer than 255 bytes"));
    }
    Ok(())
}

/// What nsbox records about one container: the OCI state plus what runc's
/// `state` adds (rootfs, created, owner) and the start time that proves
/// the pid is still ours.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub oci: State,
    pub rootfs: PathBuf,
    /// RFC 3339, UTC.
    pub created: String,
    pub owner: String,
    /// Field 22 of /proc/PID/stat when create saw the init.
    #[serde(rename = "nsboxStartTime", default)]
    pub start_time: u64,
    /// The config's hooks, for `start` (poststart) and `delete` (poststop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// The container's cgroup (every hierarchy, the directories create
    /// made), so later verbs never re-derive it; none when created
    /// unprivileged without one.
    #[serde(
        rename = "nsboxCgroup",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cgroup: Option<nsbox_cgroups::Cgroup>,
    /// Created with `--no-new-keyring`: `exec` joins no session keyring
    /// (else it joins the container's, as runc).
    #[serde(
        rename = "nsboxNoNewKeyring",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub no_new_keyring: bool,
}

impl Record {
    /// The status after asking the kernel: a created or running container
    /// whose init is gone (or whose pid now belongs to another process) is
    /// stopped.
    pub fn live_status(&self) -> ContainerState {
        let status = *self.oci.status();
        match (status, self.oci.pid()) {
            (ContainerState::Created | ContainerState::Running, Some(pid)) if *pid > 0 => {
                if crate::liveness::is_alive(*pid as u32, self.start_time) {
                    status
                } else {
                    ContainerState::Stopped
                }
            }
            (ContainerState::Creating, _) => ContainerState::Creating,
            _ => ContainerState::Stopped,
        }
    }

    /// The pid when the process is still the container's init.
    pub fn live_pid(&self) -> Option<u32> {
        match self.live_status() {
            ContainerState::Created | ContainerState::Running => self.oci.pid().map(|p| p as u32),
            _ => None,
        }
    }

    /// runc's `state` output: the record with the kernel's status, pid 0
    /// once stopped, and nsbox's bookkeeping left out.
    pub fn report(&self) -> Report {
        let status = self.live_status();
        let mut oci = self.oci.clone();
        oci.set_status(status);
        if status == ContainerState::Stopped {
            oci.set_pid(Some(0));
        }
        // A live container whose cgroup is frozen is `paused` (runc).
        let paused = matches!(status, ContainerState::Created | ContainerState::Running)
            && self
                .cgroup
                .as_ref()
                .is_some_and(|cg| cg.is_frozen().unwrap_or(false));
        Report {
            oci,
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            owner: self.owner.clone(),
            paused,
        }
    }
}

/// One container as `state` and `list --format json` print it (runc's
/// shape; `status` is `paused` when its cgroup is frozen, a word OCI's
/// state type does not have).
#[derive(Debug, Clone)]
pub struct Report {
    pub oci: State,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    pub paused: bool,
}

impl Report {
    /// `created`, `running`, `paused` or `stopped`.
    pub fn status_word(&self) -> &'static str {
        if self.paused {
            "paused"
        } else {
            crate::status_word(*self.oci.status())
        }
    }
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Plain<'a> {
            #[serde(flatten)]
            oci: &'a State,
            rootfs: &'a PathBuf,
            created: &'a str,
            owner: &'a str,
        }
        let mut v = serde_json::to_value(Plain {
            oci: &self.oci,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: &self.owner,
        })
        .map_err(serde::ser::Error::custom)?;
        if self.paused {
            v["status"] = "paused".into();
        }
        v.serialize(s)
    }
}

/// `ROOT/ID`, locked for as long as this value lives.
#[derive(Debug)]
pub struct StateDir {
    pub id: String,
    pub path: PathBuf,
    /// Held for the value's life by verbs that change the container;
    /// readers need none (state.json is replaced atomically).
    _lock: Option<OwnedFd>,
}

impl StateDir {
    /// Creates and locks `ROOT/ID`; an existing one means the id is taken.
    pub fn create(root: &Path, id: &str) -> Result<StateDir, Error> {
        validate_id(id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|source| Error::CreateState {
                path: root.to_path_buf(),
                source,
            })?;
        let path = root.join(id);
        match fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error::IdInUse {
                    id: id.to_string(),
                    path,
                })
            }
            Err(source) => return Err(Error::CreateState { path, source }),
        }
        let lock = lock_dir(&path)?;
        Ok(StateDir {
            id: id.to_string(),
            path,
            _lock: Some(lock),
        })
    }

    /// Opens an existing `ROOT/ID` for reading only: no lock, so `state` and
    /// `list` never wait behind a `create` or `delete` in progress.
    pub fn open_read(root: &Path, id: &str) -> Result<StateDir, Error> {
        validate_id(id)?;
        let path = root.join(id);
        if !path.is_dir() {
            return Err(Error::NotFound { id: id.to_string() });
        }
        Ok(StateDir {
            id: id.to_string(),
            path,
            _lock: None,
        })
    }

    /// Opens and locks an existing `ROOT/ID`.
    pub fn open(root: &Path, id: &str) -> Result<StateDir, Error> {
        validate_id(id)?;
        let path = root.join(id);
        let lock = lock_dir(&path).map_err(|e| match e {
            Error::Lock { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                Error::NotFound { id: id.to_string() }
            }
            e => e,
        })?;
        // A verb that held the lock before us may have deleted the directory.
        if !path.exists() {
            return Err(Error::NotFound { id: id.to_string() });
        }
        Ok(StateDir {
            id: id.to_string(),
            path,
            _lock: Some(lock),
        })
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.path.join(FIFO)
    }

    pub fn state_path(&self) -> PathBuf {
        self.path.join(STATE_FILE)
    }

    /// The record; `NotFound` when create never got as far as writing it.
    pub fn read(&self) -> Result<Record, Error> {
        let path = self.state_path();
        let text = fs::read_to_string(&path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                Error::NotFound {
                    id: self.id.clone(),
                }
            } else {
                Error::ReadState {
                    path: path.clone(),
                    source,
                }
            }
        })?;
        serde_json::from_str(&text).map_err(|e| Error::BadState {
            path,
            msg: e.to_string(),
        })
    }

    /// Replaces state.json atomically.
    pub fn write(&self, record: &Record) -> Result<(), Error> {
        let bytes = serde_json::to_vec(record).map_err(|e| Error::WriteState {
            path: self.state_path(),
            source: io::Error::other(e),
        })?;
        write_atomic(&self.state_path(), &bytes, 0o600).map_err(|source| Error::WriteState {
            path: self.state_path(),
            source,
        })
    }

    /// Records the container's cgroup beside the state, before state.json
    /// exists: `planned` before it is made (so a create killed in the
    /// middle leaves a `delete --force` what to remove), then as made.
    pub fn write_cgroup(&self, cgroup: &nsbox_cgroups::Cgroup, planned: bool) -> Result<(), Error> {
        let path = self.path.join(CGROUP_FILE);
        let bytes = serde_json::to_vec(&serde_json::json!({"planned": planned, "cgroup": cgroup}))
            .map_err(|e| Error::WriteState {
                path: path.clone(),
                source: io::Error::other(e),
            })?;
        write_atomic(&path, &bytes, 0o600).map_err(|source| Error::WriteState { path, source })
    }

    /// The cgroup [`StateDir::write_cgroup`] recorded, and whether it was
    /// only planned.
    pub fn read_cgroup(&self) -> Option<(nsbox_cgroups::Cgroup, bool)> {
        let v: serde_json::Value =
            serde_json::from_slice(&fs::read(self.path.join(CGROUP_FILE)).ok()?).ok()?;
        let cg = serde_json::from_value(v["cgroup"].clone()).ok()?;
        Some((cg, v["planned"] != false))
    }

    /// Removes the directory and everything in it; the lock goes with it.
    pub fn remove(self) -> Result<(), Error> {
        fs::remove_dir_all(&self.path).map_err(|source| Error::RemoveState {
            path: self.path.clone(),
            source,
        })
    }
}

fn lock_dir(path: &Path) -> Result<OwnedFd, Error> {
    let lock_err = |source: io::Error| Error::Lock {
        path: path.to_path_buf(),
        source,
    };
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| lock_err(e.into()))?;
    rustix::fs::flock(&fd, FlockOperation::LockExclusive).map_err(|e| lock_err(e.into()))?;
    Ok(fd)
}

/// Writes `bytes` to `path` so that readers see the old or the new
/// content, never a mix: a temporary file beside it, then rename.
///
/// No fsync: it guards only against power loss, after which no container
/// runs anyway (and `/run` is usually tmpfs); a state file cut short by one
/// is refused by `read` and removed by `delete --force`. On a disk-backed
/// state root the two fsyncs of create + start cost ~3 ms, a third of a
/// `run` (runc and crun do not pay it either).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `--pid-file`, written atomically (containerd reads it as soon as it exists).
pub fn write_pid_file(path: &Path, pid: u32) -> Result<(), Error> {
    write_atomic(path, pid.to_string().as_bytes(), 0o644).map_err(|source| Error::PidFile {
        path: path.to_path_buf(),
        source,
    })
}

/// Lists the ids under `root` (directories), sorted.
pub fn ids(root: &Path) -> Result<Vec<String>, Error> {
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::List {
                path: root.to_path_buf(),
                source,
            })
        }
    };
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort();
    Ok(ids)
}

/// Now as RFC 3339 in UTC with nanoseconds, as runc prints `created`.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for good in ["a", "web-1", "x.y_z", "123"] {
            validate_id(good).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "/x", "a\0b"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(rfc3339(1_700_000_000, 0), "2023-11-14T22:13:20.000000000Z");
    }

    #[test]
    fn state_dir_lifecycle() {
        let root = nsbox_testutil::TempDir::new("statedir");
        let dir = StateDir::create(root.path(), "c1").unwrap();
        let again = StateDir::create(root.path(), "c1").unwrap_err();
        assert!(matches!(again, Error::IdInUse { .. }), "{again}");
        assert!(matches!(dir.read().unwrap_err(), Error::NotFound { .. }));
        let mut oci = State::default();
        oci.set_id("c1".into());
        oci.set_status(ContainerState::Created);
        oci.set_pid(Some(std::process::id() as i32));
        let rec = Record {
            oci,
            rootfs: "/r".into(),
            created: now_rfc3339(),
            owner: "root".into(),
            start_time: crate::liveness::start_time(std::process::id())
                .unwrap()
                .unwrap(),
            hooks: None,
            cgroup: None,
            no_new_keyring: false,
        };
        dir.write(&rec).unwrap();
        assert_eq!(dir.read().unwrap().live_status(), ContainerState::Created);
        assert_eq!(super::ids(root.path()).unwrap(), vec!["c1".to_string()]);
        dir.remove().unwrap();
        let gone = StateDir::open(root.path(), "c1").unwrap_err();
        assert!(matches!(gone, Error::NotFound { .. }), "{gone}");
    }
}
