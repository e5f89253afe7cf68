//! `nsbox exec`: runc's exec (a new process in a container).
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Path to a process.json: the whole process to run.
    #[arg(short, long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Working directory inside the container.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Add NAME=VALUE to the environment (repeatable).
    #[arg(short, long, value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// UID[:GID] to run as.
    #[arg(short, long, value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// Supplementary group (repeatable).
    #[arg(short = 'g', long = "additional-gids", value_name = "GID")]
    pub additional_gids: Vec<u32>,
    /// Add a capability to every set (repeatable), e.g. CAP_NET_ADMIN.
    #[arg(short, long, value_name = "CAP")]
    pub cap: Vec<String>,
    /// Set no_new_privs.
    #[arg(long)]
    pub no_new_privs: bool,
    /// Give the process a pty (without --console-socket, nsbox proxies it).
    #[arg(short, long)]
    pub tty: bool,
    /// Unix socket to send the pty master to.
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Do not wait for the process.
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's pid to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Pass N extra descriptors (3..3+N) to the process.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// The container id.
    pub id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let user = match &args.user {
        None => None,
        Some(text) => Some(parse_user(text)?),
    };
    let opts = nsbox_runtime::exec::ExecOptions {
        root: crate::global::root()?,
        id: args.id,
        process: args.process,
        args: args.command,
        env: args.env,
        cwd: args.cwd,
        user,
        additional_gids: args.additional_gids,
        caps: args.cap,
        no_new_privs: args.no_new_privs,
        detach: args.detach,
        pid_file: args.pid_file,
        preserve_fds: args.preserve_fds,
        tty: args.tty,
        console_socket: args.console_socket,
    };
    Ok(nsbox_runtime::exec::exec(&opts)?)
}

/// `UID` or `UID:GID`, numeric (as runc).
fn parse_user(text: &str) -> anyhow::Result<(u32, Option<u32>)> {
    let bad = || anyhow::anyhow!("--user {text:?}: expected UID or UID:GID (numbers)");
    let (u, g) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = g.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}
