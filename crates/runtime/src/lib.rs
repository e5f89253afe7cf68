//! `nsbox-runtime`: an OCI runtime (what runc and crun do).
//!
//! - [`bundle`]: config.json parsed (oci-spec) and validated, errors naming the field;
//! - [`state`]: `ROOT/ID` state directories, atomic state.json, flock;
//!   [`liveness`]: whether a recorded pid is still ours, from the kernel;
//! - [`create`]: the parent's step list; [`init`]: the child's; [`protocol`]: what they say,
//!   in [`step`]s; [`single_thread`]: the proof each clone needs;
//! - [`plan`]: which namespaces the clone makes, which are joined, whether a second fork is forced;
//! - [`placement`]: where the container's cgroup is on the host (made before the clone,
//!   recorded in the state); [`limits`]: `linux.resources` as `nsbox_cgroups::Resources`;
//! - [`fifo`]: the exec fifo between `create` and `start`;
//! - [`start`], [`kill`], [`delete`], [`list`], [`run`], [`exec`], [`spec`], [`features`],
//!   [`update`], [`pause`], [`events`]: the other verbs;
//! - [`supervise`]: waiting for a child, forwarding signals to it, reaping;
//!   [`console`]: the container's pty; [`pty_proxy`]: nsbox as the terminal's holder;
//! - [`hooks`]: OCI hooks; [`log`]: runc's `--log`/`--log-format`;
//! - [`seccomp`]: `linux.seccomp` compiled in the parent; [`lsm`]: AppArmor/SELinux labels;
//! - [`extensions`]: nsbox's own annotations (the host's root, a PID 1, a cwd
//!   fallback) and the rule that only nsbox's generated bundles may ask for them.

pub mod bundle;
pub mod console;
pub mod create;
pub mod delete;
pub mod error;
pub mod events;
pub mod exec;
pub mod extensions;
pub mod features;
pub mod fifo;
pub mod hooks;
pub mod idmapped;
pub mod init;
pub mod kill;
pub mod limits;
pub mod list;
pub mod liveness;
pub mod log;
pub mod lsm;
pub mod netdevices;
pub mod pause;
pub mod placement;
pub mod plan;
pub mod protocol;
pub mod pty_proxy;
pub mod run;
pub mod seccomp;
pub mod single_thread;
pub mod spec;
pub mod start;
pub mod state;
pub mod step;
pub mod supervise;
pub mod update;

pub use create::{create, CreateOptions, Created};
pub use error::Error;
pub use oci_spec::runtime::ContainerState;

/// The lower-case word for a status (`created`, `running`, ...).
pub fn status_word(s: ContainerState) -> &'static str {
    match s {
        ContainerState::Creating => "creating",
        ContainerState::Created => "created",
        ContainerState::Running => "running",
        ContainerState::Stopped => "stopped",
    }
}
