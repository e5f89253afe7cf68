//! `nsbox ns diff PID1 PID2`: which namespaces, root directory and cgroup two
//! processes share; a running container's name stands for its init.

use anyhow::Context;
use nsbox_ns::diff::{self, Aspect, DirId, NsDiff};
use serde_json::{json, Value};

use super::OutputFlags;
use crate::table::{Cell, Column, Table};
use crate::target::Target;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A pid, or the name of a running container.
    #[arg(value_name = "PID1|NAME1", value_parser = Target::parse)]
    pub pid1: Target,
    #[arg(value_name = "PID2|NAME2", value_parser = Target::parse)]
    pub pid2: Target,
    /// Print nothing; exit 1 when anything differs (like diff -q / cmp -s).
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    #[command(flatten)]
    pub out: OutputFlags,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let d = diff::diff(args.pid1.pid()?, args.pid2.pid()?)?;
    if args.quiet {
        return Ok(if d.all_same() { 0 } else { 1 });
    }
    if args.out.json {
        let text = serde_json::to_string_pretty(&to_json(&d)).context("encode JSON")?;
        println!("{text}");
        return Ok(0);
    }
    let mut t = Table::new(
        "diff",
        vec![
            Column::text("WHAT"),
            Column::text("SAME"),
            Column::text(&args.pid1.to_string()),
            Column::text(&args.pid2.to_string()),
        ],
    );
    for (kind, a) in &d.namespaces {
        t.rows.push(vec![
            Cell::Text(kind.proc_name().to_string()),
            same(a.same()),
            Cell::opt_num(a.first),
            Cell::opt_num(a.second),
        ]);
    }
    let dir = |r: Option<DirId>| Cell::opt_text(r.map(|r| dir_text(&r)));
    t.rows.push(vec![
        Cell::Text("root".into()),
        same(d.root.same()),
        dir(d.root.first),
        dir(d.root.second),
    ]);
    let (c1, c2) = cgroup_cells(&d.cgroup);
    t.rows.push(vec![
        Cell::Text("cgroup-paths".into()),
        same(d.cgroup.same()),
        c1,
        c2,
    ]);
    t.print(&args.out.style()).context("write output")?;
    Ok(0)
}

fn same(s: bool) -> Cell {
    Cell::Text(if s { "yes" } else { "no" }.into())
}

/// `8:2/1234`: device major:minor and inode of the root directory.
fn dir_text(r: &DirId) -> String {
    format!(
        "{}:{}/{}",
        rustix::fs::major(r.dev),
        rustix::fs::minor(r.dev),
        r.ino
    )
}

/// The cgroup lines worth showing: all of them when they differ only in
/// some hierarchies, the differing lines; when equal, the unified (`0::`)
/// line, or the first.
fn cgroup_cells(a: &Aspect<Vec<String>>) -> (Cell, Cell) {
    let empty = Vec::new();
    let first = a.first.as_ref().unwrap_or(&empty);
    let second = a.second.as_ref().unwrap_or(&empty);
    if a.same() {
        let pick = first
            .iter()
            .find(|l| l.starts_with("0::"))
            .or(first.first())
            .cloned();
        return (Cell::opt_text(pick.clone()), Cell::opt_text(pick));
    }
    let only = |x: &Vec<String>, y: &Vec<String>| -> Vec<String> {
        x.iter().filter(|l| !y.contains(l)).cloned().collect()
    };
    (
        Cell::list(only(first, second)),
        Cell::list(only(second, first)),
    )
}

fn to_json(d: &NsDiff) -> Value {
    let dir = |r: &Option<DirId>| {
        r.map(|r| json!({ "dev": dir_text(&r).split('/').next(), "ino": r.ino }))
    };
    json!({
        "pids": [d.pids.0, d.pids.1],
        "same": d.all_same(),
        "namespaces": d.namespaces.iter().map(|(k, a)| json!({
            "type": k.proc_name(),
            "same": a.same(),
            "ns": [a.first, a.second],
        })).collect::<Vec<_>>(),
        "root": { "same": d.root.same(), "dir": [dir(&d.root.first), dir(&d.root.second)] },
        "cgroup": { "same": d.cgroup.same(), "lines": [d.cgroup.first, d.cgroup.second] },
    })
}
