//! `nsbox-cgroups`: Linux control groups on v1, v2 and hybrid hosts.
//!
//! - [`Host`] says which hierarchies exist and where they are mounted
//!   (`/proc/self/mountinfo`); [`ProcCgroups`] where a process sits in each
//!   (`/proc/PID/cgroup`).
//! - [`CgroupPath`] turns a cgroups path (or its absence) into a place:
//!   relative paths go beneath the caller's own cgroup in every hierarchy,
//!   except on a pure v2 host: beneath its parent, as runc does (the
//!   caller's cgroup holds the caller, and cgroup v2 lets no cgroup with
//!   processes hand controllers down).
//! - [`Cgroup`] is the handle, one enum over the v1, v2 and hybrid managers:
//!   create, apply [`Resources`], add processes, freeze, kill, stats, OOM
//!   events, remove. It writes only to directories it created, and on v2 to
//!   the `cgroup.subtree_control` of ancestors, all or nothing, never in
//!   one holding processes (`v2::delegate`).
//! - [`systemd`] is the systemd driver: the cgroup is a transient unit
//!   systemd makes (over D-Bus), then handled at its directories
//!   (`Cgroup::Systemd`).
//! - Each controller is one file behind [`controller::Controller`], in
//!   `v1/` and `v2/`.
//!
//! Everything that touches files takes its root directory, so unit tests run
//! on a tempdir; integration tests run on the real kernel.

pub mod controller;
pub mod error;
pub mod fs;
pub mod host;
pub mod hybrid;
pub mod manager;
pub mod oom;
pub mod path;
pub mod resources;
pub mod stats;
pub mod systemd;
pub mod tree;
pub mod v1;
pub mod v2;

pub use error::{Error, Result};
pub use host::{Hierarchy, Host, Mode, Mount, ProcCgroups};
pub use manager::Cgroup;
pub use oom::OomWatch;
pub use path::CgroupPath;
pub use resources::Resources;
pub use stats::Stats;
