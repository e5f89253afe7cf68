//! `nsbox-procview`: a per-container `/proc` view over FUSE (LXCFS's job).
//!
//! Each read is answered for the cgroup of the process that reads (the FUSE
//! request's pid → its cgroups through nsbox-cgroups' `Host`), in LXCFS's
//! layout beneath the mount point: `proc/meminfo`, `proc/cpuinfo`,
//! `proc/stat`, `proc/uptime`, `sys/devices/system/cpu/online` and more.
//!
//! - [`render`]: pure functions from the host's file text and the cgroup's
//!   numbers to the file (unit-tested on fixed text).
//! - [`gather`]: those numbers for one process, from its cgroup files (v1,
//!   v2 or hybrid).
//! - [`load`]: load averages of the cgroups read, sampled every 5 s.
//! - [`view`]: the files, and one built for one reader (the host's file on
//!   any error).
//! - [`tree`], [`filesystem`]: the files as FUSE inodes and the answers to
//!   requests; [`abi`]: the FUSE wire format; [`session`]: request loops.
//! - [`device`]: `/dev/fuse`: open, mount, clone.
//! - [`holder`]: the process that keeps the connection across servers;
//!   [`server`]: one server's life; [`state`]: their state files;
//!   [`control`]: start, ensure, stop and status from outside.

pub mod abi;
pub mod cache;
pub mod control;
pub mod device;
pub mod error;
pub mod filesystem;
pub mod gather;
pub mod holder;
pub mod load;
pub mod render;
pub mod server;
pub mod session;
pub mod state;
pub mod text;
pub mod tree;
pub mod view;

pub use error::{Error, Result};
pub use holder::Program;
pub use state::State;
pub use view::{File, Source};

/// Where `nsbox proc-view start` mounts the view unless told otherwise.
pub const DEFAULT_MOUNT_POINT: &str = "/var/lib/nsbox/proc-view";
