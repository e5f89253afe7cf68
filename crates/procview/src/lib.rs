//! `nsbox-procview`: a per-container `/proc` view over FUSE (LXCFS's job).
//!
//! Each read is answered for the cgroup of the process that reads (the FUSE
//! request's pid → its cgroups through nsbox-cgroups' `Host`), in LXCFS's
//! layout beneath the mount point: `proc/meminfo`, `proc/cpuinfo`,
//! `proc/stat`, `proc/uptime`, `sys/devices/system/cpu/online`.
//!
//! - [`render`]: pure functions from the host's file text and the cgroup's
//!   numbers to the file (unit-tested on fixed text).
//! - [`gather`]: those numbers for one process, from its cgroup files (v1,
//!   v2 or hybrid).
//! - [`load`]: load averages of the cgroups read, sampled every 5 s.
//! - [`view`]: the files, and one built for one reader (the host's file on
//!   any error).
//! - [`tree`], [`filesystem`]: the FUSE side.
//! - [`server`]: mount and serve; state, status, stop.

pub mod error;
pub mod filesystem;
pub mod gather;
pub mod load;
pub mod render;
pub mod server;
pub mod tree;
pub mod view;

pub use error::{Error, Result};
pub use server::{State, DEFAULT_MOUNT_POINT};
pub use view::{File, Source};
