//! The small init that `unshare --init` (and a container's optional PID 1)
//! runs as PID 1 of a new PID namespace: it forks the command, reaps every
//! child (orphans re-parented to it included), passes signals on to the
//! command, and ends with the command's status. The kernel kills whatever is
//! left in the namespace when PID 1 exits. Signals and waiting are
//! [`crate::supervise`]'s.

use rustix::process::Pid;

use crate::supervise::ChildStatus;
use crate::supervise::{self, Child, Reap, Signals};
use crate::Error;

/// PID 1's loop once it has forked `command` (with `signals` blocked
/// before the fork): returns `command`'s status when it exits.
pub fn init_loop(command: Pid, signals: &Signals) -> Result<ChildStatus, Error> {
    supervise::wait(
        Child {
            pid: command,
            pidfd: None,
        },
        signals,
        Reap::All,
    )
}
