//! `nsbox net check NAME`: CNI's CHECK of a container on a CNI network
//! (`run --net cni:NET --name NAME`): every plugin confirms what its ADD
//! made is still there.

#[derive(clap::Subcommand, Debug)]
pub enum NetCommand {
    /// Run the CNI plugins' CHECK for container NAME.
    Check { name: String },
}

impl NetCommand {
    pub fn verb(&self) -> &'static str {
        match self {
            NetCommand::Check { .. } => "net check",
        }
    }
}

pub fn run(c: NetCommand) -> anyhow::Result<u8> {
    let root = &crate::global::root()?;
    match c {
        NetCommand::Check { name } => {
            nsbox_sandbox::named::check_name(&name)?;
            let bundle = nsbox_sandbox::bundle_dir::BundleDir::path_of(root, &name);
            if !bundle.is_dir() {
                anyhow::bail!(nsbox_sandbox::Error::NoSuchContainer { name });
            }
            nsbox_sandbox::cni_net::check(&bundle, &name)?;
        }
    }
    Ok(0)
}
