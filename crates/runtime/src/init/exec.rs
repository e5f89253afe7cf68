//! The child of `exec`: a new process in a running container. It joins
//! every namespace of the container's init at once through its pidfd
//! (atomic, and immune to pid reuse), forks once more only when that
//! includes a PID namespace (setns affects only children), then applies the
//! process's CPU affinity, user, capabilities, rlimits, scheduling, memory
//! policy, cwd and execs.
//!
//! Sync points, mirrored in `exec.rs`: `Forked { pid }` when forked,
//! then `Ready` (or `Failed`).

use std::os::fd::{AsFd, OwnedFd};

use nsbox_ns::NsKind;
use oci_spec::runtime::Process;

use super::{exit, process};
use crate::protocol::{Channel, Msg};
use crate::step::Step;
use crate::step::{Failure, StepResult};

pub(crate) struct ExecContext<'a> {
    pub process: &'a Process,
    pub pidfd: &'a OwnedFd,
    pub init_pid: u32,
    /// The init's namespaces that differ from ours.
    pub kinds: &'a [NsKind],
    pub channel: &'a Channel,
    pub preserve_fds: u32,
    /// Connected console socket, when `process.terminal` is true.
    pub console: Option<&'a OwnedFd>,
    /// The container's `linux.seccomp`, compiled by the parent (as runc,
    /// exec'd processes get the container's filter).
    pub seccomp: super::confine::Seccomp<'a>,
    /// The container's `cgroup.procs` files it was not born in (v1, and
    /// all of them after an `execCPUAffinity.initial`), joined first
    /// (placement.rs).
    pub cgroup_procs: &'a [std::path::PathBuf],
    /// The container's id when its init made a session keyring to join.
    pub keyring: Option<&'a str>,
    /// The container's `linux.personality` (a clone of nsbox does not
    /// inherit init's).
    pub personality: Option<&'a oci_spec::runtime::LinuxPersonality>,
    /// The container's `linux.memoryPolicy` (as runc, exec'd processes get it).
    pub mem_policy: Option<&'a oci_spec::runtime::LinuxMemoryPolicy>,
}

/// Entry point after the clone (of a single-threaded nsbox, see `exec`);
/// it may fork again (`namespaces::fork_init`). Never returns.
pub(crate) fn run(ctx: &ExecContext<'_>) -> ! {
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

fn steps(ctx: &ExecContext<'_>) -> Result<std::convert::Infallible, Failure> {
    let p = ctx.process;
    for procs in ctx.cgroup_procs {
        std::fs::write(procs, "0").step(|| Step::JoinCgroup {
            path: procs.display().to_string(),
        })?;
    }
    if !ctx.kinds.is_empty() {
        nsbox_ns::join_pidfd(ctx.pidfd.as_fd(), ctx.init_pid, ctx.kinds).map_err(|e| Failure {
            step: Step::JoinNs {
                kind: ctx
                    .kinds
                    .iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                path: format!("pidfd:{}", ctx.init_pid),
            },
            errno: e.errno().unwrap_or(libc::EIO),
        })?;
    }
    if !ctx.kinds.contains(&NsKind::Mnt) {
        enter_init_root(ctx.init_pid)?;
    }
    if let Some(id) = ctx.keyring {
        super::keyring::join_existing(id)?;
    }
    if needs_fork(ctx.kinds) {
        super::namespaces::fork_init(ctx.channel)?;
    }
    super::affinity::exec_final(p)?; // in the container's cgroup and namespaces now
    if let Some(socket) = ctx.console {
        // A new session, so the pty can become its controlling terminal.
        rustix::process::setsid().step(|| Step::Setsid)?;
        let size = p
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16));
        crate::console::setup(socket, size, false)?;
    }
    super::personality::apply(ctx.personality)?;
    process::rlimits(p)?;
    super::sched::apply(p)?;
    super::mempolicy::apply(ctx.mem_policy)?;
    super::confine::exec_label(p)?;
    ctx.seccomp.before_caps(p)?;
    process::user_and_caps(p)?;
    if p.no_new_privileges().unwrap_or(false) {
        rustix::thread::set_no_new_privs(true).step(|| Step::NoNewPrivs)?;
    }
    let cwd = p.cwd();
    rustix::process::chdir(cwd).step(|| Step::Chdir {
        path: cwd.display().to_string(),
    })?;
    let args = p.args().as_deref().unwrap_or(&[]);
    let env = process::with_home(p.env().as_deref().unwrap_or(&[]), p.user().uid());
    let env = &env[..];
    let program = process::find_program(&args[0], env)?;
    if let Some(mask) = p.user().umask() {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
    }
    ctx.seccomp.last(p)?;
    ctx.channel.send(&Msg::Ready).step(|| Step::Send)?;
    process::reset_signals();
    process::cloexec_from(3 + ctx.preserve_fds);
    let err = process::exec(&program, args, env);
    eprintln!("nsbox: exec {:?}: {}", args[0], super::strip_os(&err));
    exit(process::exec_failed_status(&err))
}

/// setns into a PID or time namespace changes only what children get.
pub fn needs_fork(kinds: &[NsKind]) -> bool {
    kinds.contains(&NsKind::Pid) || kinds.contains(&NsKind::Time)
}

/// A container without a mount namespace of its own lives in ours, chrooted
/// into its rootfs (bundle.rs): setns gave us no root, so take the init's
/// (`/proc/PID/root`; the pid was checked against the pidfd by `exec`)
/// when it differs from ours.
fn enter_init_root(init_pid: u32) -> Result<(), Failure> {
    let root = format!("/proc/{init_pid}/root");
    let step = || Step::Chroot { path: root.clone() };
    let theirs = rustix::fs::stat(root.as_str()).step(step)?;
    let ours = rustix::fs::stat("/").step(step)?;
    if (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino) {
        return Ok(());
    }
    rustix::process::chroot(root.as_str()).step(step)?;
    rustix::process::chdir("/").step(step)
}
