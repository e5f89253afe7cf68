//! `nsbox list`: runc's list (table or JSON).
use nsbox_runtime::state::Report;

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Format {
    Table,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print only the ids.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let all = nsbox_runtime::list::list(&crate::global::root()?)?;
    if args.quiet {
        for r in &all {
            println!("{}", r.oci.id());
        }
        return Ok(0);
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string(&all)?),
        Format::Table => print!("{}", table(&all)),
    }
    Ok(0)
}

/// runc's columns, padded to the widest cell.
fn table(all: &[Report]) -> String {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for r in all {
        rows.push([
            r.oci.id().clone(),
            r.oci.pid().unwrap_or(0).to_string(),
            r.status_word().to_string(),
            r.oci.bundle().display().to_string(),
            r.created.clone(),
            r.owner.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0).max(10) + 2)
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: String = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
