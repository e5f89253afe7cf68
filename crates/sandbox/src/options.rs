//! What a person asked for with `nsbox run -- CMD`.

use std::path::PathBuf;

use crate::limits::Limits;

/// `--net`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Net {
    /// The host's network (the default).
    #[default]
    Host,
    /// A new network namespace with only `lo`, up.
    None,
    /// `container:NAME`: the network namespace of the running container
    /// NAME, and only that one (Docker's `--net=container:NAME`).
    Container(String),
    /// `ns:PATH`: a network namespace file (`/run/netns/X`,
    /// `/proc/PID/ns/net`).
    Path(PathBuf),
    /// `bridge`: a namespace of its own on a bridge network of the host
    /// (an address, a default route, masquerading; the other containers
    /// on it by name).
    Bridge(crate::network::BridgeNet),
    /// `cni:NAME`: a namespace of its own, set up by the plugins of the
    /// CNI network configuration NAME.
    Cni(crate::cni_net::CniNet),
    /// `pasta`: a namespace of its own with a user-mode network (pasta),
    /// also without root; the default of a named container without root.
    Pasta(crate::pasta::PastaNet),
}

impl Net {
    /// `--net`'s words: `host`, `none`, `container:NAME`, `ns:PATH` (a
    /// relative PATH is taken from the caller's directory).
    pub fn parse(text: &str) -> Result<Net, String> {
        match text {
            "host" => Ok(Net::Host),
            "none" => Ok(Net::None),
            "bridge" => Ok(Net::Bridge(Default::default())),
            "pasta" => Ok(Net::Pasta(Default::default())),
            _ => {
                if let Some(name) = text.strip_prefix("container:") {
                    if name.is_empty() {
                        return Err("container: needs a container name".into());
                    }
                    Ok(Net::Container(name.to_owned()))
                } else if let Some(name) = text.strip_prefix("cni:") {
                    if name.is_empty() {
                        return Err("cni: needs a network name".into());
                    }
                    Ok(Net::Cni(crate::cni_net::CniNet::named(name)))
                } else if let Some(path) = text.strip_prefix("ns:") {
                    if path.is_empty() {
                        return Err("ns: needs a namespace file".into());
                    }
                    std::path::absolute(path)
                        .map(Net::Path)
                        .map_err(|e| format!("ns:{path}: {e}"))
                } else {
                    Err(format!(
                        "unknown network {text:?} (host, none, bridge, pasta, cni:NAME, container:NAME or ns:PATH)"
                    ))
                }
            }
        }
    }
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
    /// `--hostname` (else the container's name or generated id).
    pub hostname: Option<String>,
    /// `--name`: the container's name (its id), so that other commands
    /// can find it (`stop`, `rm`, `--net container:NAME`, `enter -t`).
    pub name: Option<String>,
    /// `-d`: leave it running; its output goes to `output.log` in its
    /// bundle directory, and `nsbox rm` removes it.
    pub detach: bool,
    /// The per-container /proc view bound over its /proc files (see
    /// [`crate::proc_view::View`]); `None` (`--no-proc-view`, and the
    /// default here): none.
    pub proc_view: Option<crate::proc_view::View>,
}
