//! `nsbox spec`: runc's spec.
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write config.json.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub bundle: PathBuf,
    /// A spec for an unprivileged user (user namespace mapping root to you).
    #[arg(long)]
    pub rootless: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut spec = nsbox_runtime::spec::default_spec();
    if args.rootless {
        let uid = rustix::process::geteuid().as_raw();
        let gid = rustix::process::getegid().as_raw();
        spec = nsbox_runtime::spec::rootless(spec, uid, gid);
    }
    nsbox_runtime::spec::write(&args.bundle, &spec)?;
    Ok(0)
}
