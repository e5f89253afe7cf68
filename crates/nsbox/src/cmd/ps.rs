//! `nsbox ps ID`: runc's ps (the container's processes). `nsbox ps` with
//! no ID: nsbox's own containers (`nsbox run`'s), as `docker ps` lists
//! them: name, status, pid, network, addresses, ports, command.

use crate::table::{Cell, Column, Style, Table};
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Format {
    Table,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format: a table from ps(1), or a JSON array of pids.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The container id (none: list nsbox run's containers).
    pub id: Option<String>,
    /// Options for ps(1) in table format (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let root = &crate::global::root()?;
    let Some(id) = args.id else {
        return containers(root, args.format);
    };
    let pids = nsbox_runtime::list::processes(root, &id)?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string(&pids)?),
        Format::Table => {
            let ps_args = if args.ps_args.is_empty() {
                vec!["-ef".to_string()]
            } else {
                args.ps_args
            };
            let out = std::process::Command::new("ps").args(&ps_args).output()?;
            anyhow::ensure!(
                out.status.success(),
                "ps {}: {}",
                ps_args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let mut lines = text.lines();
            let header = lines.next().unwrap_or_default();
            println!("{header}");
            let col = header.split_whitespace().position(|h| h == "PID");
            let col = col.ok_or_else(|| anyhow::anyhow!("ps output has no PID column"))?;
            for line in lines {
                let pid = line
                    .split_whitespace()
                    .nth(col)
                    .and_then(|p| p.parse().ok());
                if pid.is_some_and(|p: u32| pids.contains(&p)) {
                    println!("{line}");
                }
            }
        }
    }
    Ok(0)
}

fn containers(root: &std::path::Path, format: Format) -> anyhow::Result<u8> {
    let all = nsbox_sandbox::named::list(root)?;
    if let Format::Json = format {
        println!("{}", serde_json::to_string(&all)?);
        return Ok(0);
    }
    let mut t = Table::new(
        "containers",
        [
            "NAME", "STATUS", "PID", "NETWORK", "ADDRESS", "PORTS", "COMMAND",
        ]
        .iter()
        .map(|c| Column::text(c))
        .collect(),
    );
    for c in all {
        let join = |v: Vec<String>| {
            if v.is_empty() {
                "-".to_owned()
            } else {
                v.join(",")
            }
        };
        t.rows.push(vec![
            Cell::Text(c.name),
            Cell::Text(c.status),
            Cell::Text(c.pid.to_string()),
            Cell::Text(c.network),
            Cell::Text(join(c.addresses.iter().map(|a| a.to_string()).collect())),
            Cell::Text(join(c.ports)),
            Cell::Text(c.command.join(" ")),
        ]);
    }
    t.print(&Style::from_flags(false, false, false, false, true))?;
    Ok(0)
}
