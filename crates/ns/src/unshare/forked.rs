//! The forked path of `unshare`: one `clone3` into the new namespaces,
//! the outside work (id maps, namespace files) done by nsbox itself, the
//! child's steps reported back over the close-on-exec channel.

use std::os::fd::AsFd;

use super::*;

/// What the forked child is handed.
struct ChildCtx {
    link: Link,
    /// Wait for the parent's `Go` after `Ready` (it has outside work to do).
    wait_go: bool,
    parent: Option<OwnedFd>,
    signals: Signals,
}

/// # Safety
/// Single-threaded caller (see [`unshare`]).
pub(super) unsafe fn run_forked(opts: &UnshareOptions) -> Result<ChildStatus, Error> {
    let mut files = Persisted::prepare(&opts.persist)?;
    // SAFETY: passed through from our caller.
    match unsafe { forked(opts, &mut files) } {
        Ok(status) => {
            files.keep();
            Ok(status)
        }
        Err(e) => {
            files.undo();
            Err(e)
        }
    }
}

/// # Safety
/// Single-threaded caller (see [`unshare`]).
unsafe fn forked(opts: &UnshareOptions, files: &mut Persisted) -> Result<ChildStatus, Error> {
    // 1. Block the forwarded signals before the child exists, so none is lost.
    let signals = Signals::block()?;
    // 2. A handle on ourselves, for the child to check after PR_SET_PDEATHSIG.
    let parent = match opts.kill_child {
        Some(_) => Some(
            rustix::process::pidfd_open(
                rustix::process::getpid(),
                rustix::process::PidfdFlags::empty(),
            )
            .map_err(|e| sys("open a pidfd on nsbox", e))?,
        ),
        None => None,
    };
    let (link, child_link) = wire::pair()?;
    let parent_work = !maps_empty(&opts.maps) || !files.is_empty();

    // 3. One clone3 into every new namespace but time (see module docs).
    let kinds: Vec<NsKind> = opts
        .kinds()
        .into_iter()
        .filter(|k| *k != NsKind::Time)
        .collect();
    let clone = crate::CloneOptions {
        flags: crate::clone_flags(kinds.iter().copied()),
        // For the wait: the child's end seen (and signals sent) through it.
        pidfd: true,
        ..Default::default()
    };
    // SAFETY: single-threaded (our caller's guarantee); the child below
    // never returns into the caller: it execs or exits.
    let (pid, pidfd) = match unsafe { crate::clone3(&clone) } {
        Ok(crate::Forked::Parent { pid, pidfd }) => (
            Pid::from_raw(pid as i32).expect("clone3 returns a positive pid"),
            pidfd,
        ),
        Ok(crate::Forked::Child) => {
            drop(link);
            child_main(
                opts,
                ChildCtx {
                    link: child_link,
                    wait_go: parent_work,
                    parent,
                    signals,
                },
            )
        }
        // Say what the user asked for ("unshare net"), not the syscall.
        Err(Error::Clone { source }) => {
            return Err(Error::Unshare {
                kinds: label(&kinds),
                source,
            })
        }
        Err(e) => return Err(e),
    };
    drop(child_link);
    drop(parent);

    // 4. Sync: the child has done its namespace-side steps; do the outside
    //    ones (id maps, namespace files), then let it go on.
    if parent_work {
        match wire::expect_ready(&link, "child") {
            Ok(true) => {}
            Ok(false) => {
                let status = reap(pid);
                return Err(wire::unexpected(
                    "child",
                    "ready",
                    format!("exit with status {}", status.code()),
                ));
            }
            Err(e) => {
                reap(pid);
                return Err(e);
            }
        }
        let outside = write_maps(&opts.maps, pid)
            .and_then(|()| files.bind(pid.as_raw_nonzero().get() as u32));
        if let Err(e) = outside {
            // End of file tells the child to give up.
            drop(link);
            reap(pid);
            return Err(e);
        }
        wire::send(&link, &Msg::Go, "signal the child")?;
    }

    // 5. Wait, passing signals on; then the channel says whether the command ran.
    let child = supervise::Child {
        pid,
        pidfd: pidfd.as_ref().map(|fd| fd.as_fd()),
    };
    let status = supervise::wait(child, &signals, supervise::Reap::Child)?;
    wire::expect_end(&link)?;
    Ok(status)
}

/// The forked child: namespace-side steps, then the command (or PID 1).
fn child_main(opts: &UnshareOptions, ctx: ChildCtx) -> ! {
    let err = never_ok(child_steps(opts, &ctx));
    let code = exit_code_for(&err);
    wire::send_failure(&ctx.link, err);
    exit_now(code)
}

fn child_steps(opts: &UnshareOptions, ctx: &ChildCtx) -> Result<Infallible, Error> {
    if let Some(sig) = opts.kill_child {
        set_death_signal(sig, ctx.parent.as_ref())?;
    }
    if opts.creates(NsKind::Time) {
        unshare_time(opts)?;
    }
    if opts.creates(NsKind::Mnt) {
        mountns::set_root_propagation(opts.propagation)?;
    }
    if ctx.wait_go {
        wire::send(&ctx.link, &Msg::Ready, "child setup")?;
        if !wire::told(&ctx.link, |m| matches!(m, Msg::Go)) {
            // The parent failed and says so itself.
            exit_now(1);
        }
    }
    enter_root(opts)?;
    set_ids(opts)?;
    if opts.keep_caps && opts.creates(NsKind::User) {
        keep_caps()?;
    }
    // A failed exec is reported like any step, and nsbox undoes its work:
    // no need to search $PATH ahead of execvp.
    let program = Program::new(opts);
    if !opts.init {
        ctx.signals.restore();
        return Err(program.exec());
    }
    // PID 1: fork the command, then reap and forward until it exits.
    if !opts.creates(NsKind::Pid) {
        // Not PID 1 of a namespace (a library caller may ask for that):
        // orphans come to us only as a subreaper.
        rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
            .map_err(|e| sys("become a subreaper", e))?;
    }
    // SAFETY: this child is single-threaded (it was forked from a
    // single-threaded process and started no thread).
    match unsafe { libc::fork() } {
        -1 => Err(Error::Sys {
            what: "fork the command".into(),
            source: io::Error::last_os_error(),
        }),
        0 => {
            ctx.signals.restore();
            let err = program.exec();
            let code = exit_code_for(&err);
            wire::send_failure(&ctx.link, err);
            exit_now(code)
        }
        pid => {
            let command = Pid::from_raw(pid).expect("fork returned a positive pid");
            let status = pid1::init_loop(command, &ctx.signals)?;
            exit_now(status.code())
        }
    }
}

fn set_death_signal(sig: i32, parent: Option<&OwnedFd>) -> Result<(), Error> {
    let signal = Signal::from_named_raw(sig).ok_or(Error::DeathSignal {
        signal: sig,
        source: io::Error::from_raw_os_error(libc::EINVAL),
    })?;
    rustix::process::set_parent_process_death_signal(Some(signal)).map_err(|e| {
        Error::DeathSignal {
            signal: sig,
            source: e.into(),
        }
    })?;
    // If nsbox died before the prctl, nothing will send the signal: check.
    if let Some(fd) = parent {
        let mut fds = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        if matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(n) if n > 0) {
            return Err(Error::ParentGone);
        }
    }
    Ok(())
}
