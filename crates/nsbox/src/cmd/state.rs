//! `nsbox state`: runc's state (JSON).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container id.
    pub id: String,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let report = nsbox_runtime::list::state(&crate::global::root()?, &args.id)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(0)
}
