//! `nsbox create`: runc's create.
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct Args {
    /// The bundle directory (holding config.json).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub container: ContainerFlags,
    /// The container id.
    pub id: String,
}

/// runc's flags for the container's process, the same for `create` and
/// for `run ID` (`exec`'s like-named flags are about the exec'd process).
#[derive(clap::Args, Debug, Clone, Default)]
#[group(skip)]
pub struct ContainerFlags {
    /// Write the container's pid to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Pass N extra descriptors (3..3+N) to the container's process.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Keep the caller's session keyring (else the container joins a new
    /// one named `_ses.<id>`, as under runc).
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Enter the rootfs by moving it onto / (MS_MOVE) and chroot instead of
    /// pivot_root (for a root on a ramfs/initramfs, where pivot_root fails).
    #[arg(long)]
    pub no_pivot: bool,
    /// Unix socket to send the pty master to (when process.terminal is true).
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
}

impl ContainerFlags {
    /// The first of these flags that is set, for "not with -- CMD".
    pub fn first_set(&self) -> Option<&'static str> {
        [
            (self.pid_file.is_some(), "--pid-file"),
            (self.console_socket.is_some(), "--console-socket"),
            (self.preserve_fds != 0, "--preserve-fds"),
            (self.no_new_keyring, "--no-new-keyring"),
            (self.no_pivot, "--no-pivot"),
        ]
        .into_iter()
        .find_map(|(set, flag)| set.then_some(flag))
    }

    /// The runtime's options for container `id` of `bundle`.
    pub fn options(&self, id: &str, bundle: &Path) -> anyhow::Result<nsbox_runtime::CreateOptions> {
        Ok(nsbox_runtime::CreateOptions {
            root: crate::global::root()?,
            id: id.to_string(),
            bundle: bundle.to_path_buf(),
            pid_file: self.pid_file.clone(),
            preserve_fds: self.preserve_fds,
            console_socket: self.console_socket.clone(),
            no_new_keyring: self.no_new_keyring,
            no_pivot: self.no_pivot,
            systemd_cgroup: crate::global::global().systemd_cgroup,
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let created = nsbox_runtime::create(&args.container.options(&args.id, &args.bundle)?)?;
    super::warn(&format!("create {}", args.id), created.warnings);
    Ok(0)
}
