//! The parent/child protocol of `create`: one message enum, sent as one
//! `SOCK_SEQPACKET` datagram each over a socketpair; one wait function per
//! expected message, failing with expected-vs-got; the order of the phases
//! as data ([`phases`]), shared by both sides and unit-tested.
//!
//! A failing child step is not an exit status but a [`Msg::Failed`] carrying
//! the [`Step`] (with its path) and the errno; the parent turns it into
//! [`Error::Init`], so the user reads `mount proc on /proc: Operation not
//! permitted`.

use std::io;

use nsbox_ns::channel::{self, ChannelError};
use serde::{Deserialize, Serialize};

pub use crate::step::{Failure, Step, StepResult};
use crate::Error;

/// Every message either side sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// child → parent: my new user namespace exists; write its id maps.
    MapRequest,
    /// parent → child: uid_map and gid_map are written.
    MapsWritten,
    /// intermediate child → parent: init is this pid (in nsbox's PID
    /// namespace), forked into the PID namespace the clone could not enter.
    Forked { pid: u32 },
    /// child → parent: the container is built; init waits on the exec fifo.
    Ready,
    /// child → parent: `step` failed with `errno`; the child exits.
    Failed { step: Step, errno: i32 },
    /// child → parent: rootfs mounted, pivot_root next: run prestart and
    /// createRuntime hooks now.
    HooksRequest,
    /// parent → child: hooks ran; `pid` is init as the runtime sees it
    /// (for the state that createContainer/startContainer hooks read).
    HooksDone { pid: u32 },
    /// child → parent: a createContainer hook failed; the child exits.
    HookFailed {
        kind: String,
        index: usize,
        path: String,
        why: String,
    },
}

impl Msg {
    fn name(&self) -> &'static str {
        match self {
            Msg::MapRequest => "MapRequest",
            Msg::MapsWritten => "MapsWritten",
            Msg::Forked { .. } => "Forked",
            Msg::Ready => "Ready",
            Msg::Failed { .. } => "Failed",
            Msg::HooksRequest => "HooksRequest",
            Msg::HooksDone { .. } => "HooksDone",
            Msg::HookFailed { .. } => "HookFailed",
        }
    }
}

/// The messages the parent waits for (or sends), in order, for a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// sync 1: child asks for id maps; parent writes them and answers.
    IdMaps,
    /// sync 2: the intermediate reports the pid of the real init.
    Forked,
    /// sync 3 (with hooks): rootfs built; runtime hooks run before pivot.
    Hooks,
    /// sync 3: init is built and blocked on the exec fifo.
    Ready,
}

/// The protocol's order: maps before the fork (the forked init inherits the
/// mapped user namespace), the fork before anything is built.
pub fn phases(new_user_ns: bool, extra_fork: bool, hooks: bool) -> Vec<Phase> {
    let mut p = Vec::with_capacity(4);
    if new_user_ns {
        p.push(Phase::IdMaps);
    }
    if extra_fork {
        p.push(Phase::Forked);
    }
    if hooks {
        p.push(Phase::Hooks);
    }
    p.push(Phase::Ready);
    p
}

/// One end of the socketpair: `nsbox_ns`'s typed channel carrying [`Msg`],
/// with the waits for each phase.
#[derive(Debug)]
pub struct Channel(channel::Channel<Msg>);

/// A connected pair: (parent end, child end). Both are close-on-exec, so the
/// container's program never inherits them.
pub fn channel_pair() -> Result<(Channel, Channel), Error> {
    let (a, b) = channel::pair().map_err(|e| Error::Socketpair {
        source: io_error(e),
    })?;
    Ok((Channel(a), Channel(b)))
}

/// The errno a failed send or receive carries (what a child reports as
/// its failed step); encoding and size errors as they are.
fn io_error(e: ChannelError) -> io::Error {
    match e {
        ChannelError::Socketpair { source }
        | ChannelError::Send { source }
        | ChannelError::Recv { source } => source,
        other => io::Error::other(other),
    }
}

impl Channel {
    pub fn send(&self, msg: &Msg) -> io::Result<()> {
        self.0.send(msg).map_err(io_error)
    }

    /// The next message, or `None` when the other side closed its end.
    pub fn recv(&self) -> io::Result<Option<Msg>> {
        self.0.recv().map_err(io_error)
    }

    /// Receives one message that must be `expected` (a `Failed` becomes the
    /// child's error). `Ok(None)`: the child closed the socket (it died);
    /// the caller adds its exit status.
    fn expect(&self, expected: &'static str) -> Result<Option<Msg>, Error> {
        match self.recv().map_err(|source| Error::Channel { source })? {
            None => Ok(None),
            Some(Msg::Failed { step, errno }) => Err(Error::Init {
                source: match step {
                    Step::Exec { .. } => crate::error::ExecCause::io(errno),
                    _ => io::Error::from_raw_os_error(errno),
                },
                step,
            }),
            Some(Msg::HookFailed {
                kind,
                index,
                path,
                why,
            }) => Err(Error::InitHook {
                kind,
                index,
                path,
                why,
            }),
            Some(m) if m.name() == expected => Ok(Some(m)),
            Some(m) => Err(Error::Protocol {
                expected,
                got: m.name(),
            }),
        }
    }

    /// Parent, sync 1: waits for the child's request to write its id maps.
    pub fn wait_map_request(&self) -> Result<bool, Error> {
        Ok(self.expect("MapRequest")?.is_some())
    }

    /// Child, sync 1: waits until the parent has written the maps.
    pub fn wait_maps_written(&self) -> Result<bool, Error> {
        Ok(self.expect("MapsWritten")?.is_some())
    }

    /// Parent, sync 2: the pid of the init forked by the intermediate child.
    pub fn wait_forked(&self) -> Result<Option<u32>, Error> {
        Ok(match self.expect("Forked")? {
            Some(Msg::Forked { pid }) => Some(pid),
            _ => None,
        })
    }

    /// Parent, sync 3 (hooks): init's rootfs is built, pivot_root next.
    pub fn wait_hooks_request(&self) -> Result<bool, Error> {
        Ok(self.expect("HooksRequest")?.is_some())
    }

    /// Child, sync 3 (hooks): the runtime's hooks ran; our pid as it sees it.
    pub fn wait_hooks_done(&self) -> Result<Option<u32>, Error> {
        Ok(match self.expect("HooksDone")? {
            Some(Msg::HooksDone { pid }) => Some(pid),
            _ => None,
        })
    }

    /// Parent, sync 4: init is built and waits on the exec fifo.
    pub fn wait_ready(&self) -> Result<bool, Error> {
        Ok(self.expect("Ready")?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_order() {
        use Phase::*;
        assert_eq!(phases(false, false, false), vec![Ready]);
        assert_eq!(phases(true, false, false), vec![IdMaps, Ready]);
        assert_eq!(phases(false, true, false), vec![Forked, Ready]);
        assert_eq!(phases(true, true, false), vec![IdMaps, Forked, Ready]);
        assert_eq!(phases(true, true, true), vec![IdMaps, Forked, Hooks, Ready]);
        assert_eq!(phases(false, false, true), vec![Hooks, Ready]);
    }

    #[test]
    fn failure_becomes_error_with_step_and_errno() {
        let (p, c) = channel_pair().unwrap();
        c.send(&Msg::Failed {
            step: Step::Mount {
                typ: "proc".into(),
                source: "proc".into(),
                dest: "/proc".into(),
            },
            errno: libc::EPERM,
        })
        .unwrap();
        let err = p.wait_ready().unwrap_err();
        assert_eq!(err.to_string(), "mount proc on /proc");
        let Error::Init { source, .. } = err else {
            panic!("not Init")
        };
        assert_eq!(source.raw_os_error(), Some(libc::EPERM));
    }

    #[test]
    fn unexpected_message_names_both() {
        let (p, c) = channel_pair().unwrap();
        c.send(&Msg::Ready).unwrap();
        let err = p.wait_map_request().unwrap_err();
        assert_eq!(
            err.to_string(),
            "container init: expected MapRequest, got Ready"
        );
        c.send(&Msg::Forked { pid: 42 }).unwrap();
        assert_eq!(p.wait_forked().unwrap(), Some(42));
        drop(c);
        assert!(!p.wait_ready().unwrap());
    }
}
