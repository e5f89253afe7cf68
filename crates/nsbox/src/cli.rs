//! Top-level command line: the verb table, parsing, and dispatch (one
//! match); the global flags are in [`crate::global`].

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::cmd;
use crate::global::Global;

#[derive(Parser, Debug)]
#[command(
    name = "nsbox",
    // "nsbox version X", as runc and crun print it: dockerd parses the line
    // (`docker info`'s runtime version; else a warning every 20 s).
    version = concat!("version ", env!("CARGO_PKG_VERSION")),
    about = "Linux namespaces, cgroups and containers in one program"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
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
    /// Named network namespaces, as `ip netns` keeps them: add, list, exec, pids, identify, delete.
    #[command(subcommand)]
    Netns(cmd::netns::NetnsCommand),
    /// The per-container /proc view (LXCFS's job): start, stop, status.
    #[command(subcommand)]
    ProcView(cmd::proc_view::ProcViewCommand),
    /// Container networks: `check NAME` (CNI's CHECK).
    #[command(subcommand)]
    Net(cmd::net::NetCommand),
    /// Stop named containers (`run -d --name`): SIGTERM, SIGKILL after -t seconds.
    Stop(cmd::stop::Args),
    /// Remove named containers (state and bundle); -f kills a running one first.
    Rm(cmd::rm::Args),
    /// Network devices, as `ip link`: add (veth, bridge), set, del, list.
    #[command(subcommand)]
    Link(cmd::link::LinkCommand),
    /// Addresses, as `ip addr`: add, del, list.
    #[command(subcommand, alias = "address")]
    Addr(cmd::addr::AddrCommand),
    /// Routes, as `ip route`: add, del, list.
    #[command(subcommand)]
    Route(cmd::route::RouteCommand),
    /// Run link, addr, route and netns commands from a file, one per line,
    /// in one process (what `ip -batch` does).
    Batch(cmd::batch::Args),
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
    Run(Box<cmd::run::Args>),
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
    /// Print the shell code that completes nsbox's verbs, flags, container
    /// names and network namespace names.
    Completion(cmd::completion::Args),
    /// Write the man pages (nsbox and each verb) into DIR.
    #[command(hide = true)]
    Man(cmd::man::Args),
}

impl Command {
    /// The words that prefix this verb's error messages.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Unshare(_) => "unshare",
            Command::Enter(_) => "enter",
            Command::Ns(ns) => ns.verb(),
            Command::Netns(c) => c.verb(),
            Command::Net(c) => c.verb(),
            Command::ProcView(c) => c.verb(),
            Command::Stop(_) => "stop",
            Command::Rm(_) => "rm",
            Command::Link(c) => c.verb(),
            Command::Addr(c) => c.verb(),
            Command::Route(c) => c.verb(),
            Command::Batch(_) => "batch",
            Command::Create(a) => with_id("create", &a.id),
            Command::Start(a) => with_id("start", &a.id),
            Command::State(a) => with_id("state", &a.id),
            Command::Kill(a) => with_id("kill", &a.id),
            Command::Exec(a) => with_id("exec", &a.id),
            Command::Delete(a) => with_id("delete", &a.id),
            Command::Run(a) => String::leak(a.verb()),
            Command::Ps(a) => a.id.as_deref().map_or("ps", |id| with_id("ps", id)),
            Command::List(_) => "list",
            Command::Spec(_) => "spec",
            Command::Features(_) => "features",
            Command::Update(a) => with_id("update", &a.id),
            Command::Pause(a) => with_id("pause", &a.id),
            Command::Resume(a) => with_id("resume", &a.id),
            Command::Events(a) => with_id("events", &a.id),
            Command::Completion(_) => "completion",
            Command::Man(_) => "man",
        }
    }
}

/// `create ID`: OCI verbs name the container in every message. The string
/// lives for the rest of this short process (it is printed once, at exit).
fn with_id(verb: &str, id: &str) -> &'static str {
    String::leak(format!("{verb} {id}"))
}

/// The command line as clap knows it, with what the derive cannot say:
/// each verb's examples (after its options in `--help`) and the dynamic
/// completers of container and network namespace names. The man pages and
/// the completion scripts are generated from this same value.
pub fn command() -> clap::Command {
    let cmd = crate::complete::attach(Cli::command());
    attach_examples(cmd)
}

/// Appends each verb's examples ([`crate::examples`]) to its long help,
/// after the notes it already has.
fn attach_examples(mut cmd: clap::Command) -> clap::Command {
    for (path, examples) in crate::examples::EXAMPLES {
        let words: Vec<&str> = path.split_whitespace().collect();
        cmd = crate::verbs::with_subcommand(cmd, &words, &|c| {
            let examples = crate::examples::help_text(examples);
            let text = match c.get_after_help() {
                Some(notes) => format!("{notes}\n\n{examples}"),
                None => examples,
            };
            c.after_long_help(text)
        });
    }
    cmd
}

/// Parses the command line. Help and version go to stdout with exit 0; a
/// usage error is one line on stderr and exit code 2.
pub fn parse() -> Result<Cli, ExitCode> {
    // `--version` says more than the first line (runc's layout); `-V` only that.
    let long_version: &'static str = String::leak(crate::version::long());
    let matches = command().long_version(long_version).try_get_matches();
    let cli = matches
        .and_then(|m| Cli::from_arg_matches(&m))
        .map_err(|err| {
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
    crate::global::set(cli.global.clone());
    Ok(cli)
}

/// Runs one verb. `Ok(code)` is the exit code to return (the command's own,
/// for verbs that run one).
pub fn dispatch(command: Command) -> anyhow::Result<u8> {
    if crate::global::global().netns.is_some()
        && !matches!(
            command,
            Command::Link(_) | Command::Addr(_) | Command::Route(_)
        )
    {
        anyhow::bail!("-n/--netns applies to link, addr and route only");
    }
    match command {
        Command::Unshare(args) => cmd::unshare::run(args),
        Command::Enter(args) => cmd::enter::run(args),
        Command::Ns(ns) => cmd::ns::run(ns),
        Command::Netns(c) => cmd::netns::run(c),
        Command::Net(c) => cmd::net::run(c),
        Command::ProcView(c) => cmd::proc_view::run(c),
        Command::Stop(args) => cmd::stop::run(args),
        Command::Rm(args) => cmd::rm::run(args),
        Command::Link(c) => cmd::batch::one(cmd::batch::NetCommand::Link(c)),
        Command::Addr(c) => cmd::batch::one(cmd::batch::NetCommand::Addr(c)),
        Command::Route(c) => cmd::batch::one(cmd::batch::NetCommand::Route(c)),
        Command::Batch(args) => cmd::batch::run(&args),
        Command::Create(args) => cmd::logged(|| cmd::create::run(args)),
        Command::Start(args) => cmd::logged(|| cmd::start::run(args)),
        Command::State(args) => cmd::logged(|| cmd::state::run(args)),
        Command::Kill(args) => cmd::logged(|| cmd::kill::run(args)),
        Command::Exec(args) => cmd::logged(|| cmd::exec::run(args)),
        Command::Delete(args) => cmd::logged(|| cmd::delete::run(args)),
        Command::Run(args) => cmd::logged(|| cmd::run::run(*args)),
        Command::Ps(args) => cmd::logged(|| cmd::ps::run(args)),
        Command::List(args) => cmd::logged(|| cmd::list::run(args)),
        Command::Spec(args) => cmd::logged(|| cmd::spec::run(args)),
        Command::Features(args) => cmd::logged(|| cmd::features::run(args)),
        Command::Update(args) => cmd::logged(|| cmd::update::run(args)),
        Command::Pause(args) => cmd::logged(|| cmd::pause::run(args)),
        Command::Resume(args) => cmd::logged(|| cmd::resume::run(args)),
        Command::Events(args) => cmd::logged(|| cmd::events::run(args)),
        Command::Completion(args) => cmd::completion::run(args),
        Command::Man(args) => cmd::man::run(args, self::command()),
    }
}
