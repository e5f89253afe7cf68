//! `nsbox-seccomp`: seccomp profiles with their OCI meaning.
//!
//! The profile ([`Profile`], plain data) is compiled by libseccomp into BPF
//! in the parent ([`compile`], or [`Cache::get_or_compile`]); the container
//! process installs it with one seccomp(2) call ([`load`]) as the last step
//! before execve. [`arch_supported`] and [`kernel_flags`] say what this
//! host's libseccomp and kernel can do (the runtime's `features`); the
//! runtime itself never links libseccomp.

mod cache;
mod compile;
mod default_profile;
mod error;
mod load;
mod probe;
mod profile;

pub use cache::Cache;
pub use compile::{compile, Program};
pub use default_profile::default_profile;
pub use error::Error;
pub use load::load;
pub use probe::{arch_supported, kernel_flags, FILTER_FLAGS};
pub use profile::{Action, ArgCondition, CompareOp, LoadFlags, Profile, Rule};
