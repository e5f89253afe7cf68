//! What can go wrong between a person's request and the runtime: one
//! variant per step of the run, the cause as `#[source]`.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--rootfs DIR`: DIR is not a directory we can use.
    #[error("--rootfs {path}")]
    Rootfs {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The generated spec did not build (a bug, not input).
    #[error("build the container's spec")]
    BuildSpec {
        #[source]
        source: oci_spec::OciSpecError,
    },

    /// The /proc view's state could not be read (`nsbox proc-view`).
    #[error("find the proc view")]
    ProcView(#[source] Box<nsbox_procview::Error>),

    /// A path nsbox must write into the spec is not UTF-8.
    #[error("{path}: not UTF-8")]
    NotUtf8 { path: PathBuf },

    /// The bundle directory (or its empty rootfs) could not be made.
    #[error("create {path}")]
    CreateBundle {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The generated config.json could not be written.
    #[error("write {path}")]
    WriteConfig {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// `--net bridge` or `cni:NAME` without root: both make links, addresses
    /// and firewall rules in the host's network namespace.
    #[error(
        "--net {net} needs root (it makes links, addresses and firewall rules in the host's \
         network); without root use --net pasta (a network of its own, with -p; the default \
         for a named container), host, none, container:NAME or ns:PATH"
    )]
    NetNeedsRoot { net: &'static str },

    /// `--net pasta`: no `pasta` in PATH.
    #[error("--net pasta needs pasta in PATH (Debian package passt)")]
    PastaMissing,

    /// `--net pasta`: pasta could not be started (or its log made).
    #[error("start {program}")]
    PastaSpawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },

    /// `--net pasta`: pasta refused (a port it cannot bind, no tap device
    /// it may open); what it said.
    #[error("pasta: {said} ({status})")]
    PastaFailed {
        status: std::process::ExitStatus,
        said: String,
    },

    /// `--net pasta`: pasta did not end after SIGKILL.
    #[error("pasta (pid {pid}) did not exit after SIGKILL")]
    PastaStop { pid: u32 },

    /// `--net pasta`: a file of pasta's in the bundle could not be removed.
    #[error("remove {path}")]
    PastaCleanup {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A network of the container's own is given its own /etc/hosts,
    /// hostname and resolv.conf by bind mounts, which need the file to be
    /// there in the host's root (read-only to the container).
    #[error(
        "the host has no {path} for the container's own to be bound onto (the host's root is \
         read-only to the container): create it (an empty file will do), or give --rootfs DIR"
    )]
    NoEtcFile { path: &'static str },

    /// `--name`: not a name nsbox can use as a container id.
    #[error("invalid container name {name:?}: {why}")]
    BadName { name: String, why: &'static str },

    /// `--name`: a container (or its leftover bundle) has the name.
    #[error("the name {name:?} is taken (nsbox rm {name} frees it)")]
    NameTaken { name: String },

    #[error("no container named {name:?}")]
    NoSuchContainer { name: String },

    #[error("container {name:?} is not running")]
    NotRunning { name: String },

    #[error("container {name:?} is running (stop it first, or rm -f)")]
    StillRunning { name: String },

    #[error("container {name:?} did not stop after SIGKILL")]
    WontStop { name: String },

    /// `--net bridge`: a step of putting the container on the network, or
    /// of taking it off.
    #[error("network: {what}")]
    Network {
        what: &'static str,
        #[source]
        source: Box<nsbox_net::Error>,
    },

    #[error("container {id:?} is not on a CNI network")]
    NoCniNetwork { id: String },

    #[error("-p {port}: the host port is already published by {by}")]
    PortTaken { port: String, by: String },

    #[error("bridge {bridge} has subnet {had}, not {asked} (remove its containers to change it)")]
    SubnetMismatch {
        bridge: String,
        had: String,
        asked: String,
    },

    /// `-d`: the container's output file.
    #[error("open {path} for the container's output")]
    Output {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The runtime's create, start, wait or delete of the container
    /// (boxed: the runtime's error is large and this path is cold).
    #[error("container {id}")]
    Container {
        id: String,
        #[source]
        source: Box<nsbox_runtime::Error>,
    },
}

impl Error {
    /// A command that could not be started: the exit code sh, Docker and
    /// podman give (127 when it does not exist, nor in PATH; 126 when it
    /// exists but cannot be executed) and the runtime's error, without the
    /// generated container id (noise for the person's own command). Any
    /// other error comes back as it was.
    pub fn into_exec_failure(self) -> Result<(u8, nsbox_runtime::Error), Error> {
        let code = match &self {
            Error::Container { source, .. } => match source.exec_failure() {
                Some(cause) if cause.kind() == io::ErrorKind::NotFound => 127,
                Some(_) => 126,
                None => return Err(self),
            },
            _ => return Err(self),
        };
        match self {
            Error::Container { source, .. } => Ok((code, *source)),
            other => Err(other),
        }
    }
}

/// An oci-spec builder's result, its error as [`Error::BuildSpec`].
pub(crate) fn build<T>(r: Result<T, oci_spec::OciSpecError>) -> Result<T, Error> {
    r.map_err(|source| Error::BuildSpec { source })
}

/// The error of network step `what` (`map_err(failed("add the veth"))`).
pub(crate) fn failed(what: &'static str) -> impl Fn(nsbox_net::Error) -> Error {
    move |source| Error::Network {
        what,
        source: Box::new(source),
    }
}
