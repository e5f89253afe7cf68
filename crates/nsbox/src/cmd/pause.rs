//! `nsbox pause`: runc's pause (freeze every process of the container).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container id.
    pub id: String,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    nsbox_runtime::pause::pause(&crate::global::root()?, &args.id)?;
    Ok(0)
}
