//! `nsbox run`: runc's run (create + start + wait).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Do not wait: leave the container running.
    #[arg(short, long)]
    pub detach: bool,
    #[command(flatten)]
    pub create: super::create::Args,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let outcome = nsbox_runtime::run::run(&args.create.options(), args.detach)?;
    super::warn(&format!("run {}", args.create.id), outcome.warnings);
    Ok(outcome.code)
}
