//! init's namespaces: those joined by path (user first), those unshared
//! after them, the id maps of a new user namespace (sync 1), and the
//! second process the kernel forces when init must be born into a PID or
//! time namespace the clone could not enter (sync 2).

use std::io;

use nsbox_ns::{CloneOptions, Forked, NsKind};

use super::{exit, Context};
use crate::protocol::{Channel, Msg};
use crate::step::{Failure, Step, StepResult};

/// Joins the namespaces given by path (user first), unshares the new ones
/// the clone could not create, and, for a new user namespace, asks the
/// parent for id maps (sync 1) and becomes root in it.
pub(crate) fn enter(ctx: &Context<'_>) -> Result<(), Failure> {
    for ns in &ctx.plan.joins {
        ns.join().map_err(|e| Failure {
            step: Step::JoinNs {
                kind: ns.kind().to_string(),
                path: ns.path().display().to_string(),
            },
            errno: e.errno().unwrap_or(libc::EIO),
        })?;
    }
    let unshare = ctx.plan.shape.unshare_flags;
    if unshare != 0 {
        // SAFETY: unshare with CLONE_NEW* flags only (no CLONE_FILES/VM/
        // SIGHAND), on a single-threaded process: no fd table or memory is
        // unshared under anyone's feet.
        let r = unsafe { libc::unshare(unshare as libc::c_int) };
        if r != 0 {
            let kinds: Vec<String> = NsKind::ALL
                .into_iter()
                .filter(|k| unshare & k.clone_flag() != 0)
                .map(|k| k.to_string())
                .collect();
            return Err(io::Error::last_os_error()).step(|| Step::Unshare {
                kinds: kinds.join(","),
            });
        }
        if unshare & NsKind::Time.clone_flag() != 0 {
            // Before the fork that enters it (fork_init) freezes them.
            super::timens::apply(&ctx.bundle.spec)?;
        }
    }
    if ctx.plan.shape.new_user || ctx.cgroup_sync {
        ctx.channel.send(&Msg::MapRequest).step(|| Step::Send)?;
        match ctx.channel.wait_maps_written() {
            Ok(true) => {}
            // The parent gave up (and will reap us): nothing to report to.
            _ => exit(1),
        }
    }
    if ctx.cgroupns_after_sync {
        // SAFETY: CLONE_NEWCGROUP only: no fd table or memory is unshared
        // (the hazard unshare_unsafe guards against is CLONE_FILES).
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWCGROUP) }.step(
            || Step::Unshare {
                kinds: "cgroup".into(),
            },
        )?;
    }
    if ctx.plan.shape.new_user {
        become_root_if_mapped().step(|| Step::SetIds)?;
    } else if ctx.plan.joins.iter().any(|f| f.kind() == NsKind::User) {
        // Our host ids mean nothing in a joined user namespace (files we
        // make would fail with EOVERFLOW): be its root, as runc does.
        become_root_if_mapped().step(|| Step::SetIds)?;
    }
    Ok(())
}

/// In a new (maps written) or joined user namespace, take uid/gid 0 of
/// the namespace when it is mapped, so files made while building belong to
/// the container's root.
fn become_root_if_mapped() -> rustix::io::Result<()> {
    let mapped = |file: &str| {
        std::fs::read_to_string(file)
            .map(|t| {
                t.lines().any(|l| {
                    let f: Vec<u64> = l
                        .split_whitespace()
                        .filter_map(|x| x.parse().ok())
                        .collect();
                    f.len() == 3 && f[0] == 0 && f[2] > 0
                })
            })
            .unwrap_or(false)
    };
    if mapped("/proc/self/gid_map") {
        let g = rustix::thread::Gid::ROOT;
        rustix::thread::set_thread_res_gid(g, g, g)?;
    }
    if mapped("/proc/self/uid_map") {
        let u = rustix::thread::Uid::ROOT;
        rustix::thread::set_thread_res_uid(u, u, u)?;
    }
    Ok(())
}

/// The second process the kernel forces when init must be born into a
/// PID (or time) namespace the clone could not enter: cloned with
/// CLONE_PARENT so it is nsbox's child; this intermediate reports its pid
/// (sync 2) and exits.
pub(crate) fn fork_init(channel: &Channel) -> Result<(), Failure> {
    // The new init must not speak before `Forked` is sent (the parent
    // expects that order): it waits for the end of this pipe, which comes
    // when the intermediate has sent and exited.
    let (gate_r, gate_w) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).step(|| Step::Fork)?;
    let opts = CloneOptions {
        flags: nsbox_ns::clone::CLONE_PARENT,
        pidfd: false,
        cgroup: None,
    };
    // SAFETY: this process is a clone of single-threaded nsbox and starts
    // no threads, so the child may do anything; it leaves by exec or _exit
    // (see `run`).
    match unsafe { nsbox_ns::clone3(&opts) } {
        Ok(Forked::Child) => {
            drop(gate_w);
            let mut byte = [0u8; 1];
            while let Err(rustix::io::Errno::INTR) = rustix::io::read(&gate_r, &mut byte) {}
            Ok(())
        }
        Ok(Forked::Parent { pid, .. }) => {
            let _ = channel.send(&Msg::Forked { pid });
            drop(gate_w);
            exit(0)
        }
        Err(e) => Err(Failure {
            step: Step::Fork,
            errno: e.errno().unwrap_or(libc::EIO),
        }),
    }
}
