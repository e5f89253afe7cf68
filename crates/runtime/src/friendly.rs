//! `nsbox run -- CMD ARGS...`: an isolated command in one line, no bundle.
//!
//! An OCI spec is generated in memory ([`spec`], oci-spec builders) and run
//! through the same create/start/wait path as any bundle: new mount, PID,
//! IPC, UTS and cgroup namespaces (network only with `--net none`, user only
//! with `--userns`), the host's root bound read-only (recursively: every
//! mount beneath it too) or `--rootfs DIR`, a fresh /proc and /sys, /dev
//! with only the default devices, /tmp as a tmpfs, a hostname of its own,
//! Docker's default capabilities, no_new_privs and nsbox-seccomp's
//! `default_profile()`. The generated config.json lives in
//! `ROOT/.bundles/ID/` (its `rootfs/` is the empty directory the host's root
//! is bound on inside the container's mount namespace, so the host's mount
//! table never changes); both it and the state directory are removed when
//! the command ends, whatever the outcome. Docker's resource and process
//! flags (`--memory`, `--cpus`, `-e`, ...) are parsed in
//! [`crate::friendly_flags`] and land in the spec here.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxIdMappingBuilder,
    LinuxNamespaceBuilder, LinuxNamespaceType, LinuxSeccomp, LinuxSeccompAction,
    LinuxSeccompArgBuilder, LinuxSeccompBuilder, LinuxSeccompOperator, LinuxSyscallBuilder, Mount,
    MountBuilder, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

use crate::protocol::Step;
use crate::protocol::{Failure, StepResult};
use crate::run::Outcome;
use crate::{CreateOptions, Error};

/// The annotation asking init to bind the host's root, read-only and
/// recursively, onto `root.path` before building the container's tree.
pub const HOST_ROOT_ANNOTATION: &str = "io.github.nsbox.rootfs.host";

/// The annotation asking init to stay PID 1 (reaping, passing signals on)
/// and run the command as its child (`--init`).
pub const INIT_ANNOTATION: &str = "io.github.nsbox.init";

/// Where the generated bundles live, under the state root.
pub const BUNDLES: &str = ".bundles";

/// `--net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Net {
    /// The host's network (the default).
    #[default]
    Host,
    /// A new network namespace with only `lo`, up.
    None,
}

/// What `nsbox run -- CMD` was asked for.
#[derive(Debug, Clone, Default)]
pub struct FriendlyOptions {
    /// The state root (`--root`).
    pub root: PathBuf,
    pub command: Vec<String>,
    /// `--rootfs DIR` instead of the host's root (writable, as a bundle's).
    pub rootfs: Option<PathBuf>,
    pub net: Net,
    /// `--userns`: a user namespace, root inside mapped to the caller
    /// (implied when the caller is not root).
    pub userns: bool,
    /// Give the command a pty (when our stdin is a terminal).
    pub tty: bool,
    /// The environment passed to the command (the caller's, as unshare does).
    pub env: Vec<String>,
    /// The working directory inside (the caller's with the host root).
    pub cwd: PathBuf,
    /// `--init`: a small PID 1 runs the command as its child, so signals
    /// the command does not handle (Ctrl-C, TERM) still end it and orphans
    /// are reaped.
    pub init: bool,
    /// `--memory`, `--cpus`, `--pids-limit`, `--cpuset-cpus`.
    pub limits: crate::friendly_flags::Limits,
    /// `--hostname` (else the generated id).
    pub hostname: Option<String>,
}

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

/// A container id (and hostname) unique on this host: pid and time.
pub fn generate_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("nsbox-{:x}{:05x}", std::process::id(), nanos >> 12)
}

fn build<T>(r: Result<T, oci_spec::OciSpecError>) -> Result<T, Error> {
    r.map_err(|source| Error::BuildSpec { source })
}

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

/// The spec of a friendly run whose root file system is `rootfs`.
pub fn spec(opts: &FriendlyOptions, id: &str, rootfs: &Path) -> Result<Spec, Error> {
    let caps: oci_spec::runtime::Capabilities = DEFAULT_CAPS.into_iter().collect();
    let capabilities = build(
        LinuxCapabilitiesBuilder::default()
            .bounding(caps.clone())
            .effective(caps.clone())
            .permitted(caps)
            // (the builder's defaults would fill these two)
            .inheritable(oci_spec::runtime::Capabilities::new())
            .ambient(oci_spec::runtime::Capabilities::new())
            .build(),
    )?;
    let process = build(
        ProcessBuilder::default()
            .terminal(opts.tty)
            .user(build(UserBuilder::default().uid(0u32).gid(0u32).build())?)
            .args(opts.command.clone())
            .env(opts.env.clone())
            .cwd(opts.cwd.clone())
            .capabilities(capabilities)
            .no_new_privileges(true)
            .build(),
    )?;
    let mut kinds = vec![
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Cgroup,
    ];
    if opts.net == Net::None {
        kinds.push(LinuxNamespaceType::Network);
    }
    if opts.userns {
        kinds.push(LinuxNamespaceType::User);
    }
    let namespaces = kinds
        .into_iter()
        .map(|k| build(LinuxNamespaceBuilder::default().typ(k).build()))
        .collect::<Result<Vec<_>, _>>()?;
    let defaults = crate::spec::default_spec();
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
        .seccomp(oci_seccomp(&nsbox_seccomp::default_profile())?);
    if opts.userns {
        let uid = rustix::process::geteuid().as_raw();
        let gid = rustix::process::getegid().as_raw();
        let map = |host: u32| {
            build(
                LinuxIdMappingBuilder::default()
                    .container_id(0u32)
                    .host_id(host)
                    .size(1u32)
                    .build(),
            )
        };
        linux = linux
            .uid_mappings(vec![map(uid)?])
            .gid_mappings(vec![map(gid)?]);
    }
    if let Some(res) = opts.limits.resources()? {
        linux = linux.resources(res);
    }
    let linux = build(linux.build())?;
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
    if opts.net == Net::Host {
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
    debug_assert!(FRESH
        .iter()
        .all(|f| mounts.iter().any(|m| m.destination() == Path::new(f))));
    let mut annotations = std::collections::HashMap::new();
    if opts.rootfs.is_none() {
        annotations.insert(HOST_ROOT_ANNOTATION.to_string(), "ro".to_string());
    }
    if opts.init {
        annotations.insert(INIT_ANNOTATION.to_string(), "true".to_string());
    }
    build(
        SpecBuilder::default()
            .version("1.2.0")
            .root(build(
                RootBuilder::default()
                    .path(rootfs)
                    .readonly(opts.rootfs.is_none())
                    .build(),
            )?)
            .process(process)
            .hostname(opts.hostname.as_deref().unwrap_or(id))
            .mounts(mounts)
            .linux(linux)
            .annotations(annotations)
            .build(),
    )
}

/// nsbox-seccomp's plain profile as OCI's `linux.seccomp`.
pub fn oci_seccomp(p: &nsbox_seccomp::Profile) -> Result<LinuxSeccomp, Error> {
    use nsbox_seccomp::{Action, CompareOp};
    let action = |a: Action| -> (LinuxSeccompAction, Option<u32>) {
        use LinuxSeccompAction as A;
        match a {
            Action::KillProcess => (A::ScmpActKillProcess, None),
            Action::KillThread => (A::ScmpActKillThread, None),
            Action::Trap => (A::ScmpActTrap, None),
            Action::Errno(e) => (A::ScmpActErrno, Some(e)),
            Action::Trace(t) => (A::ScmpActTrace, Some(t)),
            Action::Allow => (A::ScmpActAllow, None),
            Action::Log => (A::ScmpActLog, None),
            Action::Notify => (A::ScmpActNotify, None),
        }
    };
    let op = |o: CompareOp| match o {
        CompareOp::NotEqual => LinuxSeccompOperator::ScmpCmpNe,
        CompareOp::Less => LinuxSeccompOperator::ScmpCmpLt,
        CompareOp::LessOrEqual => LinuxSeccompOperator::ScmpCmpLe,
        CompareOp::Equal => LinuxSeccompOperator::ScmpCmpEq,
        CompareOp::GreaterOrEqual => LinuxSeccompOperator::ScmpCmpGe,
        CompareOp::Greater => LinuxSeccompOperator::ScmpCmpGt,
        CompareOp::MaskedEqual => LinuxSeccompOperator::ScmpCmpMaskedEq,
    };
    let mut syscalls = Vec::new();
    for r in &p.rules {
        let (a, errno) = action(r.action);
        let mut args = Vec::new();
        for c in &r.args {
            args.push(build(
                LinuxSeccompArgBuilder::default()
                    .index(c.index as usize)
                    .value(c.value)
                    .value_two(c.value_two)
                    .op(op(c.op))
                    .build(),
            )?);
        }
        let mut b = LinuxSyscallBuilder::default()
            .names(r.names.clone())
            .action(a);
        if let Some(e) = errno {
            b = b.errno_ret(e);
        }
        if !args.is_empty() {
            b = b.args(args);
        }
        syscalls.push(build(b.build())?);
    }
    let (default_action, default_errno) = action(p.default_action);
    let archs = p
        .architectures
        .iter()
        .filter_map(|a| serde_json::from_value(serde_json::Value::String(a.clone())).ok())
        .collect::<Vec<oci_spec::runtime::Arch>>();
    let mut b = LinuxSeccompBuilder::default()
        .default_action(default_action)
        .architectures(archs)
        .syscalls(syscalls);
    if let Some(e) = default_errno {
        b = b.default_errno_ret(e);
    }
    build(b.build())
}

/// Runs the command; the state directory and the generated bundle are
/// gone when this returns.
pub fn run(opts: &FriendlyOptions) -> Result<Outcome, Error> {
    let id = generate_id();
    let bundle = opts.root.join(BUNDLES).join(&id);
    let _cleanup = RemoveOnDrop(bundle.clone());
    let rootfs = match &opts.rootfs {
        Some(dir) => {
            let err = |source| Error::FriendlyRootfs {
                path: dir.clone(),
                source,
            };
            if !std::fs::metadata(dir).map_err(err)?.is_dir() {
                return Err(err(std::io::Error::from_raw_os_error(libc::ENOTDIR)));
            }
            std::path::absolute(dir).map_err(err)?
        }
        None => bundle.join("rootfs"),
    };
    // Without root, new namespaces need a user namespace: implied.
    let mut opts = opts.clone();
    opts.userns |= !rustix::process::geteuid().is_root();
    let spec = spec(&opts, &id, &rootfs)?;
    let mkdir = |p: &Path| {
        std::fs::DirBuilder::new()
            .recursive(true)
            .create(p)
            .map_err(|source| Error::CreateState {
                path: p.to_path_buf(),
                source,
            })
    };
    mkdir(&bundle)?;
    if opts.rootfs.is_none() {
        mkdir(&rootfs)?;
    }
    let config = bundle.join("config.json");
    let text = serde_json::to_vec(&spec).map_err(|e| Error::WriteSpec {
        path: config.clone(),
        source: e.into(),
    })?;
    crate::state::write_atomic(&config, &text, 0o600).map_err(|source| Error::WriteSpec {
        path: config.clone(),
        source,
    })?;
    let create = CreateOptions {
        root: opts.root.clone(),
        id,
        bundle,
        pid_file: None,
        preserve_fds: 0,
        console_socket: None,
        no_new_keyring: false,
        no_pivot: false,
    };
    crate::run::run(&create, false)
}

/// Removes the generated bundle (and the `.bundles` directory when it is
/// left empty) on every way out.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        if let Some(parent) = self.0.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// The two annotations above change what init does with the host's root
/// and PID 1: only a bundle nsbox generated itself may carry them (one in
/// `ROOT/.bundles/`), never a config an engine passes on from an image or a
/// pod, where they could show a container the host's files.
pub fn check_reserved(spec: &Spec, bundle_dir: &Path, root: &Path) -> Result<(), Error> {
    let Some(annotations) = spec.annotations() else {
        return Ok(());
    };
    let ours = std::path::absolute(root)
        .map(|r| bundle_dir.parent() == Some(r.join(BUNDLES).as_path()))
        .unwrap_or(false);
    for key in [HOST_ROOT_ANNOTATION, INIT_ANNOTATION] {
        if annotations.contains_key(key) && !ours {
            return Err(Error::ConfigField {
                file: "config.json",
                field: format!("annotations.{key:?}"),
                msg: "reserved for the bundles `nsbox run -- CMD` makes".into(),
            });
        }
    }
    Ok(())
}

/// In init, for [`HOST_ROOT_ANNOTATION`]: the host's root, with every mount
/// beneath it, bound onto the (empty) rootfs directory and made read-only
/// recursively. Runs in the container's mount namespace after `/` was made
/// private, so the host never sees it.
pub fn bind_host_root(spec: &Spec, rootfs: &Path) -> Result<(), Failure> {
    let wanted = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(HOST_ROOT_ANNOTATION))
        .is_some_and(|v| v == "ro");
    if !wanted {
        return Ok(());
    }
    let step = || Step::Mount {
        typ: "bind".into(),
        source: "/".into(),
        dest: rootfs.display().to_string(),
    };
    rustix::mount::mount_bind_recursive("/", rootfs).step(step)?;
    crate::init::mounts::set_recursive(
        rootfs,
        rustix::mount::MountFlags::RDONLY | rustix::mount::MountFlags::NODEV,
    )
    .step(|| Step::Remount {
        dest: rootfs.display().to_string(),
        options: "ro,nodev (recursive)".into(),
    })
}

/// In init, last before execve, for [`INIT_ANNOTATION`]: forks; the child
/// returns (and execs the command), this process stays PID 1: it reaps
/// every child and passes forwarded signals to the command (a blocked
/// signal counts as handled, so the kernel delivers them to a PID 1), and
/// exits with the command's status. Without the annotation, returns at once.
pub fn pid1_if_asked(spec: &Spec) {
    let wanted = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(INIT_ANNOTATION))
        .is_some_and(|v| v == "true");
    if !wanted {
        return;
    }
    let Ok(signals) = nsbox_ns::pid1::BlockedSignals::block() else {
        return; // the command runs as PID 1 itself
    };
    // SAFETY: init is a single-threaded copy of nsbox (create checked);
    // the child only restores its signal mask and execs.
    match unsafe { libc::fork() } {
        0 => signals.restore(),
        pid if pid > 0 => {
            let command = rustix::process::Pid::from_raw(pid).expect("fork returned a pid > 0");
            let code = match nsbox_ns::pid1::init_loop(command, &signals) {
                Ok(status) => status.code(),
                Err(_) => 1,
            };
            crate::init::exit(i32::from(code))
        }
        _ => signals.restore(), // no fork: the command runs as PID 1 itself
    }
}

/// Where the container gets fresh file systems of its own over the host's
/// root: a caller's directory beneath one of them does not exist inside.
const FRESH: [&str; 4] = ["/tmp", "/dev", "/proc", "/sys"];

/// The working directory `nsbox run -- CMD` keeps from its caller: the same
/// path, since the host's root is the container's, unless it lies beneath a
/// fresh mount (`/tmp`, ...), where it would not exist; then `/`. (Creating
/// it there, as an OCI bundle's missing cwd is, would leave a stray
/// directory in the command's empty /tmp.)
pub fn inherited_cwd(caller: &Path) -> PathBuf {
    if FRESH.iter().any(|f| caller.starts_with(f)) {
        PathBuf::from("/")
    } else {
        caller.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_spec_is_valid_and_isolating() {
        let opts = FriendlyOptions {
            root: "/run/nsbox".into(),
            command: vec!["ps".into()],
            cwd: "/".into(),
            ..Default::default()
        };
        let spec = spec(
            &opts,
            "nsbox-x",
            Path::new("/run/nsbox/.bundles/nsbox-x/rootfs"),
        )
        .unwrap();
        crate::bundle::validate(&spec).unwrap();
        let text = serde_json::to_string(&spec).unwrap();
        let again = crate::bundle::parse(&text).unwrap();
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
        let back = crate::seccomp::profile(linux.seccomp().as_ref().unwrap()).unwrap();
        assert_eq!(back, nsbox_seccomp::default_profile());
        assert!(linux
            .masked_paths()
            .iter()
            .flatten()
            .any(|p| p == "/run/nsbox"));
    }
}
