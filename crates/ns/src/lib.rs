//! `nsbox-ns`: a typed API for Linux namespaces.
//!
//! - [`NsKind`]: the eight kinds, their clone flags and `/proc/PID/ns` names;
//! - [`inspect`]: which namespace a pid or a file refers to ([`NsId`]);
//! - [`ioctl`]: `ioctl_ns(2)` queries (owner, parent, type, owner uid);
//! - [`idmap`]: uid/gid maps, written directly or through newuidmap;
//! - [`setns`]: joining namespaces by file or pidfd ([`NsFile`]);
//! - [`limits`]: `/proc/sys/user/max_*_namespaces` and ENOSPC explained.

pub mod error;
pub mod inspect;
pub mod ioctl;
pub mod kind;

pub use error::Error;
pub use inspect::{is_nsfs, namespaces_of_pid, ns_of_path, ns_of_pid, proc_ns_path, NsId};
pub use kind::{clone_flags, NsKind, UnknownKind};
pub mod idmap;
pub mod limits;
pub use idmap::{IdMaps, IdRange, SetGroups};
pub mod setns;
pub use setns::{join_pidfd, NsFile};
pub mod clone;
pub use clone::{clone3, CloneOptions, Forked};
