//! `nsbox events`: runc's events (stats and OOM kills as JSON lines).
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one stats event and exit.
    #[arg(long)]
    pub stats: bool,
    /// Time between stats events (Go syntax: 5s, 500ms, 1m).
    #[arg(long, default_value = "5s", value_parser = interval)]
    pub interval: Duration,
    /// The container id.
    pub id: String,
}

fn interval(text: &str) -> Result<Duration, String> {
    match nsbox_runtime::events::parse_duration(text) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(format!(
            "{text:?} is not a positive duration such as 5s or 500ms"
        )),
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    nsbox_runtime::events::events(
        &crate::global::root()?,
        &args.id,
        args.stats,
        args.interval,
        &mut out,
    )?;
    Ok(0)
}
