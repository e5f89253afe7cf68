//! Mount-namespace steps that `unshare` (and anything else creating a mount
//! namespace) needs: changing the propagation of the copied tree, and
//! mounting a fresh `proc` for a new PID namespace.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use rustix::mount::{MountFlags, MountPropagationFlags};

use crate::Error;

/// What to do with the propagation of every mount copied into a new mount
/// namespace (`--propagation`, applied recursively to `/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Nothing propagates in or out (util-linux's default).
    #[default]
    Private,
    /// Mounts stay peers of the parent namespace's: events flow both ways.
    Shared,
    /// Events from the parent namespace flow in, none flow out.
    Slave,
    /// Keep what was copied.
    Unchanged,
}

impl Propagation {
    pub fn name(self) -> &'static str {
        match self {
            Propagation::Private => "private",
            Propagation::Shared => "shared",
            Propagation::Slave => "slave",
            Propagation::Unchanged => "unchanged",
        }
    }

    fn flags(self) -> Option<MountPropagationFlags> {
        let kind = match self {
            Propagation::Private => MountPropagationFlags::PRIVATE,
            Propagation::Shared => MountPropagationFlags::SHARED,
            Propagation::Slave => MountPropagationFlags::DOWNSTREAM,
            Propagation::Unchanged => return None,
        };
        Some(kind | MountPropagationFlags::REC)
    }
}

/// A `--propagation` word that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown propagation {0:?} (expected private, shared, slave or unchanged)")]
pub struct UnknownPropagation(pub String);

impl FromStr for Propagation {
    type Err = UnknownPropagation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "private" => Propagation::Private,
            "shared" => Propagation::Shared,
            "slave" => Propagation::Slave,
            "unchanged" => Propagation::Unchanged,
            _ => return Err(UnknownPropagation(s.to_string())),
        })
    }
}

/// Applies `prop` recursively to `/` (call it right after entering a new
/// mount namespace, before any mount is made there).
pub fn set_root_propagation(prop: Propagation) -> Result<(), Error> {
    let Some(flags) = prop.flags() else {
        return Ok(());
    };
    rustix::mount::mount_change("/", flags).map_err(|e| Error::Propagation {
        target: PathBuf::from("/"),
        mode: rprop_name(prop).into(),
        source: e.into(),
    })
}

fn rprop_name(prop: Propagation) -> &'static str {
    match prop {
        Propagation::Private => "rprivate",
        Propagation::Shared => "rshared",
        Propagation::Slave => "rslave",
        Propagation::Unchanged => "unchanged",
    }
}

/// Mounts a new `proc` on `dir`, `nosuid,nodev,noexec`: it shows the PID
/// namespace of the calling process (its children's, for a fresh one).
///
/// When the tree was left shared (`prop` is shared or unchanged) and `dir`
/// is a mount point, `dir` is first made private so that the new proc does
/// not propagate over the parent namespace's `/proc`.
pub fn mount_proc(dir: &Path, prop: Propagation) -> Result<(), Error> {
    if matches!(prop, Propagation::Shared | Propagation::Unchanged) {
        match rustix::mount::mount_change(
            dir,
            MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
        ) {
            // EINVAL: `dir` is not a mount point; nothing there to shield.
            Ok(()) | Err(rustix::io::Errno::INVAL) => {}
            Err(e) => {
                return Err(Error::Propagation {
                    target: dir.to_path_buf(),
                    mode: "rprivate".into(),
                    source: e.into(),
                })
            }
        }
    }
    rustix::mount::mount(
        "proc",
        dir,
        "proc",
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        None,
    )
    .map_err(|e| Error::Mount {
        what: "proc".into(),
        target: dir.to_path_buf(),
        source: e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagation_words() {
        for p in [
            Propagation::Private,
            Propagation::Shared,
            Propagation::Slave,
            Propagation::Unchanged,
        ] {
            assert_eq!(p.name().parse::<Propagation>().unwrap(), p);
        }
        assert_eq!(Propagation::default(), Propagation::Private);
        let err = "rshared".parse::<Propagation>().unwrap_err().to_string();
        assert!(err.contains("\"rshared\""), "{err}");
        assert!(Propagation::Unchanged.flags().is_none());
    }
}
