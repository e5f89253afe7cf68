//! Errors of `nsbox-seccomp`, each naming the profile element at fault.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown seccomp flag {0:?}")]
    UnknownFlag(String),

    #[error("unknown architecture {0:?}")]
    UnknownArch(String),

    #[error("errnoRet {0} is out of range (0..=4095)")]
    BadErrno(u32),

    #[error("syscall {name:?}: argument index {index} is out of range (0..=5)")]
    BadArgIndex { name: String, index: u32 },

    #[error("create filter")]
    Init(#[source] libseccomp::error::SeccompError),

    #[error("add architecture {arch}")]
    AddArch {
        arch: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },

    #[error("add rule for syscall {name:?}")]
    AddRule {
        name: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },

    #[error("set filter attribute {attr}")]
    Attr {
        attr: &'static str,
        #[source]
        source: libseccomp::error::SeccompError,
    },

    #[error("export BPF")]
    Export(#[source] io::Error),

    #[error("load seccomp filter")]
    Load(#[source] io::Error),
}
