//! Top-level command line: global flags and the verb table.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cmd;

#[derive(Parser, Debug)]
#[command(
    name = "nsbox",
    version,
    about = "Linux namespaces, cgroups and containers in one program"
)]
pub struct Cli {
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
}

impl Command {
    /// The words that prefix this verb's error messages.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Unshare(_) => "unshare",
            Command::Enter(_) => "enter",
            Command::Ns(ns) => ns.verb(),
        }
    }
}

/// Parses the command line. Help and version go to stdout with exit 0; a
/// usage error is one line on stderr and exit code 2.
pub fn parse() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|err| {
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
    })
}
