//! Joining existing namespaces: by nsfs file (`/proc/PID/ns/net`,
//! `/run/netns/NAME`, a file kept by `unshare --net=FILE`) or by pidfd.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::thread::{LinkNameSpaceType, ThreadNameSpaceType};

use crate::{ioctl, Error, NsKind};

/// An open namespace file, checked to be nsfs and of a known kind.
#[derive(Debug)]
pub struct NsFile {
    fd: OwnedFd,
    kind: NsKind,
    path: PathBuf,
}

impl NsFile {
    /// Opens `path` and checks that it is a namespace, of `expected` kind when given.
    pub fn open(path: &Path, expected: Option<NsKind>) -> Result<NsFile, Error> {
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).map_err(
            |e| Error::Open {
                path: path.to_path_buf(),
                source: e.into(),
            },
        )?;
        let what = path.display().to_string();
        let kind = match ioctl::kind(fd.as_fd(), &what) {
            Ok(kind) => kind,
            // ENOTTY: the file is not on nsfs, so the ioctl does not exist for it.
            Err(e) if matches!(e.errno(), Some(libc::ENOTTY) | Some(libc::EINVAL)) => {
                return Err(Error::NotNamespace {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => return Err(e),
        };
        if let Some(expected) = expected {
            if expected != kind {
                return Err(Error::WrongKind {
                    path: path.to_path_buf(),
                    expected,
                    found: kind,
                });
            }
        }
        Ok(NsFile {
            fd,
            kind,
            path: path.to_path_buf(),
        })
    }

    /// Opens process `pid`'s namespace of `kind`.
    pub fn of_pid(pid: u32, kind: NsKind) -> Result<NsFile, Error> {
        NsFile::open(&crate::proc_ns_path(pid, kind), Some(kind)).map_err(|e| e.for_pid(pid))
    }

    pub fn kind(&self) -> NsKind {
        self.kind
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the calling thread into this namespace (`setns(2)`). Joining a
    /// PID namespace affects only children forked afterwards.
    pub fn join(&self) -> Result<(), Error> {
        rustix::thread::move_into_link_name_space(self.fd.as_fd(), Some(link_type(self.kind)))
            .map_err(|e| Error::Setns {
                kind: self.kind,
                path: self.path.clone(),
                source: e.into(),
            })
    }
}

impl AsFd for NsFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn link_type(kind: NsKind) -> LinkNameSpaceType {
    match kind {
        NsKind::Mnt => LinkNameSpaceType::Mount,
        NsKind::Net => LinkNameSpaceType::Network,
        NsKind::Time => LinkNameSpaceType::Time,
        NsKind::Cgroup => LinkNameSpaceType::ControlGroup,
        NsKind::Pid => LinkNameSpaceType::ProcessID,
        NsKind::User => LinkNameSpaceType::User,
        NsKind::Uts => LinkNameSpaceType::HostNameAndNISDomainName,
        NsKind::Ipc => LinkNameSpaceType::InterProcessCommunication,
    }
}

/// Moves the calling thread into several namespaces of the process behind
/// `pidfd` at once (`setns(pidfd, flags)`, Linux 5.8): atomic, and immune to
/// the pid being reused between opening one `/proc/PID/ns` file and the next.
pub fn join_pidfd(pidfd: BorrowedFd<'_>, pid: u32, kinds: &[NsKind]) -> Result<(), Error> {
    let mut flags = ThreadNameSpaceType::empty();
    for k in kinds {
        flags |= ThreadNameSpaceType::from_bits_retain(k.clone_flag() as u32);
    }
    rustix::thread::move_into_thread_name_spaces(pidfd, flags).map_err(|e| Error::Setns {
        kind: kinds.first().copied().unwrap_or(NsKind::User),
        path: PathBuf::from(format!("pidfd:{pid}")),
        source: e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_own_namespaces_and_checks_kind() {
        let f = NsFile::of_pid(std::process::id(), NsKind::Uts).unwrap();
        assert_eq!(f.kind(), NsKind::Uts);
        let err = NsFile::open(Path::new("/proc/self/ns/uts"), Some(NsKind::Net)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/proc/self/ns/uts is a uts namespace, not net"
        );
    }

    #[test]
    fn regular_file_is_not_a_namespace() {
        let err = NsFile::open(Path::new("/proc/self/status"), None).unwrap_err();
        assert_eq!(err.to_string(), "/proc/self/status is not a namespace file");
    }

    #[test]
    fn joining_own_namespace_is_harmless() {
        // setns into the namespace we are already in succeeds as root and
        // changes nothing; as non-root it fails with EPERM, which is the point.
        let f = NsFile::of_pid(std::process::id(), NsKind::Uts).unwrap();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            f.join().unwrap();
        } else {
            assert_eq!(f.join().unwrap_err().errno(), Some(libc::EPERM));
        }
    }
}
