//! `nsbox start`: runc's start.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container id.
    pub id: String,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    nsbox_runtime::start::start(&crate::global::root()?, &args.id)?;
    Ok(0)
}
