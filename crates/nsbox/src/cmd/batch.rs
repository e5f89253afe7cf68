//! `nsbox batch FILE`: many `link`, `addr`, `route` and `netns` commands
//! in one process, as `ip -batch FILE` runs ip's; each namespace's
//! netlink socket is opened once and kept. Also the dispatch of one such
//! command from the command line.

use std::io::Read;
use std::path::PathBuf;

use clap::Parser;

use super::addr::AddrCommand;
use super::ipargs::{self, usage, Netlink, Usage};
use super::link::LinkCommand;
use super::netns::NetnsCommand;
use super::route::RouteCommand;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Commands, one per line, each as after `nsbox` (`-n NS link set
    /// v0 up`, `netns add blue`); `#` starts a comment; `-` reads stdin.
    pub file: PathBuf,
    /// Go on after a failed line (ip's -force); exit 1 if any failed.
    #[arg(long)]
    pub force: bool,
}

/// The commands a batch runs (and `one` from the command line).
#[derive(clap::Subcommand, Debug)]
pub enum NetCommand {
    #[command(subcommand)]
    Link(LinkCommand),
    #[command(subcommand, alias = "address")]
    Addr(AddrCommand),
    #[command(subcommand)]
    Route(RouteCommand),
    #[command(subcommand)]
    Netns(NetnsCommand),
}

impl NetCommand {
    fn verb(&self) -> &'static str {
        match self {
            NetCommand::Link(c) => c.verb(),
            NetCommand::Addr(c) => c.verb(),
            NetCommand::Route(c) => c.verb(),
            NetCommand::Netns(c) => c.verb(),
        }
    }
}

/// One line of a batch: `[-n NS] link|addr|route|netns ...`.
#[derive(clap::Parser, Debug)]
#[command(name = "nsbox", no_binary_name = true)]
struct Line {
    #[arg(short = 'n', long = "netns", value_name = "NS")]
    netns: Option<String>,
    #[command(subcommand)]
    command: NetCommand,
}

/// Runs a `link`, `addr` or `route` command of the command line, in the
/// namespace of `-n NS` when given.
pub fn one(c: NetCommand) -> anyhow::Result<u8> {
    let mut nl = Netlink::new(crate::global::global().netns.clone());
    ipargs::run(c.verb(), || net(c, &mut nl))
}

/// One command through the sockets of `nl`.
fn net(c: NetCommand, nl: &mut Netlink) -> anyhow::Result<u8> {
    match c {
        NetCommand::Link(c) => super::link::run(c, nl),
        NetCommand::Addr(c) => super::addr::run(c, nl),
        NetCommand::Route(c) => super::route::run(c, nl),
        NetCommand::Netns(NetnsCommand::Exec { .. }) => usage("netns exec cannot run in a batch"),
        NetCommand::Netns(_) if nl.target.is_some() => {
            usage("-n/--netns applies to link, addr and route only")
        }
        NetCommand::Netns(c) => {
            let code = super::netns::run(c);
            // a name deleted or added may stand for another namespace now
            nl.forget();
            code
        }
    }
}

/// `nsbox batch FILE`: every line of the file, in order; stops at the first failure unless
/// `--force`. Messages name the line: `nsbox: batch: FILE:3: link add: ...`.
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let text = if args.file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(&args.file)
            .map_err(|e| anyhow::Error::new(e).context(format!("read {}", args.file.display())))?
    };
    let mut nl = Netlink::new(None);
    let mut failed = 0;
    for (n, line) in text.lines().enumerate() {
        let words: Vec<&str> = line
            .split('#')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        if words.is_empty() {
            continue;
        }
        let at = format!("batch: {}:{}", args.file.display(), n + 1);
        let code = match Line::try_parse_from(words) {
            Err(e) => {
                eprintln!("nsbox: {at}: {}", crate::report::usage_line(&e.to_string()));
                2
            }
            Ok(line) => {
                nl.target = line.netns;
                let verb = line.command.verb();
                match net(line.command, &mut nl) {
                    Ok(code) => code,
                    Err(e) if e.downcast_ref::<Usage>().is_some() => {
                        eprintln!("nsbox: {at}: {verb}: {e}");
                        2
                    }
                    Err(e) => {
                        crate::report::error(&format!("{at}: {verb}"), &e);
                        1
                    }
                }
            }
        };
        if code != 0 {
            if !args.force {
                return Ok(code);
            }
            failed = 1;
        }
    }
    Ok(failed)
}
