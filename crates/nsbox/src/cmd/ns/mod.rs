//! `nsbox ns ...`: looking at namespaces (lsns and more). One file per verb.

mod describe;
pub mod diff;
pub mod limits;
pub mod ls;
pub mod tree;

use crate::table::Style;

#[derive(clap::Subcommand, Debug)]
pub enum NsCommand {
    /// List namespaces (what lsns does), including those no process is in.
    Ls(ls::Args),
    /// Show the namespace hierarchy: user namespaces, what each owns, PID nesting.
    Tree(tree::Args),
    /// Compare the namespaces, root directory and cgroup of two processes.
    Diff(diff::Args),
    /// Show each max_*_namespaces limit beside how many namespaces exist.
    Limits(limits::Args),
}

impl NsCommand {
    pub fn verb(&self) -> &'static str {
        match self {
            NsCommand::Ls(_) => "ns ls",
            NsCommand::Tree(_) => "ns tree",
            NsCommand::Diff(_) => "ns diff",
            NsCommand::Limits(_) => "ns limits",
        }
    }
}

pub fn run(c: NsCommand) -> anyhow::Result<u8> {
    match c {
        NsCommand::Ls(a) => ls::run(a),
        NsCommand::Tree(a) => tree::run(a),
        NsCommand::Diff(a) => diff::run(a),
        NsCommand::Limits(a) => limits::run(a),
    }
}

/// Where to look for namespaces, shared by the verbs that collect them.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct SourceFlags {
    /// Also find nsfs bind mounts in other processes' mount namespaces
    /// (reads each one's mountinfo; by default only ours is read).
    #[arg(short = 'm', long = "all-mounts")]
    pub all_mounts: bool,
}

impl SourceFlags {
    pub fn options(&self, kinds: nsbox_ns::KindSet) -> nsbox_ns::discover::Options {
        nsbox_ns::discover::Options {
            kinds,
            holders: true,
            foreign_mounts: self.all_mounts,
        }
    }
}

/// Output flags shared by the table-printing verbs (util-linux's letters).
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct OutputFlags {
    /// Use JSON output format.
    #[arg(short = 'J', long = "json", conflicts_with = "raw")]
    pub json: bool,
    /// Use the raw output format (one space between cells, unsafe bytes as \xHH).
    #[arg(short = 'r', long = "raw")]
    pub raw: bool,
    /// Don't print headings.
    #[arg(short = 'n', long = "noheadings")]
    pub noheadings: bool,
    /// Don't truncate text in columns (only done when stdout is a terminal).
    #[arg(short = 'u', long = "notruncate")]
    pub notruncate: bool,
    /// Don't use multi-line cells: join several values with commas.
    #[arg(short = 'W', long = "nowrap")]
    pub nowrap: bool,
}

impl OutputFlags {
    pub fn style(&self) -> Style {
        Style::from_flags(
            self.json,
            self.raw,
            self.noheadings,
            self.nowrap,
            self.notruncate,
        )
    }
}
