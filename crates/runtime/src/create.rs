//! `create`: the parent's list of steps. Everything that can be checked
//! without a process is checked first (id, config.json, rootfs, namespace
//! paths), so bad input leaves nothing behind; from the state directory on,
//! a guard removes what was made if a later step fails.
//!
//! Sync points pair with `init/mod.rs` (see `protocol::phases`).

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nsbox_ns::{CloneOptions, Forked, IdMaps, SetGroups};
use oci_spec::runtime::{ContainerState, State};

use crate::bundle::{self, Bundle};
use crate::protocol::{self, Channel, Msg, Phase};
use crate::single_thread::SingleThreaded;
use crate::state::{self, Record, StateDir};
use crate::supervise::{child_pidfd, died, reap, Reaper};
use crate::{fifo, hooks, init, placement, plan, Error};

/// What `create` needs to know (runc's `create` flags).
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// `--root`: where state lives.
    pub root: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    /// `--preserve-fds N`: descriptors 3..3+N pass to the program.
    pub preserve_fds: u32,
    /// `--console-socket`: where the pty master goes (process.terminal).
    pub console_socket: Option<PathBuf>,
    /// `--no-new-keyring`: keep the caller's session keyring.
    pub no_new_keyring: bool,
    /// `--no-pivot`: enter the rootfs by MS_MOVE onto / and chroot.
    pub no_pivot: bool,
}

/// A created container: init waits on the exec fifo.
#[derive(Debug)]
pub struct Created {
    pub pid: u32,
    /// A pidfd for the init (which is nsbox's child).
    pub pidfd: Option<OwnedFd>,
    /// The pty master, when `run` proxies the container's terminal.
    pub console: Option<OwnedFd>,
    /// Config fields that are not acted on yet ([`not_applied`]).
    pub warnings: Vec<Error>,
}

/// Creates the container and leaves its init waiting for `start`.
///
/// # Forks
///
/// Clones the container's init, but only with a [`SingleThreaded`] proof
/// taken right before: called from a process with other threads alive it
/// fails with [`Error::Threaded`] and forks nothing, so it is safe.
pub fn create(opts: &CreateOptions) -> Result<Created, Error> {
    create_with_console(opts, false)
}

/// `create`; with `proxy`, a terminal container without `--console-socket`
/// sends its pty master to us instead ([`Created::console`]): how `run`
/// gets the pty it copies to and from.
pub(crate) fn create_with_console(opts: &CreateOptions, proxy: bool) -> Result<Created, Error> {
    // Checks first: nothing exists yet, so bad input leaves nothing behind.
    state::validate_id(&opts.id)?;
    let bundle = bundle::load(&opts.bundle)?;
    let terminal = bundle.spec.process().as_ref().and_then(|p| p.terminal());
    let (console, proxy_end) = crate::console::sockets(
        terminal.unwrap_or(false),
        opts.console_socket.as_deref(),
        proxy,
        || Error::ConfigField {
            file: "config.json",
            field: "process.terminal".into(),
            msg: "true needs --console-socket (or run without --detach)".into(),
        },
    )?;
    let linux = bundle.spec.linux().as_ref().expect("validated: linux");
    let ns_plan = plan::plan(
        linux.namespaces().as_deref().unwrap_or(&[]),
        bundle::decode::time_offsets_asked(&bundle.spec),
    )?;
    crate::lsm::check(&bundle.spec)?;
    crate::extensions::check_reserved(&bundle.spec, &bundle.dir, &opts.root)?;
    let filter = crate::seccomp::prepare(&bundle.spec, &opts.root)?;
    let (listener_ours, listener_child) = crate::seccomp::listener_pair(filter.as_ref())?;
    // From here on the guard undoes what exists if a later step fails.
    let mut guard = Guard {
        dir: Some(StateDir::create(&opts.root, &opts.id)?),
        pids: Reaper::default(),
        cgroup: None,
    };
    let fifo = fifo::create(&guard.dir().fifo_path())?;
    let (placement, mut warnings) = placement::prepare(&opts.id, &bundle.spec, guard.dir())?;
    let placement = guard.cgroup.insert(placement);
    let cgroup_sync = placement.join_at_sync();
    let mut ns_plan = ns_plan;
    // A new cgroup namespace takes the cgroups of the moment it is made as
    // its root: with v1 hierarchies still to join, init makes it after
    // sync 1, not at the clone.
    let cgroupns_after_sync = cgroup_sync && late_cgroupns(&mut ns_plan.shape);
    let (parent, child) = protocol::channel_pair()?;
    // On the host's side: init could not idmap a host file system.
    let idmapped = crate::idmapped::prepare(&bundle.spec, &bundle.dir)?;
    let clone = CloneOptions {
        flags: ns_plan.shape.clone_flags,
        pidfd: true,
        cgroup: placement.clone_into(),
    };
    let alone = SingleThreaded::check()?;
    // SAFETY: `alone` proves nsbox is single-threaded here (nothing since
    // the check starts a thread), so the child owns a consistent copy of
    // memory and may allocate; it leaves only by execve or _exit
    // (`init::run` never returns).
    let (pid, pidfd) = match unsafe { alone.clone3(&clone) } {
        Ok(Forked::Child) => {
            // flock belongs to the open file: our copy of the lock fd would
            // keep the container locked (and `start` waiting) until exec.
            drop(guard.dir.take());
            // And the parent's end: when nsbox dies, init must see EOF.
            drop(parent);
            init::run(&init::Context {
                id: &opts.id,
                bundle: &bundle,
                plan: &ns_plan,
                channel: &child,
                fifo: &fifo,
                preserve_fds: opts.preserve_fds,
                console: console.as_ref(),
                seccomp: init::confine::Seccomp {
                    compiled: filter.as_ref(),
                    listener: listener_child.as_ref(),
                },
                cgroup_sync,
                cgroupns_after_sync,
                new_keyring: !opts.no_new_keyring,
                no_pivot: opts.no_pivot,
                idmapped: &idmapped,
            })
        }
        Ok(Forked::Parent { pid, pidfd }) => (pid, pidfd),
        Err(source) => return Err(Error::Clone { source }),
    };
    guard.pids.push(pid);
    let shape = ns_plan.shape;
    // The child has its copies; ours would keep the fifo's reader alive and
    // hide the child's death from the channel.
    drop((child, fifo, console, ns_plan, listener_child, idmapped));
    let (init_pid, init_pidfd) = sync(&parent, &bundle, opts, shape, (pid, pidfd), &mut guard)?;
    if let (Some(c), Some(ours)) = (&filter, &listener_ours) {
        let state = hooks::state_for(
            &bundle.spec,
            &opts.id,
            ContainerState::Creating,
            init_pid,
            &bundle.dir,
        );
        crate::seccomp::hand_over_listener(c, ours, state, init_pid)?;
    }
    let cgroup = guard.cgroup.as_ref().and_then(|p| p.handle());
    let console = match proxy_end {
        Some(socket) => Some(
            crate::console::recv_fd(socket.as_fd()).map_err(|source| Error::Console { source })?,
        ),
        None => None,
    };
    record(&guard, &bundle, opts, init_pid, cgroup)?;
    if let Some(path) = &opts.pid_file {
        state::write_pid_file(path, init_pid)?;
    }
    guard.disarm();
    Ok(Created {
        pid: init_pid,
        pidfd: init_pidfd,
        console,
        warnings: {
            warnings.extend(not_applied(&bundle.spec));
            warnings
        },
    })
}

/// What the config asks for that nsbox does not do yet: said, not hidden.
/// (Each waits for its own work.)
pub fn not_applied(spec: &oci_spec::runtime::Spec) -> Vec<Error> {
    let mut out = crate::bundle::ignored_without_mount_ns(spec);
    if let Some(linux) = spec.linux() {
        out.extend(crate::limits::ignored(
            linux.resources().as_ref(),
            "config.json",
        ));
    }
    let asks_mount_label = spec
        .linux()
        .as_ref()
        .and_then(|l| l.mount_label().as_deref())
        .is_some_and(|l| !l.is_empty());
    if asks_mount_label && crate::lsm::mount_label(spec).is_none() {
        out.push(Error::LsmIgnored {
            field: "linux.mountLabel",
            lsm: "SELinux",
        });
    }
    out
}

/// The parent's side of the sync points, in `protocol::phases` order.
/// Returns init's pid and pidfd (the grandchild's when init was forked).
fn sync(
    parent: &Channel,
    bundle: &Bundle,
    opts: &CreateOptions,
    shape: plan::Shape,
    (pid, pidfd): (u32, Option<OwnedFd>),
    guard: &mut Guard,
) -> Result<(u32, Option<OwnedFd>), Error> {
    let (mut init_pid, mut init_pidfd) = (pid, pidfd);
    let hooked = init::has_init_hooks(&bundle.spec);
    let cgroup_sync = guard.cgroup.as_ref().is_some_and(|p| p.join_at_sync());
    let sync1 = shape.new_user || cgroup_sync;
    for phase in protocol::phases(sync1, shape.extra_fork, hooked) {
        match phase {
            Phase::IdMaps => {
                // sync 1: id maps, and the v1 cgroups init was not born in
                if !parent.wait_map_request()? {
                    return Err(died(pid, "MapRequest"));
                }
                if shape.new_user {
                    id_maps(bundle)
                        .write(pid)
                        .map_err(|source| Error::IdMaps { pid, source })?;
                }
                if let Some(placement) = &guard.cgroup {
                    placement.join(pid)?;
                }
                parent
                    .send(&Msg::MapsWritten)
                    .map_err(|source| Error::Channel { source })?;
            }
            Phase::Forked => {
                // sync 2
                let Some(grandchild) = parent.wait_forked()? else {
                    return Err(died(pid, "Forked"));
                };
                guard.pids.push(grandchild);
                reap(pid);
                init_pid = grandchild;
                init_pidfd = child_pidfd(grandchild);
            }
            Phase::Hooks => {
                // sync 3
                if !parent.wait_hooks_request()? {
                    return Err(died(init_pid, "HooksRequest"));
                }
                // linux.netDevices before any hook, as runc: hooks see them.
                crate::netdevices::move_all(&bundle.spec, init_pid)?;
                // prestart is the legacy hook of `start` time: it reads
                // `created` (what runtime-tools checks); createRuntime runs
                // while the container is still being made.
                for (kind, status) in [
                    (hooks::Kind::Prestart, ContainerState::Created),
                    (hooks::Kind::CreateRuntime, ContainerState::Creating),
                ] {
                    let state =
                        hooks::state_for(&bundle.spec, &opts.id, status, init_pid, &bundle.dir);
                    hooks::run(kind, &hooks::list(&bundle.spec, kind), &state)?;
                }
                parent
                    .send(&Msg::HooksDone { pid: init_pid })
                    .map_err(|source| Error::Channel { source })?;
            }
            Phase::Ready => {
                // sync 4
                if !parent.wait_ready()? {
                    return Err(died(init_pid, "Ready"));
                }
                if !hooked {
                    // init is in its final namespaces (no hook point came).
                    crate::netdevices::move_all(&bundle.spec, init_pid)?;
                }
            }
        }
    }
    Ok((init_pid, init_pidfd))
}

/// `linux.uidMappings`/`gidMappings` as nsbox-ns id maps.
fn id_maps(bundle: &Bundle) -> IdMaps {
    let linux = bundle.spec.linux().as_ref().expect("validated: linux");
    let ranges = crate::idmapped::ranges;
    let gid = ranges(linux.gid_mappings());
    // Unprivileged, a process may map only its own gid, and only after
    // giving up setgroups (user_namespaces(7)); what runc --rootless does.
    let own_gid_only = rustix::process::geteuid().as_raw() != 0
        && matches!(gid.as_slice(), [r] if r.count == 1
            && r.outside == rustix::process::getegid().as_raw());
    IdMaps {
        uid: ranges(linux.uid_mappings()),
        gid,
        setgroups: own_gid_only.then_some(SetGroups::Deny),
    }
}

/// Writes state.json: `created`, with the pid and its start time.
fn record(
    guard: &Guard,
    bundle: &Bundle,
    opts: &CreateOptions,
    pid: u32,
    cgroup: Option<nsbox_cgroups::Cgroup>,
) -> Result<(), Error> {
    let id = &opts.id;
    let start_time = crate::liveness::start_time(pid)
        .map_err(|source| Error::ProcStat { pid, source })?
        .ok_or_else(|| died(pid, "state"))?;
    let mut oci = State::default();
    oci.set_version(bundle.spec.version().clone());
    oci.set_id(id.to_string());
    oci.set_status(ContainerState::Created);
    oci.set_pid(Some(pid as i32));
    oci.set_bundle(bundle.dir.clone());
    oci.set_annotations(bundle.spec.annotations().clone());
    guard.dir().write(&Record {
        oci,
        rootfs: bundle.rootfs.clone(),
        created: state::now_rfc3339(),
        owner: owner_name(),
        start_time,
        hooks: bundle.spec.hooks().clone(),
        cgroup,
        no_new_keyring: opts.no_new_keyring,
    })
}

/// The user name of our uid, as runc reports `owner`.
fn owner_name() -> String {
    nsbox_ns::passwd::Users::load().name(rustix::process::getuid().as_raw())
}

/// Takes `CLONE_NEWCGROUP` out of the clone and the early unshare, for
/// init to unshare after sync 1; true if the config asked for one.
fn late_cgroupns(shape: &mut plan::Shape) -> bool {
    let flag = libc::CLONE_NEWCGROUP as u64;
    let wanted = (shape.clone_flags | shape.unshare_flags) & flag != 0;
    shape.clone_flags &= !flag;
    shape.unshare_flags &= !flag;
    wanted
}

/// Undoes a half-made container: kills and reaps what was cloned, then
/// removes its cgroup (what is left in it killed first) and the state
/// directory.
struct Guard {
    dir: Option<StateDir>,
    pids: Reaper,
    cgroup: Option<placement::Placement>,
}

impl Guard {
    fn dir(&self) -> &StateDir {
        self.dir
            .as_ref()
            .expect("guard holds the state dir until disarmed")
    }

    fn disarm(&mut self) {
        self.dir = None;
        self.pids.disarm();
        if let Some(placement) = self.cgroup.as_mut() {
            placement.keep();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        drop(std::mem::take(&mut self.pids));
        drop(self.cgroup.take());
        if let Some(dir) = self.dir.take() {
            let _ = dir.remove();
        }
    }
}
