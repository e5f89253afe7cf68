//! `nsbox-ns`: a typed API for Linux namespaces.
//!
//! - [`fdpass`]: socketpairs and `SCM_RIGHTS` descriptor passing;
//! - [`channel`]: a typed parent/child channel (serde, one datagram per message);
//! - [`NsKind`]: the eight kinds, their clone flags and `/proc/PID/ns` names;
//! - [`inspect`]: which namespace a pid or a file refers to ([`NsId`]);
//! - [`ioctl`]: `ioctl_ns(2)` queries (owner, parent, type, owner uid);
//! - [`idmap`]: uid/gid maps, written directly or through newuidmap;
//! - [`mountattr`]: `mount_setattr(2)`, idmapped copies of mount trees;
//! - [`mapped_userns`]: a user namespace that only carries id maps;
//! - [`setns`]: joining namespaces by file or pidfd ([`NsFile`]);
//! - [`clone`]: clone3 with namespace flags, pidfd, into a cgroup;
//! - [`limits`]: `/proc/sys/user/max_*_namespaces` and ENOSPC explained;
//! - [`unshare`]: run a command in new namespaces (util-linux unshare);
//! - [`enter`]: run a command in existing namespaces (util-linux nsenter);
//! - [`persist`]: keep a namespace alive on a file (bind mount of `/proc/PID/ns/X`);
//! - [`signal`]: signal names and numbers (`KILL`, `SIGTERM`, `RTMIN+3`, `9`);
//! - [`supervise`]: the one list of forwarded signals, waiting for a child
//!   while passing them on, reaping, exit status like the child's;
//! - [`pid1`]: the `--init` PID 1 (reaps orphans, forwards to the command);
//! - [`timens`]: clock offsets of a new time namespace;
//! - [`mountinfo`]: mountinfo lines split into fields, paths unescaped;
//! - [`procstat`]: `/proc/PID/stat` (ppid, state, threads, start time);
//! - [`mountns`]: propagation changes and proc mounts in a new mount namespace;
//! - [`catalog`]: the namespaces found, as plain data ([`Discovery`]);
//! - [`discover`](mod@discover), [`relation`], [`diff`]: every namespace on the machine and
//!   what holds it (processes, fds, sockets, nsfs mounts), their hierarchy,
//!   and what two processes share (`nsbox ns ls|tree|diff`).

pub mod channel;
pub mod error;
pub mod fdpass;
pub mod inspect;
pub mod ioctl;
pub mod kind;

pub mod clone;
pub mod idmap;
pub mod limits;
pub mod mapped_userns;
pub mod mountattr;
pub mod setns;
pub mod signal;
pub mod timens;

pub mod enter;
pub mod hangup;
pub mod mountinfo;
pub mod mountns;
pub mod persist;
pub mod pid1;
pub mod supervise;
pub mod unshare;

pub mod catalog;
pub mod diff;
pub mod discover;
pub mod passwd;
pub mod procstat;
pub mod relation;
pub mod sockns;
pub mod subid;

pub use catalog::{Discovery, Holder, KindSet, Namespace};
pub use clone::{clone3, CloneOptions, Forked};
pub use discover::discover;
pub use error::Error;
pub use idmap::{IdMaps, IdRange, SetGroups};
pub use inspect::{is_nsfs, namespaces_of_pid, ns_of_path, ns_of_pid, proc_ns_path, NsId};
pub use kind::{clone_flags, NsKind, UnknownKind};
pub use mountns::Propagation;
pub use persist::{PersistTarget, Persisted};
pub use setns::{join_pidfd, NsFile};
pub use supervise::ChildStatus;
pub use timens::{ClockOffset, TimeOffsets};
pub use unshare::UnshareOptions;
