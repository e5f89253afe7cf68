//! `nsbox stop NAME...`: what `docker stop` does to a named container
//! (`run -d --name`): SIGTERM, then SIGKILL after the grace period; it
//! stays, stopped, until `nsbox rm`.

use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds to wait after SIGTERM before SIGKILL.
    #[arg(
        short = 't',
        long = "time",
        value_name = "SECONDS",
        default_value_t = 10
    )]
    pub time: u64,
    /// The containers' names.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let root = &crate::global::root()?;
    let grace = Duration::from_secs(args.time);
    Ok(super::each_name("stop", &args.names, |name| {
        nsbox_sandbox::stop(root, name, grace).map(|_| Vec::new())
    }))
}
