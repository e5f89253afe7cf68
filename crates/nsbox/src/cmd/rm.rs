//! `nsbox rm [-f] NAME...`: what `docker rm` does to a named container:
//! its state and bundle go; a running one is refused unless `-f`.

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Kill it first if it is still running.
    #[arg(short, long)]
    pub force: bool,
    /// The containers' names.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let root = &crate::global::root()?;
    Ok(super::each_name("rm", &args.names, |name| {
        nsbox_sandbox::remove(root, name, args.force)
    }))
}
