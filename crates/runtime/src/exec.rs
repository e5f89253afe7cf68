//! `exec`: runs a new process inside a created or running container, with
//! the container's process settings (config.json `process`) as the base,
//! or a whole `process.json` (`--process`), and runc's overrides.
//!
//! One clone (no namespace flags); the child joins the init's namespaces
//! through a pidfd; a second fork only when the container has its own PID
//! (or time) namespace, cloned with CLONE_PARENT so the process is nsbox's
//! child and its status is ours to report.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nsbox_ns::{CloneOptions, Forked, NsKind};
use oci_spec::runtime::{Capability, Process, Spec};

use crate::console;
use crate::init::exec::{needs_fork, ExecContext};
use crate::liveness::open_checked;
use crate::protocol::{self, Phase};
use crate::single_thread::SingleThreaded;
use crate::state::StateDir;
use crate::supervise::{self, child_pidfd, died, reap, Reaper};
use crate::{bundle, Error};

/// runc's `exec` flags.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub root: PathBuf,
    pub id: String,
    /// `--process FILE`: the whole process, instead of config.json's.
    pub process: Option<PathBuf>,
    /// The command and its arguments (replace the base's).
    pub args: Vec<String>,
    /// `--env NAME=VALUE`: replaces the base's NAME where it has one (in
    /// its place), else added at the end.
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// `--user UID[:GID]`.
    pub user: Option<(u32, Option<u32>)>,
    pub additional_gids: Vec<u32>,
    /// `--cap CAP_X`, added to every capability set.
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    /// `--tty`: give the process a pty (process.terminal).
    pub tty: bool,
    /// `--console-socket`: where the pty master goes.
    pub console_socket: Option<PathBuf>,
}

/// Runs the process; returns its exit code (0 when detached).
///
/// # Forks
///
/// Clones the new process only with a [`SingleThreaded`] proof taken right
/// before: with other threads alive it fails with [`Error::Threaded`] and
/// forks nothing, so it is safe.
pub fn exec(opts: &ExecOptions) -> Result<u8, Error> {
    let (record, spec) = {
        let dir = StateDir::open_read(&opts.root, &opts.id)?;
        let record = dir.read()?;
        let spec = bundle::load(record.oci.bundle())?.spec;
        (record, spec)
    };
    let stopped = || Error::WrongStatus {
        id: opts.id.clone(),
        status: "stopped",
        wanted: "created or running",
    };
    let init_pid = record.live_pid().ok_or_else(stopped)?;
    let pidfd = open_checked(init_pid, record.start_time).ok_or_else(stopped)?;
    let mut process = build_process(opts, &spec)?;
    let base = spec.process().as_ref();
    let initial = bundle::sched::exec_process(&mut process, opts.process.is_some(), base)?;
    if let Some(cpus) = &initial {
        // Inherited by the clone: the process starts on these CPUs, in
        // nsbox's cgroup, and joins the container's after (exec_placement).
        crate::init::affinity::set(&cpus.mask).map_err(|source| Error::ExecAffinity {
            cpus: cpus.list.clone(),
            source,
        })?;
    }
    crate::lsm::check_process(&process)?;
    // As runc: an exec'd process gets the container's filter.
    let filter = crate::seccomp::prepare(&spec, &opts.root)?;
    let (listener_ours, listener_child) = crate::seccomp::listener_pair(filter.as_ref())?;
    let kinds = differing_namespaces(init_pid);
    let extra_fork = needs_fork(&kinds);
    let (console, proxy_end) = console::sockets(
        process.terminal().unwrap_or(false),
        opts.console_socket.as_deref(),
        !opts.detach,
        || Error::ConfigField {
            file: "exec",
            field: "terminal".into(),
            msg: "--tty with --detach needs --console-socket".into(),
        },
    )?;
    let signals = if opts.detach {
        None
    } else {
        Some(supervise::block_signals()?)
    };
    let (parent, child) = protocol::channel_pair()?;
    let (cgroup_fd, cgroup_procs) = crate::placement::exec_placement(&record, initial.is_none())?;
    let clone = CloneOptions {
        flags: 0,
        pidfd: true,
        cgroup: cgroup_fd.as_ref().map(|f| f.as_fd()),
    };
    let alone = SingleThreaded::check()?;
    // SAFETY: `alone` proves nsbox is single-threaded here (nothing since
    // the check starts a thread), so the child may allocate;
    // `init::exec::run` never returns: it execs or _exits.
    let (pid, mut proc_fd) = match unsafe { alone.clone3(&clone) } {
        Ok(Forked::Child) => {
            drop(parent);
            crate::init::exec::run(&ExecContext {
                process: &process,
                pidfd: &pidfd,
                init_pid,
                kinds: &kinds,
                channel: &child,
                preserve_fds: opts.preserve_fds,
                console: console.as_ref(),
                seccomp: crate::init::confine::Seccomp {
                    compiled: filter.as_ref(),
                    listener: listener_child.as_ref(),
                },
                cgroup_procs: &cgroup_procs,
                keyring: (!record.no_new_keyring).then_some(opts.id.as_str()),
                personality: spec.linux().as_ref().and_then(|l| l.personality().as_ref()),
                mem_policy: spec
                    .linux()
                    .as_ref()
                    .and_then(|l| l.memory_policy().as_ref()),
            })
        }
        Ok(Forked::Parent { pid, pidfd }) => (pid, pidfd),
        Err(source) => return Err(Error::Clone { source }),
    };
    drop((child, console, listener_child));
    let mut guard = Reaper::default();
    guard.push(pid);
    let mut exec_pid = pid;
    for phase in protocol::phases(false, extra_fork, false) {
        match phase {
            Phase::IdMaps | Phase::Hooks => unreachable!("exec has no maps or hooks"),
            Phase::Forked => {
                let Some(grandchild) = parent.wait_forked()? else {
                    return Err(died(pid, "Forked"));
                };
                guard.push(grandchild);
                reap(pid);
                exec_pid = grandchild;
                proc_fd = child_pidfd(grandchild);
            }
            Phase::Ready => {
                if !parent.wait_ready()? {
                    return Err(died(exec_pid, "Ready"));
                }
            }
        }
    }
    if let (Some(c), Some(ours)) = (&filter, &listener_ours) {
        let mut state = record.oci.clone();
        state.set_status(record.live_status());
        crate::seccomp::hand_over_listener(c, ours, state, exec_pid)?;
    }
    if let Some(path) = &opts.pid_file {
        crate::state::write_pid_file(path, exec_pid)?;
    }
    guard.disarm();
    let Some(signals) = signals else {
        return Ok(0);
    };
    let master = proxy_end
        .map(|socket| console::recv_fd(socket.as_fd()).map_err(|source| Error::Console { source }))
        .transpose()?;
    supervise::wait(exec_pid, proc_fd.as_ref(), &signals, master.as_ref())
}

/// The container's process settings with runc's `exec` overrides applied.
fn build_process(opts: &ExecOptions, spec: &Spec) -> Result<Process, Error> {
    let mut p = match &opts.process {
        Some(path) => read_process(path)?,
        None => spec.process().clone().unwrap_or_default(),
    };
    if !opts.args.is_empty() {
        p.set_args(Some(opts.args.clone()));
    }
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::ConfigField {
            file: "exec",
            field: "args".into(),
            msg: "no command to run".into(),
        });
    }
    if !opts.env.is_empty() {
        let env = p.env().clone().unwrap_or_default();
        p.set_env(Some(merge_env(env, &opts.env)));
    }
    if let Some(cwd) = &opts.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some((uid, gid)) = opts.user {
        let mut user = p.user().clone();
        user.set_uid(uid);
        if let Some(gid) = gid {
            user.set_gid(gid);
        }
        p.set_user(user);
    }
    if !opts.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(opts.additional_gids.clone()));
        p.set_user(user);
    }
    if !opts.caps.is_empty() {
        let mut c = p.capabilities().clone().unwrap_or_default();
        for name in &opts.caps {
            let cap: Capability =
                name.trim_start_matches("CAP_")
                    .parse()
                    .map_err(|_| Error::ConfigField {
                        file: "exec",
                        field: "--cap".into(),
                        msg: format!("unknown capability {name:?}"),
                    })?;
            let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = s.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            c.set_bounding(add(c.bounding()));
            c.set_effective(add(c.effective()));
            c.set_permitted(add(c.permitted()));
            c.set_ambient(add(c.ambient()));
        }
        p.set_capabilities(Some(c));
    }
    if opts.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if opts.tty {
        p.set_terminal(Some(true));
    }
    Ok(p)
}

/// `exec --env` over the base's environment, as runc: a variable the base
/// has takes the new value in the base's place (later copies of it go), so
/// `getenv` and `printenv` see the command line's value; a new one is
/// appended, in command-line order.
fn merge_env(mut env: Vec<String>, overrides: &[String]) -> Vec<String> {
    let name = |e: &str| e.split_once('=').map_or(e, |(n, _)| n).to_string();
    for o in overrides {
        let key = name(o);
        match env.iter().position(|e| name(e) == key) {
            Some(first) => {
                env[first] = o.clone();
                let mut i = first + 1;
                while i < env.len() {
                    if name(&env[i]) == key {
                        env.remove(i);
                    } else {
                        i += 1;
                    }
                }
            }
            None => env.push(o.clone()),
        }
    }
    env
}

fn read_process(path: &Path) -> Result<Process, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    bundle::parse_json("process.json", &text)
}

/// The namespaces of `pid` that are not ours (setns into our own user
/// namespace would fail, and joining the others again is wasted work).
fn differing_namespaces(pid: u32) -> Vec<NsKind> {
    let me = std::process::id();
    NsKind::ALL
        .into_iter()
        .filter(|k| {
            match (nsbox_ns::ns_of_pid(pid, *k), nsbox_ns::ns_of_pid(me, *k)) {
                (Ok(a), Ok(b)) => a != b,
                // A kind this kernel lacks (time before 5.6): skip it.
                _ => false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exec_env_replaces_in_place_and_appends_the_rest() {
        let base = strings(&[
            "PATH=/bin",
            "MY_VAR=from_spec",
            "TERM=xterm",
            "MY_VAR=again",
        ]);
        let merged = merge_env(base, &strings(&["MY_VAR=from_cli", "NEW=1", "PATH=/sbin"]));
        assert_eq!(
            merged,
            strings(&["PATH=/sbin", "MY_VAR=from_cli", "TERM=xterm", "NEW=1"])
        );
    }
}
