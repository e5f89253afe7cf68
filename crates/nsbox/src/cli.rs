//! Top-level command line: global flags and the verb table.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cmd;

#[derive(Parser, Debug)]
#[command(
    name = "nsbox",
    version,
    about = "Linux namespaces, cgroups and containers in one program"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// runc's global flags, so container engines can call nsbox as they call
/// runc. As with runc they go before the verb (`nsbox --root R create ...`);
/// they are not clap-global, so verbs keep their own meanings for the same
/// words (`enter --root` is nsenter's).
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Directory for container state (runc: --root) [default: /run/nsbox;
    /// $XDG_RUNTIME_DIR/nsbox when not root].
    #[arg(long, value_name = "DIR", default_value_os_t = default_root(), hide_default_value = true)]
    pub root: PathBuf,
    /// Append log lines (errors; more with --debug) to FILE.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Format of --log lines: text, or json (one object per line: level, msg, time).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log debug lines too.
    #[arg(long)]
    pub debug: bool,
    /// Accepted for runc compatibility: cgroups are managed through cgroupfs;
    /// a systemd-style cgroupsPath (slice:prefix:name) is refused clearly.
    #[arg(long)]
    pub systemd_cgroup: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// runc's choice: root keeps state in /run; an unprivileged user (who
/// cannot write there) in their own runtime directory.
fn default_root() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !rustix::process::geteuid().is_root() && !dir.is_empty() => {
            PathBuf::from(dir).join("nsbox")
        }
        _ => PathBuf::from("/run/nsbox"),
    }
}

static GLOBAL: OnceLock<Global> = OnceLock::new();

/// The global flags of this invocation (set once by [`parse`]).
pub fn global() -> &'static Global {
    GLOBAL.get().expect("cli::parse ran")
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a program in new namespaces (what util-linux unshare does).
    Unshare(cmd::unshare::Args),
    /// Run a program in the namespaces of a process or of namespace files (nsenter).
    Enter(cmd::enter::Args),
    /// Inspect namespaces: ls, tree, diff, limits.
    #[command(subcommand)]
    Ns(cmd::ns::NsCommand),
    /// OCI: create a container from a bundle; its process waits for `start`.
    Create(cmd::create::Args),
    /// OCI: start a created container's process.
    Start(cmd::start::Args),
    /// OCI: print a container's state as JSON.
    State(cmd::state::Args),
    /// OCI: run a new process inside a container.
    Exec(cmd::exec::Args),
    /// OCI: send a signal to a container's process (default TERM).
    Kill(cmd::kill::Args),
    /// OCI: delete a container's state (and its process with --force).
    Delete(cmd::delete::Args),
    /// Run CMD isolated (`run -- CMD`), or an OCI bundle (`run ID`: create,
    /// start, wait); exit with its status.
    Run(cmd::run::Args),
    /// OCI: list a container's processes.
    Ps(cmd::ps::Args),
    /// OCI: list containers.
    List(cmd::list::Args),
    /// OCI: write a default config.json for a bundle.
    Spec(cmd::spec::Args),
    /// OCI: print what this runtime supports, as JSON.
    Features(cmd::features::Args),
    /// OCI: change a live container's resource limits.
    Update(cmd::update::Args),
    /// OCI: freeze every process of a container.
    Pause(cmd::pause::Args),
    /// OCI: thaw a paused container.
    Resume(cmd::resume::Args),
    /// OCI: a container's statistics and OOM kills, as JSON lines.
    Events(cmd::events::Args),
}

impl Command {
    /// The words that prefix this verb's error messages.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Unshare(_) => "unshare",
            Command::Enter(_) => "enter",
            Command::Ns(ns) => ns.verb(),
            Command::Create(a) => with_id("create", &a.id),
            Command::Start(a) => with_id("start", &a.id),
            Command::State(a) => with_id("state", &a.id),
            Command::Kill(a) => with_id("kill", &a.id),
            Command::Exec(a) => with_id("exec", &a.id),
            Command::Delete(a) => with_id("delete", &a.id),
            Command::Run(a) => String::leak(a.verb()),
            Command::Ps(a) => with_id("ps", &a.id),
            Command::List(_) => "list",
            Command::Spec(_) => "spec",
            Command::Features(_) => "features",
            Command::Update(a) => with_id("update", &a.id),
            Command::Pause(a) => with_id("pause", &a.id),
            Command::Resume(a) => with_id("resume", &a.id),
            Command::Events(a) => with_id("events", &a.id),
        }
    }
}

/// `create ID`: OCI verbs name the container in every message. The string
/// lives for the rest of this short process (it is printed once, at exit).
fn with_id(verb: &str, id: &str) -> &'static str {
    String::leak(format!("{verb} {id}"))
}

/// Parses the command line. Help and version go to stdout with exit 0; a
/// usage error is one line on stderr and exit code 2.
pub fn parse() -> Result<Cli, ExitCode> {
    let cli = Cli::try_parse().map_err(|err| {
        use clap::error::ErrorKind;
        match err.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = err.print();
                ExitCode::from(if err.use_stderr() { 2 } else { 0 })
            }
            _ => {
                crate::report::usage(&err.to_string());
                ExitCode::from(2)
            }
        }
    })?;
    let _ = GLOBAL.set(cli.global.clone());
    Ok(cli)
}
