//! `nsbox delete`: runc's delete.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Kill a running container first.
    #[arg(short, long)]
    pub force: bool,
    /// The container id.
    pub id: String,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let warnings = nsbox_runtime::delete::delete(&crate::global::root()?, &args.id, args.force)?;
    super::warn(&format!("delete {}", args.id), warnings);
    Ok(0)
}
