//! `nsbox kill`: runc's kill.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Signal every process in the container, not only its init.
    #[arg(short, long)]
    pub all: bool,
    /// The container id.
    pub id: String,
    /// KILL, SIGKILL, 9, RTMIN+3, SIGRTMAX-1 or 37 (default TERM).
    #[arg(default_value = "TERM")]
    pub signal: String,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let signal = nsbox_runtime::kill::parse_signal(&args.signal)?;
    nsbox_runtime::kill::kill(&crate::global::root()?, &args.id, signal, args.all)?;
    Ok(0)
}
