//! `nsbox ns limits`: each `/proc/sys/user/max_*_namespaces` beside how many
//! namespaces of that type exist now.

use anyhow::Context;
use nsbox_ns::catalog::KindSet;
use nsbox_ns::discover;
use nsbox_ns::{limits, NsKind};

use super::OutputFlags;
use crate::table::{Cell, Column, Table};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub sources: super::SourceFlags,
    #[command(flatten)]
    pub out: OutputFlags,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let d = discover::discover(args.sources.options(KindSet::ALL)).context("collect namespaces")?;
    let mut t = Table::new(
        "limits",
        vec![
            Column::text("TYPE"),
            Column::number("COUNT"),
            Column::number("LIMIT"),
            Column::text("FILE"),
        ],
    );
    for kind in NsKind::ALL {
        // A kernel without the kind (time before 5.6) has no limit file either.
        let limit = limits::limit(kind).ok();
        let count = d.count(kind) as u64;
        if limit.is_none() && count == 0 {
            continue;
        }
        t.rows.push(vec![
            Cell::Text(kind.proc_name().to_string()),
            Cell::Num(count),
            Cell::opt_num(limit),
            Cell::Text(kind.limit_file()),
        ]);
    }
    t.print(&args.out.style()).context("write output")?;
    Ok(0)
}
