//! `run`: create, start and, unless detached, wait for the container's
//! init and exit with its status; the container is then deleted.
//!
//! While waiting, signals sent to nsbox (Ctrl-C, `kill`) are forwarded to
//! the container's init, as runc does: init runs in its own session, so the
//! terminal's SIGINT reaches only nsbox, and without forwarding nsbox would
//! die and leave the container behind. Signals are taken from a signalfd
//! (blocked before the clone, so none is lost; init clears the mask before
//! exec), on the same single thread.

use crate::create::{self, CreateOptions};
use crate::supervise;
use crate::Error;

/// How a `run` ended.
#[derive(Debug)]
pub struct Outcome {
    /// The program's exit code, or 128 + the signal that killed it; 0
    /// when detached.
    pub code: u8,
    /// Config fields not applied, poststop hook failures (the lifecycle
    /// went on).
    pub warnings: Vec<Error>,
}

/// Runs the container.
///
/// # Forks
///
/// Through [`create::create`]'s clone: it fails with
/// [`Error::Threaded`] instead of forking when other threads exist.
pub fn run(opts: &CreateOptions, detach: bool) -> Result<Outcome, Error> {
    run_created(opts, detach, |_| Ok(()))
}

/// [`run`], calling `between` with the init's pid between create and
/// start: where an engine sets up what needs the container's namespaces
/// (a user-mode network in its user namespace). The container is deleted
/// when `between` fails.
///
/// # Forks
///
/// As [`run`].
pub fn run_created<E: From<Error>>(
    opts: &CreateOptions,
    detach: bool,
    between: impl FnOnce(u32) -> Result<(), E>,
) -> Result<Outcome, E> {
    let signals = if detach {
        None
    } else {
        Some(supervise::block_signals()?)
    };
    let mut created = create::create_with_console(opts, !detach)?;
    let mut warnings = std::mem::take(&mut created.warnings);
    if let Err(e) = between(created.pid) {
        let _ = crate::delete::delete(&opts.root, &opts.id, true);
        return Err(e);
    }
    if let Err(e) = crate::start::start(&opts.root, &opts.id) {
        let _ = crate::delete::delete(&opts.root, &opts.id, true);
        return Err(e.into());
    }
    let Some(signals) = signals else {
        return Ok(Outcome { code: 0, warnings });
    };
    let code = supervise::wait(
        created.pid,
        created.pidfd.as_ref(),
        &signals,
        created.console.as_ref(),
    )?;
    warnings.extend(crate::delete::delete(&opts.root, &opts.id, true)?);
    Ok(Outcome { code, warnings })
}
