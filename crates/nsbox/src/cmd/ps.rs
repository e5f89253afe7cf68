//! `nsbox ps`: runc's ps (the container's processes).
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
    /// The container id.
    pub id: String,
    /// Options for ps(1) in table format (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let pids = nsbox_runtime::list::processes(&crate::global::global().root, &args.id)?;
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
