//! `nsbox ns ls`: lsns's listing, plus namespaces that only a descriptor, a
//! bind mount or a relation keeps alive, and what holds them (HOLDER).

use std::str::FromStr;

use anyhow::Context;
use nsbox_ns::catalog::{Discovery, KindSet};
use nsbox_ns::discover;
use nsbox_ns::{relation, NsKind};

use super::describe::Describer;
use super::{OutputFlags, SourceFlags};
use crate::table::{Cell, Column, Table};

/// Columns, in lsns's order (`--output-all`), HOLDER last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    Ns,
    Type,
    Path,
    Nprocs,
    Pid,
    Ppid,
    Command,
    Uid,
    User,
    Nsfs,
    Pns,
    Ons,
    Holder,
}

impl Col {
    pub const ALL: [Col; 13] = [
        Col::Ns,
        Col::Type,
        Col::Path,
        Col::Nprocs,
        Col::Pid,
        Col::Ppid,
        Col::Command,
        Col::Uid,
        Col::User,
        Col::Nsfs,
        Col::Pns,
        Col::Ons,
        Col::Holder,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Col::Ns => "NS",
            Col::Type => "TYPE",
            Col::Path => "PATH",
            Col::Nprocs => "NPROCS",
            Col::Pid => "PID",
            Col::Ppid => "PPID",
            Col::Command => "COMMAND",
            Col::Uid => "UID",
            Col::User => "USER",
            Col::Nsfs => "NSFS",
            Col::Pns => "PNS",
            Col::Ons => "ONS",
            Col::Holder => "HOLDER",
        }
    }

    fn column(self) -> Column {
        match self {
            Col::Ns | Col::Nprocs | Col::Pid | Col::Ppid | Col::Uid | Col::Pns | Col::Ons => {
                Column::number(self.name())
            }
            Col::Command => Column::text(self.name()).truncated(),
            _ => Column::text(self.name()),
        }
    }
}

impl FromStr for Col {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Col::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown column: {s}"))
    }
}

/// An `--output` argument: a column list that replaces the current one, or
/// (with a leading `+`) extends it.
#[derive(Clone, Debug)]
pub struct ColumnList {
    pub append: bool,
    pub cols: Vec<Col>,
}

fn parse_columns(s: &str) -> Result<ColumnList, String> {
    let (append, list) = match s.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let cols = list
        .split(',')
        .filter(|c| !c.is_empty())
        .map(Col::from_str)
        .collect::<Result<Vec<_>, _>>()?;
    if cols.is_empty() {
        return Err("empty column list".into());
    }
    Ok(ColumnList { append, cols })
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Columns: NS TYPE PATH NPROCS PID PPID COMMAND UID USER NSFS PNS ONS HOLDER\n\
HOLDER names what keeps a namespace alive besides its processes: an open fd, a socket (network \
namespaces), an nsfs bind mount (in any mount namespace), a pid_for_children/time_for_children \
link, or being the owner/parent of another namespace (found only when PNS or ONS is shown).\n\
Rows are sorted by NS and never nested: for the hierarchy see `nsbox ns tree`."
)]
pub struct Args {
    /// Namespace type to list (mnt, net, ipc, user, pid, uts, cgroup, time); repeatable.
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    pub types: Vec<NsKind>,
    /// Print the namespaces of this process only.
    #[arg(
        short = 'p',
        long = "task",
        visible_alias = "pid",
        value_name = "PID",
        conflicts_with = "namespace"
    )]
    pub task: Option<u32>,
    /// Output columns, comma-separated; "+LIST" appends to the default ones.
    #[arg(short = 'o', long = "output", value_name = "LIST", value_parser = parse_columns)]
    pub output: Vec<ColumnList>,
    /// Output all columns.
    #[arg(long = "output-all")]
    pub output_all: bool,
    /// Use list format output (the only format; accepted for lsns compatibility).
    #[arg(short = 'l', long = "list")]
    pub list: bool,
    #[command(flatten)]
    pub sources: SourceFlags,
    #[command(flatten)]
    pub out: OutputFlags,
    /// List the processes in this namespace (by inode) instead.
    pub namespace: Option<u64>,
}

/// The columns to print: lsns's defaults, then `--output-all`/`-o` in order.
fn columns(args: &Args) -> Vec<Col> {
    let mut cols: Vec<Col> = if args.output_all {
        Col::ALL.to_vec()
    } else if args.namespace.is_some() {
        vec![Col::Pid, Col::Ppid, Col::User, Col::Command]
    } else {
        let mut v = vec![Col::Ns, Col::Type, Col::Nprocs, Col::Pid, Col::User];
        if args.types.contains(&NsKind::Net) {
            v.push(Col::Nsfs);
        }
        v.push(Col::Command);
        v
    };
    for list in &args.output {
        if !list.append {
            cols.clear();
        }
        cols.extend(list.cols.iter().copied());
    }
    cols
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let cols = columns(&args);
    let kinds: KindSet = if args.types.is_empty() {
        KindSet::ALL
    } else {
        args.types.iter().copied().collect()
    };
    let mut d = discover::discover(args.sources.options(kinds)).context("collect namespaces")?;
    if cols.iter().any(|c| matches!(c, Col::Pns | Col::Ons)) {
        relation::relate(&mut d);
    }

    // Rows: (namespace index, pid shown on the row).
    let rows: Vec<(usize, Option<u32>)> = if let Some(ino) = args.namespace {
        let i = d
            .position(ino)
            .filter(|&i| kinds.contains(d.namespaces[i].kind))
            .with_context(|| format!("namespace {ino} not found"))?;
        let kind = d.namespaces[i].kind;
        d.processes
            .iter()
            .filter(|p| p.ns_of(kind) == Some(ino))
            .map(|p| (i, Some(p.pid)))
            .collect()
    } else if let Some(pid) = args.task {
        // The scan saw the process; else ask directly (a thread id, or a
        // process that just appeared), which also says why it cannot be read.
        let mine: Vec<u64> = match d.process(pid) {
            Some(p) => p.ns.iter().copied().filter(|&i| i != 0).collect(),
            None => nsbox_ns::namespaces_of_pid(pid)?
                .into_iter()
                .map(|(_, id)| id.ino)
                .collect(),
        };
        (0..d.namespaces.len())
            .filter(|&i| {
                let n = &d.namespaces[i];
                kinds.contains(n.kind) && mine.contains(&n.id.ino)
            })
            .map(|i| (i, d.namespaces[i].pid))
            .collect()
    } else {
        (0..d.namespaces.len())
            .filter(|&i| kinds.contains(d.namespaces[i].kind))
            .map(|i| (i, d.namespaces[i].pid))
            .collect()
    };

    let mut table = Table::new("namespaces", cols.iter().map(|c| c.column()).collect());
    table.rows.reserve(rows.len());
    let mut desc = Describer::default();
    for (i, pid) in rows {
        let row = cols
            .iter()
            .map(|&c| cell(&d, &mut desc, c, i, pid))
            .collect();
        table.rows.push(row);
    }
    table.print(&args.out.style()).context("write output")?;
    Ok(0)
}

fn cell(d: &Discovery, desc: &mut Describer, col: Col, i: usize, pid: Option<u32>) -> Cell {
    let ns = &d.namespaces[i];
    match col {
        Col::Ns => Cell::Num(ns.id.ino),
        Col::Type => Cell::Text(ns.kind.proc_name().to_string()),
        Col::Path => match pid {
            Some(pid) => Cell::Text(format!("/proc/{pid}/ns/{}", ns.kind)),
            None => Cell::opt_text(relation::path_of(d, i).map(|p| p.display().to_string())),
        },
        Col::Nprocs => Cell::Num(u64::from(ns.nprocs)),
        Col::Pid => Cell::opt_num(pid.map(u64::from)),
        Col::Ppid => Cell::opt_num(pid.and_then(discover::ppid_of).map(u64::from)),
        Col::Command => Cell::opt_text(pid.and_then(|p| desc.command(p))),
        Col::Uid => Cell::opt_num(pid.and_then(|p| desc.uid(p)).map(u64::from)),
        Col::User => Cell::opt_text(pid.and_then(|p| desc.user(p))),
        Col::Nsfs => Cell::list(ns.nsfs_paths().map(|p| p.display().to_string()).collect()),
        // lsns prints 0 where there is no parent (or it lies outside our view).
        Col::Pns => Cell::Num(ns.parent.unwrap_or(0)),
        Col::Ons => Cell::Num(ns.owner.unwrap_or(0)),
        Col::Holder => Cell::list(desc.holders(d, i)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_lists_replace_or_append() {
        let l = parse_columns("ns,Type").unwrap();
        assert!(!l.append);
        assert_eq!(l.cols, vec![Col::Ns, Col::Type]);
        let l = parse_columns("+HOLDER").unwrap();
        assert!(l.append);
        assert_eq!(l.cols, vec![Col::Holder]);
        assert_eq!(parse_columns("NS,FOO").unwrap_err(), "unknown column: FOO");
        assert!(parse_columns("").is_err());
    }
}
