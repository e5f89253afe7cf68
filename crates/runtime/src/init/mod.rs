//! The container's init: what the cloned child does, as a list of steps in
//! kernel order, from namespaces to exec. It runs in a copy of nsbox made
//! by clone3 from a single-threaded process (create checks), so it may
//! allocate; it never returns: it execs the container's program or sends
//! its failure (step + errno) to the parent and `_exit`s.
//!
//! Sync points (see `protocol::phases`), mirrored in `create.rs`:
//! 1. `MapRequest` → `MapsWritten`: a new user namespace gets its maps;
//! 2. `Forked { pid }`: only when the kernel forces a second process;
//! 3. `Ready`: built; init then blocks on the exec fifo until `start`.

pub mod affinity;
pub mod cgroup_mount;
pub mod confine;
pub mod copyup;
pub mod devices;
pub mod enter_root;
pub mod exec;
pub mod keyring;
pub mod mask;
pub mod mempolicy;
pub mod mounts;
pub mod namespaces;
pub mod net;
pub mod paths;
pub mod personality;
pub mod process;
pub mod readonly;
pub mod sched;
pub mod timens;

use std::io;
use std::os::fd::OwnedFd;

use nsbox_ns::NsKind;
use oci_spec::runtime::{ContainerState, LinuxNamespaceType, Spec};

use crate::hooks;

use crate::bundle::Bundle;
use crate::plan::NsPlan;
use crate::protocol::{Channel, Msg};
use crate::step::{Failure, Step, StepResult};

/// Everything init needs, borrowed from the parent's memory (a copy, after
/// the clone).
pub(crate) struct Context<'a> {
    pub id: &'a str,
    pub bundle: &'a Bundle,
    pub plan: &'a NsPlan,
    pub channel: &'a Channel,
    /// The exec fifo's read end.
    pub fifo: &'a OwnedFd,
    /// `--preserve-fds`: descriptors 3..3+N pass to the program.
    pub preserve_fds: u32,
    /// Connected console socket, when `process.terminal` is true.
    pub console: Option<&'a OwnedFd>,
    /// `linux.seccomp`, compiled by the parent.
    pub seccomp: confine::Seccomp<'a>,
    /// Sync 1 also waits for the parent to add us to v1 cgroups.
    pub cgroup_sync: bool,
    /// Unshare the config's new cgroup namespace after that (placement.rs).
    pub cgroupns_after_sync: bool,
    /// Join a session keyring of the container's own (not
    /// `--no-new-keyring`).
    pub new_keyring: bool,
    /// `--no-pivot`: MS_MOVE + chroot instead of pivot_root.
    pub no_pivot: bool,
    /// Per `mounts[i]`: the detached idmapped tree create made (on the
    /// host's side, which may idmap), to attach instead of a bind.
    pub idmapped: &'a [Option<OwnedFd>],
}

/// Init's entry point after the clone (of a single-threaded nsbox, see
/// `create`); it may fork again (`namespaces::fork_init`). Never returns.
pub(crate) fn run(ctx: &Context<'_>) -> ! {
    let failure = match steps(ctx) {
        Ok(never) => match never {},
        Err(f) => f,
    };
    let _ = ctx.channel.send(&Msg::Failed {
        step: failure.step,
        errno: failure.errno,
    });
    exit(1)
}

pub(crate) fn exit(code: i32) -> ! {
    // SAFETY: _exit ends this process at once; skipping destructors and
    // atexit handlers is the point (they belong to the parent's copy).
    unsafe { libc::_exit(code) }
}

/// The list. Each call is one step; the order is the kernel's.
fn steps(ctx: &Context<'_>) -> Result<std::convert::Infallible, Failure> {
    let spec = &ctx.bundle.spec;
    let process = spec.process().as_ref().expect("validated: process");
    rustix::process::umask(rustix::fs::Mode::empty());
    namespaces::enter(ctx)?; // sync 1 inside
    affinity::reset()?; // in the cgroup now: its cpuset, not our caller's pinning
    if ctx.new_keyring {
        keyring::create(ctx.id, has_userns(spec))?; // as runc: in the user ns
    }
    if (ctx.plan.shape.clone_flags | ctx.plan.shape.unshare_flags) & NsKind::Net.clone_flag() != 0 {
        net::loopback_up()?; // a new network namespace: lo up, as runc
    }
    if ctx.plan.shape.extra_fork {
        namespaces::fork_init(ctx.channel)?; // sync 2; only the new init returns
    }
    rustix::process::setsid().step(|| Step::Setsid)?;
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .step(|| Step::OomScoreAdj { value: adj })?;
    }
    let linux = spec.linux().as_ref().expect("validated: linux");
    let own_mounts = crate::bundle::has_mount_ns(spec);
    if own_mounts {
        rootfs(ctx)?;
    } else {
        // The host's mount namespace: nothing is mounted (bundle.rs).
        create_cwd(ctx)?;
    }
    let host_pid = runtime_hooks(ctx)?; // sync 3, when there are hooks
    if own_mounts {
        if ctx.no_pivot {
            enter_root::move_root(&ctx.bundle.rootfs)?;
        } else {
            enter_root::pivot_root(&ctx.bundle.rootfs)?;
        }
        mounts::apply_root_propagation(linux.rootfs_propagation().as_deref())?;
        terminal(ctx)?;
        sysctls(spec)?;
        seal(spec)?;
    } else {
        // The container's /proc/sys is the host's /proc/sys seen from our
        // own (net, ipc) namespaces: written before the rootfs hides it.
        sysctls(spec)?;
        enter_root::chroot(&ctx.bundle.rootfs)?;
    }
    identity(spec)?;
    personality::apply(linux.personality().as_ref())?; // before any seccomp filter
    process::rlimits(process)?;
    sched::apply(process)?; // with our privileges still, as runc
    mempolicy::apply(linux.memory_policy().as_ref())?;
    confine::exec_label(process)?;
    ctx.seccomp.before_caps(process)?; // without no_new_privs: needs CAP_SYS_ADMIN
    process::user_and_caps(process)?;
    if process.no_new_privileges().unwrap_or(false) {
        rustix::thread::set_no_new_privs(true).step(|| Step::NoNewPrivs)?;
    }
    let cwd = process.cwd();
    crate::extensions::chdir(spec, cwd).step(|| Step::Chdir {
        path: cwd.display().to_string(),
    })?;
    let args = process.args().as_deref().expect("validated: args");
    let env = process::with_home(
        process.env().as_deref().unwrap_or(&[]),
        process.user().uid(),
    );
    let env = &env[..];
    let program = process::find_program(&args[0], env)?;
    let umask = process.user().umask().unwrap_or(0o022);
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(umask));
    ctx.seccomp.last(process)?; // with no_new_privs: as late as possible
    ctx.channel.send(&Msg::Ready).step(|| Step::Send)?; // sync 4
    if crate::fifo::wait(ctx.fifo).is_err() {
        exit(1);
    }
    init_hooks(
        ctx,
        hooks::Kind::StartContainer,
        host_pid,
        ContainerState::Running,
        env,
    );
    process::reset_signals();
    process::cloexec_from(3 + ctx.preserve_fds);
    // SAFETY: init is a copy of nsbox cloned while it had one thread
    // (create checks) and it started none.
    if let Some(code) = unsafe { crate::extensions::pid1_if_asked(spec) } {
        exit(code); // PID 1 is done: the program ended with `code`
    }
    let err = process::exec(&program, args, env);
    // Nobody listens on the channel any more: the program's stderr is the
    // only place left to say why it did not start.
    eprintln!("nsbox: exec {:?}: {}", args[0], strip_os(&err));
    exit(process::exec_failed_status(&err))
}

pub(crate) fn strip_os(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Builds the tree under the rootfs: propagation, self-bind, mounts in
/// config order, devices, /dev links.
fn rootfs(ctx: &Context<'_>) -> Result<(), Failure> {
    let spec = &ctx.bundle.spec;
    let linux = spec.linux().as_ref().expect("validated: linux");
    let rootfs = &ctx.bundle.rootfs;
    mounts::prepare_root(rootfs, linux.rootfs_propagation().as_deref())?;
    crate::extensions::bind_host_root(spec, rootfs, mounts::set_recursive)?;
    let root = paths::Root::open(rootfs).step(|| Step::BindRootfs {
        path: rootfs.display().to_string(),
    })?;
    let label = crate::lsm::mount_label(spec);
    let cgroupns = linux
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Cgroup);
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let idmapped = ctx.idmapped.get(i).and_then(Option::as_ref);
        let idmapped = idmapped.map(std::os::fd::AsFd::as_fd);
        match label {
            Some(label) => mounts::mount_one(
                &root,
                &ctx.bundle.dir,
                &confine::with_mount_label(m, label),
                cgroupns,
                idmapped,
            )?,
            None => mounts::mount_one(&root, &ctx.bundle.dir, m, cgroupns, idmapped)?,
        }
    }
    create_cwd_in(&root, spec)?;
    // a new user namespace, or the runtime's own (rootless podman's): mknod
    // is refused there either way
    let in_userns = has_userns(spec) || nsbox_ns::idmap::in_user_namespace();
    let list = devices::all(linux.devices().as_deref().unwrap_or(&[]));
    devices::create(&root, &list, in_userns)?;
    devices::links(&root)
}

/// As runc: a missing process.cwd is created (as root, before the user
/// changes), so images need not ship every working directory.
fn create_cwd_in(root: &paths::Root, spec: &Spec) -> Result<(), Failure> {
    if crate::extensions::cwd_is_a_wish(spec) {
        return Ok(()); // never made: init falls back to `/` instead
    }
    let cwd = spec.process().as_ref().expect("validated: process").cwd();
    root.resolve_create(cwd, paths::Leaf::Dir)
        .step(|| Step::Resolve {
            path: cwd.display().to_string(),
        })?;
    Ok(())
}

/// [`create_cwd_in`] for a container without a mount namespace (no tree
/// is built there).
fn create_cwd(ctx: &Context<'_>) -> Result<(), Failure> {
    let rootfs = &ctx.bundle.rootfs;
    let root = paths::Root::open(rootfs).step(|| Step::Resolve {
        path: rootfs.display().to_string(),
    })?;
    create_cwd_in(&root, &ctx.bundle.spec)
}

/// Sync 3, only when the config has hooks that run before exec: the parent
/// runs prestart and createRuntime hooks and tells us our pid as it sees
/// it; then createContainer hooks run here. Returns that pid (0 without
/// hooks) for the startContainer hooks' state.
fn runtime_hooks(ctx: &Context<'_>) -> Result<u32, Failure> {
    if !has_init_hooks(&ctx.bundle.spec) {
        return Ok(0);
    }
    ctx.channel.send(&Msg::HooksRequest).step(|| Step::Send)?;
    let Ok(Some(pid)) = ctx.channel.wait_hooks_done() else {
        // The parent failed (a hook did) and reports it; it reaps us.
        exit(1)
    };
    let process = ctx.bundle.spec.process().as_ref();
    init_hooks(
        ctx,
        hooks::Kind::CreateContainer,
        pid,
        ContainerState::Creating,
        process.and_then(|p| p.env().as_deref()).unwrap_or(&[]),
    );
    Ok(pid)
}

/// `process.terminal`: the pty, after pivot_root (from the container's
/// devpts), its master to the console socket.
fn terminal(ctx: &Context<'_>) -> Result<(), Failure> {
    let Some(socket) = ctx.console else {
        return Ok(());
    };
    let process = ctx
        .bundle
        .spec
        .process()
        .as_ref()
        .expect("validated: process");
    let size = process
        .console_size()
        .as_ref()
        .map(|b| (b.height() as u16, b.width() as u16));
    crate::console::setup(socket, size, true)
}

/// Whether create needs the hooks sync point: hooks that run before exec.
pub fn has_init_hooks(spec: &Spec) -> bool {
    [
        hooks::Kind::Prestart,
        hooks::Kind::CreateRuntime,
        hooks::Kind::CreateContainer,
        hooks::Kind::StartContainer,
    ]
    .into_iter()
    .any(|k| !hooks::list(spec, k).is_empty())
}

/// createContainer (before pivot_root) and startContainer (after start)
/// run here, in the container's namespaces; a hook without `env` gets
/// `env`, the container process's (as runc and youki). A failure ends
/// init: reported to create when it still listens, else on the
/// container's stderr.
fn init_hooks(
    ctx: &Context<'_>,
    kind: hooks::Kind,
    pid: u32,
    status: ContainerState,
    env: &[String],
) {
    let list = hooks::list(&ctx.bundle.spec, kind);
    if list.is_empty() {
        return;
    }
    let state = hooks::state_for(&ctx.bundle.spec, ctx.id, status, pid, &ctx.bundle.dir);
    let Err(err) = hooks::run_with_env(kind, &list, &state, env) else {
        return;
    };
    let crate::Error::Hook {
        kind,
        index,
        path,
        source,
    } = err
    else {
        exit(1)
    };
    if kind == hooks::Kind::StartContainer.name() {
        eprintln!("nsbox: {kind} hook[{index}] {}: {source}", path.display());
    } else {
        let _ = ctx.channel.send(&Msg::HookFailed {
            kind: kind.to_string(),
            index,
            path: path.display().to_string(),
            why: source.to_string(),
        });
    }
    exit(1)
}

fn has_userns(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::User))
}

/// `linux.sysctl`, through /proc/sys.
fn sysctls(spec: &Spec) -> Result<(), Failure> {
    let linux = spec.linux().as_ref().expect("validated: linux");
    for (key, value) in linux.sysctl().iter().flatten() {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        std::fs::write(&path, value).step(|| Step::Sysctl { key: key.clone() })?;
    }
    Ok(())
}

/// Inside the new root: masked and read-only paths, read-only root.
fn seal(spec: &Spec) -> Result<(), Failure> {
    let linux = spec.linux().as_ref().expect("validated: linux");
    for p in linux.masked_paths().iter().flatten() {
        mask::path(p)?;
    }
    for p in linux.readonly_paths().iter().flatten() {
        readonly::path(p)?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        readonly::root()?;
    }
    Ok(())
}

/// hostname and domainname (validated to come with a UTS namespace of the
/// container's own, new or joined).
fn identity(spec: &Spec) -> Result<(), Failure> {
    if let Some(name) = spec.hostname() {
        rustix::system::sethostname(name.as_bytes())
            .step(|| Step::Hostname { name: name.clone() })?;
    }
    if let Some(name) = spec.domainname() {
        rustix::system::setdomainname(name.as_bytes())
            .step(|| Step::Domainname { name: name.clone() })?;
    }
    Ok(())
}
