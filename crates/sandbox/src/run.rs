//! `nsbox run -- CMD`: the request written as a bundle and run through the
//! runtime's create/start/wait, as an engine runs any bundle; the state
//! directory (by the runtime's delete) and the bundle (a drop guard) are
//! gone when [`run`] returns, whatever the outcome.

use std::path::PathBuf;

use nsbox_runtime::run::Outcome;
use nsbox_runtime::CreateOptions;

use crate::bundle_dir::BundleDir;
use crate::options::RunOptions;
use crate::Error;

/// Runs the command and waits for it; the outcome carries its exit code.
pub fn run(opts: &RunOptions) -> Result<Outcome, Error> {
    let id = generate_id();
    let bundle = BundleDir::new(&opts.root, &id); // removed on every way out
    let rootfs = match &opts.rootfs {
        Some(dir) => checked_rootfs(dir)?,
        None => bundle.host_root_mount_point(),
    };
    // Without root, new namespaces need a user namespace: implied.
    let mut opts = opts.clone();
    opts.userns |= !rustix::process::geteuid().is_root();
    let spec = crate::spec::spec(&opts, &id, &rootfs)?;
    bundle.write(&spec)?;
    let create = CreateOptions {
        root: opts.root.clone(),
        id: id.clone(),
        bundle: bundle.path().to_path_buf(),
        pid_file: None,
        preserve_fds: 0,
        console_socket: None,
        no_new_keyring: false,
        no_pivot: false,
    };
    nsbox_runtime::run::run(&create, false).map_err(|source| Error::Container {
        id,
        source: Box::new(source),
    })
}

/// A container id (and hostname) unique on this host: pid and time.
pub fn generate_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("nsbox-{:x}{:05x}", std::process::id(), nanos >> 12)
}

/// `--rootfs DIR`: an existing directory, made absolute (the spec's root
/// path is read relative to the bundle).
fn checked_rootfs(dir: &std::path::Path) -> Result<PathBuf, Error> {
    let err = |source| Error::Rootfs {
        path: dir.to_path_buf(),
        source,
    };
    if !std::fs::metadata(dir).map_err(err)?.is_dir() {
        return Err(err(rustix::io::Errno::NOTDIR.into()));
    }
    std::path::absolute(dir).map_err(err)
}
