//! `nsbox-sandbox`: the person-facing layer between the `nsbox` command and
//! the OCI runtime. It turns a request (`nsbox run -- CMD` today; named
//! containers, their networks, the per-container /proc view and images
//! next) into an OCI bundle plus runtime calls, as any engine would, and
//! cleans up after it. The runtime never calls back: what nsbox needs of it
//! beyond OCI it asks through the annotations of
//! `nsbox_runtime::extensions`.
//!
//! - [`options`]: the request ([`RunOptions`], [`Net`]);
//! - [`limits`], [`flags`]: docker's resource and process flags, checked;
//! - [`spec`]: the OCI spec built from the request;
//! - [`bundle_dir`]: `ROOT/.bundles/ID`, made exclusively, written and removed;
//! - [`named`]: named containers: find, stop, remove;
//! - [`pasta`]: `--net pasta`, a user-mode network (also without root);
//! - [`detach`]: a detached container's stdio (`output.log`);
//! - [`run`](mod@run): the orchestration: bundle, runtime create/start/wait, clean up.

pub mod attached;
pub mod bundle_dir;
pub mod cni_net;
pub mod detach;
pub mod error;
pub mod flags;
pub mod limits;
pub mod named;
pub mod network;
pub mod options;
pub mod pasta;
pub mod proc_view;
pub mod run;
pub mod spec;

pub use error::Error;
pub use named::{remove, stop, Stopped};
pub use options::{Net, RunOptions};
pub use run::run;
