//! The OCI spec of `nsbox run -- CMD`, built in memory (oci-spec builders)
//! from [`RunOptions`]: new mount, PID, IPC, UTS and cgroup namespaces
//! (network only with `--net none`, user only with `--userns`), the host's
//! root bound read-only (recursively: every mount beneath it too, asked of
//! init by [`HOST_ROOT_ANNOTATION`]) or `--rootfs DIR`, a fresh /proc and
//! /sys, /dev with only the default devices, /tmp as a tmpfs, a hostname of
//! its own, Docker's default capabilities, no_new_privs and nsbox's default
//! seccomp profile for those capabilities (`nsbox_runtime::seccomp::default_for`,
//! the one `nsbox spec` writes).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nsbox_runtime::extensions::{CWD_FALLBACK_ANNOTATION, HOST_ROOT_ANNOTATION, INIT_ANNOTATION};
use oci_spec::runtime::{
    Capability, Linux, LinuxBuilder, LinuxCapabilities, LinuxCapabilitiesBuilder,
    LinuxNamespaceBuilder, LinuxNamespaceType, Mount, MountBuilder, Process, ProcessBuilder,
    RootBuilder, Spec, SpecBuilder, UserBuilder,
};

use nsbox_ns::subid::for_caller;
use nsbox_runtime::spec::id_mappings;

use crate::error::{build, Error};
use crate::options::RunOptions;

/// Docker's (containerd's) default capability set.
const DEFAULT_CAPS: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount, Error> {
    build(
        MountBuilder::default()
            .destination(dest)
            .typ(typ)
            .source(source)
            .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .build(),
    )
}

/// The container's network namespace, `--net` resolved (`container:NAME`
/// becomes the namespace file of NAME's init: [`crate::named::net_of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetNs {
    Host,
    /// A new one, with only `lo`.
    New,
    /// The namespace at this path.
    Join(PathBuf),
    /// One made for the container on a network (bridge or CNI), and the
    /// files bound read-only over `/etc` (`hosts`: the network's, every
    /// container by name; `hostname`; `resolv.conf`): source, destination.
    Attached {
        netns: PathBuf,
        etc: Vec<(PathBuf, &'static str)>,
    },
}

/// The spec of a run whose root file system is `rootfs`, whose network
/// namespace is `net` and whose container id is `id`.
pub fn spec(opts: &RunOptions, net: &NetNs, id: &str, rootfs: &Path) -> Result<Spec, Error> {
    let workdir = workdir(opts);
    build(
        SpecBuilder::default()
            .version("1.2.0")
            .root(build(
                RootBuilder::default()
                    .path(rootfs)
                    .readonly(opts.rootfs.is_none())
                    .build(),
            )?)
            .process(process(opts, &workdir)?)
            .hostname(opts.hostname.as_deref().unwrap_or(id))
            .mounts(mounts(opts, net)?)
            .linux(linux(opts, net)?)
            .annotations(annotations(opts, &workdir))
            .build(),
    )
}

/// Docker's default capabilities: bounding, effective and permitted.
fn capabilities() -> Result<LinuxCapabilities, Error> {
    let caps: oci_spec::runtime::Capabilities = DEFAULT_CAPS.into_iter().collect();
    build(
        LinuxCapabilitiesBuilder::default()
            .bounding(caps.clone())
            .effective(caps.clone())
            .permitted(caps)
            // (the builder's defaults would fill these two)
            .inheritable(oci_spec::runtime::Capabilities::new())
            .ambient(oci_spec::runtime::Capabilities::new())
            .build(),
    )
}

/// Root with Docker's default capabilities and no_new_privs.
fn process(opts: &RunOptions, workdir: &Workdir) -> Result<Process, Error> {
    build(
        ProcessBuilder::default()
            .terminal(opts.tty)
            .user(build(UserBuilder::default().uid(0u32).gid(0u32).build())?)
            .args(opts.command.clone())
            .env(opts.env.clone())
            .cwd(workdir.path.clone())
            .capabilities(capabilities()?)
            .no_new_privileges(true)
            .build(),
    )
}

/// The namespaces, runc's masked and read-only paths (plus the state
/// root), nsbox-seccomp's default profile, the id maps and the limits.
fn linux(opts: &RunOptions, net: &NetNs) -> Result<Linux, Error> {
    let mut kinds = vec![
        (LinuxNamespaceType::Mount, None),
        (LinuxNamespaceType::Pid, None),
        (LinuxNamespaceType::Ipc, None),
        (LinuxNamespaceType::Uts, None),
        (LinuxNamespaceType::Cgroup, None),
    ];
    match net {
        NetNs::Host => {}
        NetNs::New => kinds.push((LinuxNamespaceType::Network, None)),
        NetNs::Join(path) | NetNs::Attached { netns: path, .. } => {
            kinds.push((LinuxNamespaceType::Network, Some(path.clone())))
        }
    }
    if opts.userns {
        kinds.push((LinuxNamespaceType::User, None));
    }
    let namespaces = kinds
        .into_iter()
        .map(|(k, path)| {
            let mut b = LinuxNamespaceBuilder::default().typ(k);
            if let Some(p) = path {
                b = b.path(p);
            }
            build(b.build())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let defaults = nsbox_runtime::spec::default_spec();
    let default_linux = defaults.linux().as_ref();
    let mut masked: Vec<String> = default_linux
        .and_then(|l| l.masked_paths().clone())
        .unwrap_or_default();
    if opts.rootfs.is_none() {
        // The host's container states (fifos, locks) are no business of
        // the command's.
        masked.push(opts.root.display().to_string());
    }
    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .masked_paths(masked)
        .readonly_paths(
            default_linux
                .and_then(|l| l.readonly_paths().clone())
                .unwrap_or_default(),
        )
        .seccomp(nsbox_runtime::seccomp::default_for(Some(&capabilities()?)));
    if opts.userns {
        linux = linux
            // root inside is the caller; a caller who is not root and has
            // ranges in /etc/subuid and /etc/subgid gets them as 1..N, as in
            // podman's rootless containers, so chown works inside
            .uid_mappings(id_mappings(
                rustix::process::geteuid().as_raw(),
                for_caller(Path::new("/etc/subuid")),
            ))
            .gid_mappings(id_mappings(
                rustix::process::getegid().as_raw(),
                for_caller(Path::new("/etc/subgid")),
            ));
    }
    if let Some(res) = opts.limits.resources()? {
        linux = linux.resources(res);
    }
    build(linux.build())
}

/// Fresh /proc, /dev (with devpts, shm, mqueue), /sys and /tmp.
fn mounts(opts: &RunOptions, net: &NetNs) -> Result<Vec<Mount>, Error> {
    let devpts: &[&str] = if opts.userns {
        // gid 5 (tty) is not mapped in a user namespace of one id.
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
        ]
    } else {
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]
    };
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount("/dev/pts", "devpts", "devpts", devpts)?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
    ];
    // A sysfs instance belongs to a network namespace: sharing the host's,
    // a new mount would be the host's (read-write) superblock, which cannot
    // be mounted read-only (EBUSY), and in a user namespace not at all; the
    // host's /sys is bound read-only instead.
    if *net == NetNs::Host {
        mounts.push(mount(
            "/sys",
            "bind",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        )?);
    } else {
        mounts.push(mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )?);
    }
    mounts.push(mount(
        "/tmp",
        "tmpfs",
        "tmpfs",
        &["nosuid", "nodev", "mode=1777"],
    )?);
    if let NetNs::Attached { etc, .. } = net {
        // the network's view of names (the hosts file is rewritten in place
        // as containers come and go, so the bind follows)
        for (source, dest) in etc {
            let source = source.to_str().ok_or_else(|| Error::NotUtf8 {
                path: source.clone(),
            })?;
            mounts.push(mount(
                dest,
                "bind",
                source,
                &["bind", "ro", "nosuid", "nodev", "noexec"],
            )?);
        }
    }
    for (source, dest) in crate::proc_view::binds(&opts.root, opts.proc_view.as_ref())? {
        let source = source.to_str().ok_or_else(|| Error::NotUtf8 {
            path: source.clone(),
        })?;
        mounts.push(mount(
            &dest,
            "bind",
            source,
            &["bind", "ro", "nosuid", "nodev", "noexec"],
        )?);
    }
    Ok(mounts)
}

/// nsbox's runtime extensions this run asks for.
fn annotations(opts: &RunOptions, workdir: &Workdir) -> HashMap<String, String> {
    let mut annotations = HashMap::new();
    if opts.rootfs.is_none() {
        annotations.insert(HOST_ROOT_ANNOTATION.to_string(), "ro".to_string());
    }
    if opts.init {
        annotations.insert(INIT_ANNOTATION.to_string(), "true".to_string());
    }
    if workdir.fallback {
        annotations.insert(CWD_FALLBACK_ANNOTATION.to_string(), "true".to_string());
    }
    annotations
}

/// Where the command starts, and whether init may fall back to `/`.
struct Workdir {
    path: PathBuf,
    fallback: bool,
}

/// `-w DIR` as given (made when missing, as runc; an error when it cannot
/// be). With `--rootfs` `/`, as docker's default: the caller's directory
/// means nothing in another root. With the host's root the caller's
/// directory, which may not exist inside (under a fresh /tmp, a masked
/// path) or not be enterable (a 0700 directory of another user, seen from
/// a user namespace): only init can tell, so [`CWD_FALLBACK_ANNOTATION`]
/// asks it to start in `/` then, and never to create the directory (that
/// would leave a stray directory in the command's /tmp).
fn workdir(opts: &RunOptions) -> Workdir {
    match (&opts.cwd, &opts.rootfs, &opts.caller_cwd) {
        (Some(dir), _, _) => Workdir {
            path: dir.clone(),
            fallback: false,
        },
        (None, None, Some(caller)) => Workdir {
            path: caller.clone(),
            fallback: true,
        },
        (None, Some(_), _) | (None, None, None) => Workdir {
            path: PathBuf::from("/"),
            fallback: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_spec_is_valid_and_isolating() {
        let opts = RunOptions {
            root: "/run/nsbox".into(),
            command: vec!["ps".into()],
            ..Default::default()
        };
        let spec = spec(
            &opts,
            &NetNs::Host,
            "nsbox-x",
            Path::new("/run/nsbox/.bundles/nsbox-x/rootfs"),
        )
        .unwrap();
        nsbox_runtime::bundle::validate(&spec).unwrap();
        let text = serde_json::to_string(&spec).unwrap();
        let again = nsbox_runtime::bundle::parse(&text).unwrap();
        let linux = again.linux().as_ref().unwrap();
        let kinds: Vec<_> = linux
            .namespaces()
            .iter()
            .flatten()
            .map(|n| n.typ())
            .collect();
        assert!(!kinds.contains(&LinuxNamespaceType::Network));
        assert!(!kinds.contains(&LinuxNamespaceType::User));
        assert!(kinds.contains(&LinuxNamespaceType::Pid));
        // The default profile survives the trip through OCI's form.
        let back = nsbox_runtime::seccomp::profile(linux.seccomp().as_ref().unwrap()).unwrap();
        let caps: Vec<String> = DEFAULT_CAPS
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(back, nsbox_seccomp::default_profile(&caps));
        assert!(linux
            .masked_paths()
            .iter()
            .flatten()
            .any(|p| p == "/run/nsbox"));
    }

    #[test]
    fn workdir_given_inherited_or_root() {
        let caller = Some(PathBuf::from("/home/a"));
        let at = |cwd: Option<&str>, rootfs: Option<&str>, caller: &Option<PathBuf>| {
            let w = workdir(&RunOptions {
                cwd: cwd.map(PathBuf::from),
                rootfs: rootfs.map(PathBuf::from),
                caller_cwd: caller.clone(),
                ..Default::default()
            });
            (w.path.display().to_string(), w.fallback)
        };
        assert_eq!(at(Some("/srv"), None, &caller), ("/srv".into(), false));
        assert_eq!(
            at(Some("/srv"), Some("/r"), &caller),
            ("/srv".into(), false)
        );
        assert_eq!(at(None, None, &caller), ("/home/a".into(), true));
        assert_eq!(at(None, Some("/r"), &caller), ("/".into(), false));
        assert_eq!(at(None, None, &None), ("/".into(), false));
        let spec = spec(
            &RunOptions {
                caller_cwd: caller,
                ..Default::default()
            },
            &NetNs::Host,
            "x",
            Path::new("/r"),
        )
        .unwrap();
        let annotations = spec.annotations().clone().unwrap();
        assert_eq!(annotations[CWD_FALLBACK_ANNOTATION], "true");
        assert_eq!(annotations[HOST_ROOT_ANNOTATION], "ro");
    }
}
