//! Named network namespaces, kept exactly as iproute2 keeps them: the
//! namespace is bind-mounted on `/run/netns/NAME`, and `/run/netns` is a
//! shared mount point (made one on first use, as `ip netns add` does), so
//! that a namespace added later also appears in mount namespaces made
//! before (`ip netns exec`'s, a container's). `ip netns` sees and enters
//! nsbox's namespaces, and nsbox sees and enters iproute2's.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nsbox_ns::{ns_of_path, ns_of_pid, NsId, NsKind};
use rustix::mount::{MountPropagationFlags, UnmountFlags};

use crate::Error;

/// Where iproute2 keeps named network namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// A named namespace as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Named {
    pub name: String,
    /// The id the caller's namespace gives it (`ip netns set`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i32>,
}

/// `/run/netns/NAME`, after checking that NAME is one file name (iproute2
/// refuses `/`, `.` and `..` the same way).
pub fn path_of(name: &str) -> Result<PathBuf, Error> {
    let bad = |why| Error::BadName {
        name: name.to_owned(),
        why,
    };
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name == "." || name == ".." {
        return Err(bad("not a file name"));
    }
    if name.contains('/') || name.contains('\0') {
        return Err(bad("contains '/'"));
    }
    if name.len() > 255 {
        return Err(bad("longer than 255 bytes"));
    }
    Ok(Path::new(NETNS_DIR).join(name))
}

/// The path of an existing named namespace (a namespace is bound there).
pub fn existing(name: &str) -> Result<PathBuf, Error> {
    let path = path_of(name)?;
    if !nsbox_ns::is_nsfs(&path) {
        return Err(Error::NoSuchNetns {
            name: name.to_owned(),
            path,
        });
    }
    Ok(path)
}

/// `ip netns add NAME`: a new network namespace (only `lo`, down), bound
/// on `/run/netns/NAME`. Nothing is left behind on failure.
pub fn add(name: &str) -> Result<PathBuf, Error> {
    let path = new_file(name)?;
    if let Err(e) = bind_new(&path) {
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// A new network namespace kept on `path` (a new file, made here; an
/// existing one is an error): a container's, outside /run/netns. Release
/// it with [`release`]. Nothing is left behind on failure.
pub fn create_at(path: &Path) -> Result<(), Error> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o000)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    if let Err(e) = bind_new(path) {
        let _ = fs::remove_file(path);
        return Err(e);
    }
    Ok(())
}

/// Unmounts the namespace kept on `path` and removes the file (the
/// namespace lives on while a process or descriptor holds it).
pub fn release(path: &Path) -> Result<(), Error> {
    if nsbox_ns::is_nsfs(path) {
        rustix::mount::unmount(path, UnmountFlags::DETACH)
            .map_err(|e| Error::io("unmount", path, e.into()))?;
    }
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// Binds a new network namespace on the existing file `path`. The calling
/// thread makes it and goes back to its own network namespace at once
/// (unshare(CLONE_NEWNET) is per task). Not on a thread of its own: nsbox
/// forks containers next, and a helper thread can outlive its `join` for a
/// moment in the kernel's count, which makes that fork refuse.
fn bind_new(path: &Path) -> Result<(), Error> {
    crate::rtnl::in_netns(None, || bind(Path::new("/proc/thread-self/ns/net"), path))
}

/// `ip netns attach NAME PID`: names the network namespace of `pid`.
pub fn attach(name: &str, pid: u32) -> Result<PathBuf, Error> {
    let source = nsbox_ns::proc_ns_path(pid, NsKind::Net);
    if !Path::new(&format!("/proc/{pid}")).exists() {
        return Err(Error::NoSuchProcess { pid });
    }
    let path = new_file(name)?;
    if let Err(e) = bind(&source, &path) {
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// `ip netns delete NAME`, except that a namespace some process is still
/// in is kept and the error names the processes (deleting the name would
/// leave the namespace alive and nameless).
pub fn delete(name: &str) -> Result<(), Error> {
    let path = path_of(name)?;
    if !path.exists() {
        return Err(Error::NoSuchNetns {
            name: name.to_owned(),
            path,
        });
    }
    if nsbox_ns::is_nsfs(&path) {
        let in_use = pids_in(ns_of_path(&path)?)?;
        if !in_use.is_empty() {
            return Err(Error::NetnsInUse {
                name: name.to_owned(),
                pids: in_use,
            });
        }
    }
    release(&path)
}

/// Every named namespace, sorted by name, with its id when `ids` gives it
/// (see [`crate::nsid::get`]). Files that are not namespaces (left over
/// from a failed add elsewhere) are left out.
pub fn list(mut ids: impl FnMut(&Path) -> Result<Option<i32>, Error>) -> Result<Vec<Named>, Error> {
    let entries = match fs::read_dir(NETNS_DIR) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read", NETNS_DIR, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read", NETNS_DIR, e))?;
        let path = entry.path();
        if !nsbox_ns::is_nsfs(&path) {
            continue;
        }
        out.push(Named {
            name: entry.file_name().to_string_lossy().into_owned(),
            id: ids(&path)?,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// `ip netns pids NAME`: the processes in that namespace, ascending.
pub fn pids(name: &str) -> Result<Vec<u32>, Error> {
    pids_in(ns_of_path(&existing(name)?)?)
}

/// `ip netns identify PID`: the names bound to the network namespace of
/// `pid` (none, one, or several for one namespace).
pub fn identify(pid: u32) -> Result<Vec<String>, Error> {
    let id = ns_of_pid(pid, NsKind::Net).map_err(|e| match e {
        nsbox_ns::Error::NoSuchProcess { .. } => Error::NoSuchProcess { pid },
        e => Error::Ns(e),
    })?;
    let named = list(|_| Ok(None))?;
    Ok(named
        .into_iter()
        .filter(|n| ns_of_path(&Path::new(NETNS_DIR).join(&n.name)).ok() == Some(id))
        .map(|n| n.name)
        .collect())
}

/// Every process whose network namespace is `id`.
fn pids_in(id: NsId) -> Result<Vec<u32>, Error> {
    let mut out = Vec::new();
    let entries = fs::read_dir("/proc").map_err(|e| Error::io("read", "/proc", e))?;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        // a process may exit while we look: not in use then
        if ns_of_pid(pid, NsKind::Net).is_ok_and(|ns| ns == id) {
            out.push(pid);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Makes `/run/netns` (0755) a shared mount point, then creates the empty
/// file NAME in it (mode 0, as iproute2 does); an existing name is an error.
fn new_file(name: &str) -> Result<PathBuf, Error> {
    let path = path_of(name)?;
    shared_dir()?;
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o000)
        .open(&path)
    {
        Ok(_) => Ok(path),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(Error::NetnsExists {
            name: name.to_owned(),
            path,
        }),
        Err(e) => Err(Error::io("create", &path, e)),
    }
}

/// iproute2's setup of `/run/netns`: created when missing, then made a
/// shared mount point; where it is not a mount point yet (EINVAL), bound on
/// itself first.
fn shared_dir() -> Result<(), Error> {
    let dir = Path::new(NETNS_DIR);
    match fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("create", dir, e)),
    }
    let share = || {
        rustix::mount::mount_change(
            dir,
            MountPropagationFlags::SHARED | MountPropagationFlags::REC,
        )
    };
    match share() {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL) => {
            rustix::mount::mount_bind_recursive(dir, dir)
                .map_err(|e| Error::io("bind on itself", dir, e.into()))?;
            share().map_err(|e| Error::io("make shared", dir, e.into()))
        }
        Err(e) => Err(Error::io("make shared", dir, e.into())),
    }
}

fn bind(source: &Path, target: &Path) -> Result<(), Error> {
    rustix::mount::mount_bind(source, target).map_err(|e| Error::Sys {
        what: format!("bind {} on {}", source.display(), target.display()),
        source: e.into(),
    })
}
