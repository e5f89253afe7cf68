//! `nsbox resume`: runc's resume (thaw a paused container).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container id.
    pub id: String,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    nsbox_runtime::pause::resume(&crate::global::root()?, &args.id)?;
    Ok(0)
}
