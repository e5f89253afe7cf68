//! `nsbox run -- CMD`: the request written as a bundle and run through the
//! runtime's create/start/wait, as an engine runs any bundle; the state
//! directory (by the runtime's delete) and the bundle (a drop guard) are
//! gone when [`run`] returns, whatever the outcome, except for a detached
//! container (`-d`) once it started: it keeps both until `nsbox rm`.

use std::path::PathBuf;

use nsbox_runtime::run::Outcome;
use nsbox_runtime::CreateOptions;

use crate::bundle_dir::BundleDir;
use crate::options::{Net, RunOptions};
use crate::spec::NetNs;
use crate::Error;

/// Runs the command and waits for it (unless detached); the outcome
/// carries its exit code.
pub fn run(opts: &RunOptions) -> Result<Outcome, Error> {
    let id = match &opts.name {
        Some(name) => {
            crate::named::check_name(name)?;
            name.clone()
        }
        None => generate_id(),
    };
    let rootless = !rustix::process::geteuid().is_root();
    match &opts.net {
        Net::Bridge(_) if rootless => return Err(Error::NetNeedsRoot { net: "bridge" }),
        Net::Cni(_) if rootless => return Err(Error::NetNeedsRoot { net: "cni:NAME" }),
        _ => {}
    }
    if opts.rootfs.is_none() && matches!(opts.net, Net::Bridge(_) | Net::Cni(_)) {
        // checked before anything is made (see Error::NoEtcFile)
        for path in crate::network::ETC_FILES {
            if std::fs::symlink_metadata(path).is_err() {
                return Err(Error::NoEtcFile { path });
            }
        }
    }
    // removed on every way out unless kept
    let bundle = BundleDir::create(&opts.root, &id)?;
    // a network of its own (bridge or CNI): its namespace file and hosts
    let reached_as = opts.hostname.as_deref().unwrap_or(&id);
    let own_net = match &opts.net {
        Net::Bridge(b) => {
            let a = crate::network::attach(&opts.root, bundle.path(), &id, reached_as, b)?;
            Some((a.netns, a.hosts))
        }
        Net::Cni(c) => {
            let a = crate::cni_net::attach(&opts.root, bundle.path(), &id, reached_as, c)?;
            Some((a.netns, a.hosts))
        }
        _ => None,
    };
    // a user-mode network (pasta), as root already running here
    let pasta = match &opts.net {
        Net::Pasta(p) => Some(crate::pasta::Pasta::prepare(bundle.path(), p, rootless)?),
        _ => None,
    };
    // declared after the bundle: dropped, so detached, before it goes
    let network = (own_net.is_some() || pasta.is_some())
        .then(|| crate::attached::NetworkGuard::new(&opts.root, bundle.path(), &id));
    let net = match (own_net, &opts.net) {
        (Some((netns, hosts)), _) => NetNs::Attached {
            netns,
            etc: crate::network::etc_files(bundle.path(), reached_as, hosts)?,
        },
        (None, Net::Host) => NetNs::Host,
        (None, Net::None) => NetNs::New,
        (None, Net::Path(p)) => joined(p.clone()),
        (None, Net::Container(name)) => joined(crate::named::net_of(&opts.root, name)?),
        (None, Net::Pasta(_)) => match pasta.as_ref().and_then(|p| p.netns()) {
            Some(netns) => NetNs::Join(netns.to_path_buf()),
            None => NetNs::New, // the runtime's, in the container's user namespace
        },
        (None, Net::Bridge(_) | Net::Cni(_)) => unreachable!("attached above"),
    };
    let rootfs = match &opts.rootfs {
        Some(dir) => checked_rootfs(dir)?,
        None => bundle.host_root_mount_point(),
    };
    // Without root, new namespaces need a user namespace: implied.
    let mut opts = opts.clone();
    opts.userns |= rootless;
    let spec = crate::spec::spec(&opts, &net, &id, &rootfs)?;
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
        systemd_cgroup: false,
    };
    let output = opts
        .detach
        .then(|| crate::detach::Redirected::to_log(&bundle.path().join("output.log")))
        .transpose()?;
    // without root, pasta joins the namespaces the runtime made, before
    // the command runs
    let outcome = nsbox_runtime::run::run_created(&create, opts.detach, |pid| match &pasta {
        Some(p) => p.created(pid).map_err(Failed::Sandbox),
        None => Ok(()),
    });
    drop(output); // our own stdio back before anything is said
    let outcome = outcome.map_err(|failed| match failed {
        Failed::Runtime(source) => Error::Container {
            id: id.clone(),
            source,
        },
        Failed::Sandbox(e) => e,
    })?;
    if opts.detach {
        if let Some(n) = network {
            n.keep();
        }
        bundle.keep();
    }
    Ok(outcome)
}

/// A run's failure: the runtime's, or a step of ours between its create
/// and start (boxed: the runtime's error is large, and moved around).
enum Failed {
    Runtime(Box<nsbox_runtime::Error>),
    Sandbox(Error),
}

impl From<nsbox_runtime::Error> for Failed {
    fn from(e: nsbox_runtime::Error) -> Failed {
        Failed::Runtime(Box::new(e))
    }
}

/// Joining a network namespace file; the host's own (a container that
/// shares the host's network, say) is the host's network, whose /sys is
/// bound rather than mounted anew (see `spec`). A path that is not a
/// namespace is left for the runtime to refuse by name.
fn joined(path: PathBuf) -> NetNs {
    let ours = nsbox_ns::ns_of_pid(std::process::id(), nsbox_ns::NsKind::Net);
    match (nsbox_ns::ns_of_path(&path), ours) {
        (Ok(theirs), Ok(ours)) if theirs == ours => NetNs::Host,
        _ => NetNs::Join(path),
    }
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
