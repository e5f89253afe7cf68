//! `nsbox ns tree`: user namespaces nested by parent, each with the namespaces
//! it owns; PID namespaces nested by parent (ioctl_ns relations).

use std::io::{self, Write};

use anyhow::Context;
use nsbox_ns::catalog::{Discovery, KindSet};
use nsbox_ns::discover;
use nsbox_ns::relation::{self, TreeNode};
use nsbox_ns::NsKind;
use serde_json::{json, Value};

use super::describe::Describer;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show only namespaces of this type (repeatable); user namespaces are
    /// always shown as the skeleton of the tree.
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    pub types: Vec<NsKind>,
    /// Use JSON output format.
    #[arg(short = 'J', long = "json")]
    pub json: bool,
    #[command(flatten)]
    pub sources: super::SourceFlags,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let show: KindSet = if args.types.is_empty() {
        KindSet::ALL
    } else {
        args.types.iter().copied().collect()
    };
    let mut d =
        discover::discover(args.sources.options(KindSet::ALL)).context("collect namespaces")?;
    relation::relate(&mut d);
    let roots = relation::tree(&d, show);
    let mut desc = Describer::default();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let res = if args.json {
        let nodes: Vec<Value> = roots.iter().map(|n| node_json(&d, &mut desc, n)).collect();
        serde_json::to_writer_pretty(&mut out, &json!({ "namespaces": nodes }))
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        roots
            .iter()
            .try_for_each(|n| write_node(&mut out, &d, &mut desc, n, "", None))
    };
    match res.and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        other => other.context("write output").map(|()| 0),
    }
}

/// `user:[4026531837] owner uid 0 (root), 75 processes, pid 2: kthreadd`
fn label(d: &Discovery, desc: &mut Describer, i: usize) -> String {
    let ns = &d.namespaces[i];
    let mut s = format!("{}:[{}]", ns.kind, ns.id.ino);
    if let Some(uid) = ns.creator_uid {
        let name = desc.user_name(uid);
        s.push_str(&format!(" owner uid {uid} ({name})"));
    }
    match ns.pid {
        Some(pid) => {
            let plural = if ns.nprocs == 1 { "" } else { "es" };
            s.push_str(&format!(", {} process{plural}, pid {pid}", ns.nprocs));
            if let Some(cmd) = desc.command(pid) {
                s.push_str(": ");
                s.push_str(&crate::table::escape(&cmd, false));
            }
        }
        None => {
            let holders = desc.holders(d, i);
            if holders.is_empty() {
                s.push_str(", no process");
            } else {
                s.push_str(", held by ");
                s.push_str(&crate::table::escape(&holders.join(", "), false));
            }
        }
    }
    s
}

fn write_node(
    out: &mut impl Write,
    d: &Discovery,
    desc: &mut Describer,
    node: &TreeNode,
    prefix: &str,
    last: Option<bool>,
) -> io::Result<()> {
    let (branch, next) = match last {
        None => ("", String::new()),
        Some(true) => ("└─", format!("{prefix}  ")),
        Some(false) => ("├─", format!("{prefix}│ ")),
    };
    writeln!(out, "{prefix}{branch}{}", label(d, desc, node.index))?;
    let n = node.children.len();
    for (k, child) in node.children.iter().enumerate() {
        write_node(out, d, desc, child, &next, Some(k + 1 == n))?;
    }
    Ok(())
}

fn node_json(d: &Discovery, desc: &mut Describer, node: &TreeNode) -> Value {
    let ns = &d.namespaces[node.index];
    let children: Vec<Value> = node
        .children
        .iter()
        .map(|c| node_json(d, desc, c))
        .collect();
    json!({
        "ns": ns.id.ino,
        "type": ns.kind.proc_name(),
        "nprocs": ns.nprocs,
        "pid": ns.pid,
        "command": ns.pid.and_then(|p| desc.command(p)),
        "owner_uid": ns.creator_uid,
        "owner_user": ns.creator_uid.map(|u| desc.user_name(u)),
        "parent": ns.parent,
        "owner": ns.owner,
        "holders": desc.holders(d, node.index),
        "children": children,
    })
}
