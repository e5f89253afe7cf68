//! `nsbox spec`: runc's spec.
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write config.json.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub bundle: PathBuf,
    /// A spec for an unprivileged user (a user namespace mapping root to
    /// you, and 1..N to your /etc/subuid and /etc/subgid ranges if any).
    #[arg(long)]
    pub rootless: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut spec = nsbox_runtime::spec::default_spec();
    if args.rootless {
        use nsbox_ns::subid::for_caller;
        use nsbox_runtime::spec::id_mappings;
        let uid = rustix::process::geteuid().as_raw();
        let gid = rustix::process::getegid().as_raw();
        let subuid = for_caller(std::path::Path::new("/etc/subuid"));
        let subgid = for_caller(std::path::Path::new("/etc/subgid"));
        spec =
            nsbox_runtime::spec::rootless(spec, id_mappings(uid, subuid), id_mappings(gid, subgid));
    }
    nsbox_runtime::spec::write(&args.bundle, &spec)?;
    Ok(0)
}
