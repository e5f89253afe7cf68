//! What a person asked for with `nsbox run -- CMD`.

use std::path::PathBuf;

use crate::limits::Limits;

/// `--net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Net {
    /// The host's network (the default).
    #[default]
    Host,
    /// A new network namespace with only `lo`, up.
    None,
}

/// What `nsbox run -- CMD` was asked for.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The state root (`--root`); generated bundles go to `ROOT/.bundles/`.
    pub root: PathBuf,
    pub command: Vec<String>,
    /// `--rootfs DIR` instead of the host's root (writable, as a bundle's).
    pub rootfs: Option<PathBuf>,
    pub net: Net,
    /// `--userns`: a user namespace, root inside mapped to the caller
    /// (implied when the caller is not root).
    pub userns: bool,
    /// Give the command a pty (when our stdin is a terminal).
    pub tty: bool,
    /// The environment passed to the command (the caller's, as unshare
    /// does, with `-e` applied: [`crate::flags::environment`]).
    pub env: Vec<String>,
    /// `-w DIR`: the working directory inside, made when missing (as
    /// runc); a DIR that cannot be made or entered is an error.
    pub cwd: Option<PathBuf>,
    /// The caller's working directory (`None` when it has none). Without
    /// `-w` and with the host's root the command starts there when it can
    /// enter it inside, else in `/`, as `docker run` starts in `/`.
    pub caller_cwd: Option<PathBuf>,
    /// `--init`: a small PID 1 runs the command as its child, so signals
    /// the command does not handle (Ctrl-C, TERM) still end it and orphans
    /// are reaped.
    pub init: bool,
    /// `--memory`, `--cpus`, `--pids-limit`, `--cpuset-cpus`.
    pub limits: Limits,
    /// `--hostname` (else the generated id).
    pub hostname: Option<String>,
}
