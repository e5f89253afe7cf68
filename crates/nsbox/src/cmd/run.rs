//! `nsbox run`: runc's run (create + start + wait) of a bundle, or, with a
//! command after `--`, the friendly run: the command isolated in new
//! namespaces, no bundle needed.
use std::path::PathBuf;

use nsbox_runtime::friendly::{FriendlyOptions, Net};
use nsbox_runtime::friendly_flags as flags;

#[derive(clap::Args, Debug)]
#[command(
    override_usage = "nsbox run [OPTIONS] <ID>\n       nsbox run [--rootfs DIR] [--net none|host] [--userns] [--init] [--memory SIZE] [--cpus N]\n                 [--pids-limit N] [--cpuset-cpus LIST] [-e KEY=VALUE]... [-w DIR] [--hostname NAME]\n                 -- <CMD> [ARGS]..."
)]
pub struct Args {
    /// Do not wait: leave the container running.
    #[arg(short, long)]
    pub detach: bool,
    /// The bundle directory (holding config.json).
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
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
    /// With `-- CMD`: run this root file system instead of the host's
    /// (read-only) root.
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<PathBuf>,
    /// With `-- CMD`: `host` shares the host's network (the default),
    /// `none` gives a network namespace with only lo.
    #[arg(long, value_enum, value_name = "none|host")]
    pub net: Option<NetArg>,
    /// With `-- CMD`: a user namespace too, its root mapped to the caller
    /// (implied when not run as root).
    #[arg(long)]
    pub userns: bool,
    /// With `-- CMD`: a small PID 1 runs CMD as its child, reaping orphans
    /// and passing signals on (CMD as PID 1 ignores those it has no handler
    /// for, Ctrl-C included).
    #[arg(long)]
    pub init: bool,
    /// With `-- CMD`: memory limit (bytes, or 64m, 1g; at least 6m).
    #[arg(short, long, value_name = "SIZE", value_parser = flags::parse_memory)]
    pub memory: Option<i64>,
    /// With `-- CMD`: CPU time in cores (0.5: half a core; quota per 100 ms).
    #[arg(long, value_name = "N", value_parser = flags::parse_cpus)]
    pub cpus: Option<i64>,
    /// With `-- CMD`: at most N processes and threads (0 or -1: no limit).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = flags::parse_pids)]
    pub pids_limit: Option<i64>,
    /// With `-- CMD`: the CPUs it may run on (0-3, 0,2).
    #[arg(long, value_name = "LIST", value_parser = flags::parse_cpuset)]
    pub cpuset_cpus: Option<String>,
    /// With `-- CMD`: set KEY to VALUE in its environment (repeatable);
    /// KEY alone passes the caller's value, or removes KEY when unset.
    #[arg(short, long, value_name = "KEY=VALUE", value_parser = flags::parse_env)]
    pub env: Vec<String>,
    /// With `-- CMD`: its working directory (absolute; made when missing).
    #[arg(short = 'w', long, value_name = "DIR", value_parser = flags::parse_cwd)]
    pub cwd: Option<PathBuf>,
    /// With `-- CMD`: its hostname (else the generated container id).
    #[arg(long, value_name = "NAME", value_parser = flags::parse_hostname)]
    pub hostname: Option<String>,
    /// The container id (runc's run of a bundle).
    pub id: Option<String>,
    /// The command to run isolated (after `--`), without a bundle.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum NetArg {
    None,
    Host,
}

impl Args {
    /// The words that prefix error messages: `run ID`, or `run CMD`.
    pub fn verb(&self) -> String {
        match (&self.id, self.command.first()) {
            (Some(id), _) => format!("run {id}"),
            (None, Some(cmd)) => format!("run {cmd}"),
            (None, None) => "run".into(),
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    if !args.command.is_empty() {
        return friendly(args);
    }
    for (set, flag) in [
        (args.rootfs.is_some(), "--rootfs"),
        (args.net.is_some(), "--net"),
        (args.userns, "--userns"),
        (args.init, "--init"),
        (args.memory.is_some(), "--memory"),
        (args.cpus.is_some(), "--cpus"),
        (args.pids_limit.is_some(), "--pids-limit"),
        (args.cpuset_cpus.is_some(), "--cpuset-cpus"),
        (!args.env.is_empty(), "--env"),
        (args.cwd.is_some(), "--cwd"),
        (args.hostname.is_some(), "--hostname"),
    ] {
        if set {
            return usage(&format!("{flag} needs a command after --"));
        }
    }
    let Some(id) = args.id.clone() else {
        return usage("run needs a container id (with a bundle), or -- CMD [ARGS]...");
    };
    let create = super::create::Args {
        bundle: args.bundle.unwrap_or_else(|| PathBuf::from(".")),
        pid_file: args.pid_file,
        preserve_fds: args.preserve_fds,
        no_new_keyring: args.no_new_keyring,
        no_pivot: args.no_pivot,
        console_socket: args.console_socket,
        id,
    };
    let outcome = nsbox_runtime::run::run(&create.options(), args.detach)?;
    super::warn(&format!("run {}", create.id), outcome.warnings);
    Ok(outcome.code)
}

/// `nsbox run [--rootfs DIR] [--net none|host] [--userns] [limits] [-e, -w, --hostname] -- CMD ARGS...`
fn friendly(args: Args) -> anyhow::Result<u8> {
    for (set, flag) in [
        (args.id.is_some(), "a container id"),
        (args.bundle.is_some(), "--bundle"),
        (args.detach, "--detach"),
        (args.pid_file.is_some(), "--pid-file"),
        (args.console_socket.is_some(), "--console-socket"),
        (args.preserve_fds != 0, "--preserve-fds"),
        (args.no_new_keyring, "--no-new-keyring"),
        (args.no_pivot, "--no-pivot"),
    ] {
        if set {
            return usage(&format!(
                "{flag} is for a bundle's container, not with -- CMD"
            ));
        }
    }
    let tty = rustix::termios::isatty(rustix::stdio::stdin());
    let cwd = match (&args.cwd, &args.rootfs) {
        (Some(dir), _) => dir.clone(),
        (None, Some(_)) => PathBuf::from("/"),
        (None, None) => std::env::current_dir()
            .map(|d| nsbox_runtime::friendly::inherited_cwd(&d))
            .unwrap_or_else(|_| PathBuf::from("/")),
    };
    let mut env: Vec<String> = std::env::vars_os()
        .filter_map(|(k, v)| {
            Some(format!(
                "{}={}",
                k.into_string().ok()?,
                v.into_string().ok()?
            ))
        })
        .collect();
    flags::apply_env(&mut env, &args.env, |k| std::env::var(k).ok());
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.push(format!(
            "PATH={}",
            nsbox_runtime::init::process::DEFAULT_PATH
        ));
    }
    let opts = FriendlyOptions {
        root: crate::cli::global().root.clone(),
        command: args.command,
        rootfs: args.rootfs,
        net: match args.net {
            Some(NetArg::None) => Net::None,
            Some(NetArg::Host) | None => Net::Host,
        },
        userns: args.userns,
        init: args.init,
        tty,
        env,
        cwd,
        limits: flags::Limits {
            memory: args.memory,
            cpu_quota: args.cpus,
            pids: flags::pids_limit(args.pids_limit),
            cpuset_cpus: args.cpuset_cpus,
        },
        hostname: args.hostname,
    };
    let outcome = nsbox_runtime::friendly::run(&opts)?;
    super::warn("run", outcome.warnings);
    Ok(outcome.code)
}

/// A usage error: one line, exit 2 (as clap's).
fn usage(msg: &str) -> anyhow::Result<u8> {
    crate::report::usage(msg);
    Ok(2)
}
