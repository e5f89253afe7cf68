//! What `unshare`'s parent and its forked child (or in-place helper) say to
//! each other: one [`Msg`] per datagram over a [`crate::channel`].
//!
//! - child → parent `Ready`: its namespace-side steps are done, the parent
//!   may map ids and bind files; parent → child `Go` once it has;
//! - in place, parent → helper `Go` (we have unshared: map, bind), helper →
//!   parent `Ready`, then parent → helper `Commit` (keep the binds: the
//!   command runs) or end of file (undo them);
//! - `Failed` carries the failed step's [`Error`] itself, which the parent
//!   returns as its own (same variant, same errno);
//! - end of file from the child: the command was executed (the channel is
//!   close-on-exec) or the child died without a word.

use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::error::Text;
use crate::Error;

/// One message either way.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Msg {
    Ready,
    Failed(Error),
    Go,
    Commit,
}

impl Msg {
    fn name(&self) -> &'static str {
        match self {
            Msg::Ready => "ready",
            Msg::Failed(_) => "failure",
            Msg::Go => "go",
            Msg::Commit => "commit",
        }
    }
}

/// One end of the parent/child channel.
pub(crate) type Link = Channel<Msg>;

/// A connected pair: (parent's end, child's end).
pub(crate) fn pair() -> Result<(Link, Link), Error> {
    crate::channel::pair().map_err(|source| Error::Channel {
        step: "create the channel to the child".into(),
        source,
    })
}

/// Sends `msg`; `step` names what the sender was doing.
pub(crate) fn send(link: &Link, msg: &Msg, step: &'static str) -> Result<(), Error> {
    link.send(msg).map_err(|source| Error::Channel {
        step: step.into(),
        source,
    })
}

/// Child or helper: step `err` failed. Best effort: if the parent is gone,
/// nobody is left to tell.
pub(crate) fn send_failure(link: &Link, err: Error) {
    let _ = link.send(&Msg::Failed(err));
}

/// Parent: the next message, expected to be `Ready`; a `Failed` becomes its
/// error; `Ok(false)` at end of file (the peer died without a word).
pub(crate) fn expect_ready(link: &Link, peer: &'static str) -> Result<bool, Error> {
    match recv(link, peer)? {
        None => Ok(false),
        Some(Msg::Ready) => Ok(true),
        Some(Msg::Failed(e)) => Err(e),
        Some(other) => Err(unexpected(peer, "ready", other.name())),
    }
}

/// Parent, after the child exited: its failure, or `Ok` at end of file (the
/// command was executed).
pub(crate) fn expect_end(link: &Link) -> Result<(), Error> {
    match recv(link, "child")? {
        None => Ok(()),
        Some(Msg::Failed(e)) => Err(e),
        Some(other) => Err(unexpected("child", "failure or end of file", other.name())),
    }
}

/// Child or helper: whether the parent said `msg` (anything else, end of
/// file included, means it failed and says so itself).
pub(crate) fn told(link: &Link, msg: fn(&Msg) -> bool) -> bool {
    matches!(link.recv(), Ok(Some(m)) if msg(&m))
}

fn recv(link: &Link, peer: &'static str) -> Result<Option<Msg>, Error> {
    link.recv().map_err(|source| Error::Channel {
        step: format!("read from the {peer}").into(),
        source,
    })
}

/// `got` where `expected` was due.
pub(crate) fn unexpected(
    peer: &'static str,
    expected: &'static str,
    got: impl Into<String>,
) -> Error {
    Error::Protocol {
        peer: Text::from(peer),
        expected: expected.into(),
        got: got.into(),
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::channel::ChannelError;
    use crate::NsKind;

    /// One value of every variant. The match below has no catch-all: a new
    /// variant does not compile until it is added here and round-tripped.
    fn every_variant() -> Vec<Error> {
        let e = |n| io::Error::from_raw_os_error(n);
        let p = |s: &str| std::path::PathBuf::from(s);
        let all = vec![
            Error::NoSuchProcess { pid: 7 },
            Error::Stat {
                path: p("/proc/7/ns/net"),
                source: e(libc::ENOENT),
            },
            Error::Open {
                path: p("/o"),
                source: e(libc::EACCES),
            },
            Error::Read {
                path: p("/r"),
                source: e(libc::EIO),
            },
            Error::Write {
                path: p("/proc/12/uid_map"),
                source: e(libc::EPERM),
            },
            Error::NotNamespace {
                path: p("/etc/passwd"),
            },
            Error::WrongKind {
                path: p("/run/netns/a"),
                expected: NsKind::Net,
                found: NsKind::Uts,
            },
            Error::Ioctl {
                op: "NS_GET_USERNS".into(),
                what: "net:[1]".into(),
                source: e(libc::EPERM),
            },
            Error::Unshare {
                kinds: "user+net".into(),
                source: e(libc::EPERM),
            },
            Error::LimitReached {
                kinds: "user".into(),
                limits: "max_user_namespaces = 0".into(),
            },
            Error::Setns {
                kind: NsKind::Mnt,
                path: p("/proc/1/ns/mnt"),
                source: e(libc::EINVAL),
            },
            Error::Clone {
                source: e(libc::ENOSPC),
            },
            Error::Fork {
                source: e(libc::EAGAIN),
            },
            Error::BadIdMap {
                text: "0:x:1".into(),
                why: "ids and count must be numbers".into(),
            },
            Error::Spawn {
                program: "newuidmap".into(),
                source: e(libc::ENOENT),
            },
            Error::HelperFailed {
                program: "newgidmap".into(),
                args: "12 0 1000 1".into(),
                status: "newgidmap: gid range [0-1) -> [1000-1001) not allowed".into(),
            },
            Error::Persist {
                source_path: p("/proc/1/ns/net"),
                target: p("/run/netns/x"),
                source: e(libc::EINVAL),
            },
            Error::Mount {
                what: "proc".into(),
                target: p("/proc"),
                source: e(libc::EBUSY),
            },
            Error::Unmount {
                target: p("/run/netns/x"),
                source: e(libc::EBUSY),
            },
            Error::TargetExited { pid: 9 },
            Error::PidfdOpen {
                pid: 9,
                source: e(libc::ESRCH),
            },
            Error::NoTarget { kind: NsKind::Pid },
            Error::NoTargetFor {
                what: "environment".into(),
            },
            Error::SetGroups {
                source: e(libc::EPERM),
            },
            Error::SetGid {
                gid: 100,
                source: e(libc::EPERM),
            },
            Error::SetUid {
                uid: 1000,
                source: e(libc::EPERM),
            },
            Error::Wait {
                pid: 3,
                source: e(libc::ECHILD),
            },
            Error::Supervise {
                step: "block signals".into(),
                source: e(libc::EINVAL),
            },
            Error::Chroot {
                path: p("/no/such"),
                source: e(libc::ENOENT),
            },
            Error::Chdir {
                path: p("/d"),
                source: e(libc::ENOTDIR),
            },
            Error::Exec {
                program: "frobnicate".into(),
                source: e(libc::ENOENT),
            },
            Error::PersistCreate {
                kind: NsKind::Ipc,
                path: p("/run/ipc"),
                source: e(libc::EEXIST),
            },
            Error::Propagation {
                target: p("/"),
                mode: "rslave".into(),
                source: e(libc::EPERM),
            },
            Error::DeathSignal {
                signal: libc::SIGRTMAX(),
                source: e(libc::EINVAL),
            },
            Error::ParentGone,
            Error::KeepCaps {
                source: io::Error::other("capability not permitted"),
            },
            Error::Sys {
                what: "fork the command".into(),
                source: e(libc::EAGAIN),
            },
            Error::Channel {
                step: "read from the child".into(),
                source: ChannelError::Recv {
                    source: e(libc::EBADF),
                },
            },
            Error::Protocol {
                peer: "child".into(),
                expected: "ready".into(),
                got: "go".into(),
            },
            Error::SetId {
                what: "setuid".into(),
                id: 1000,
                source: e(libc::EPERM),
            },
            Error::NoSuchUser {
                name: "nobody-here".into(),
            },
            Error::NoSuchGroup {
                name: "nogroup-here".into(),
            },
        ];
        for err in &all {
            match err {
                Error::NoSuchProcess { .. }
                | Error::Stat { .. }
                | Error::Open { .. }
                | Error::Read { .. }
                | Error::Write { .. }
                | Error::NotNamespace { .. }
                | Error::WrongKind { .. }
                | Error::Ioctl { .. }
                | Error::Unshare { .. }
                | Error::LimitReached { .. }
                | Error::Setns { .. }
                | Error::Clone { .. }
                | Error::Fork { .. }
                | Error::BadIdMap { .. }
                | Error::Spawn { .. }
                | Error::HelperFailed { .. }
                | Error::Persist { .. }
                | Error::Mount { .. }
                | Error::Unmount { .. }
                | Error::TargetExited { .. }
                | Error::PidfdOpen { .. }
                | Error::NoTarget { .. }
                | Error::NoTargetFor { .. }
                | Error::SetGroups { .. }
                | Error::SetGid { .. }
                | Error::SetUid { .. }
                | Error::Wait { .. }
                | Error::Supervise { .. }
                | Error::Chroot { .. }
                | Error::Chdir { .. }
                | Error::Exec { .. }
                | Error::PersistCreate { .. }
                | Error::Propagation { .. }
                | Error::DeathSignal { .. }
                | Error::ParentGone
                | Error::KeepCaps { .. }
                | Error::Sys { .. }
                | Error::Channel { .. }
                | Error::Protocol { .. }
                | Error::SetId { .. }
                | Error::NoSuchUser { .. }
                | Error::NoSuchGroup { .. } => {}
            }
        }
        all
    }

    fn variant(err: &Error) -> String {
        format!("{err:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn every_error_crosses_as_itself() {
        let (parent, child) = pair().unwrap();
        let all = every_variant();
        let mut sent = 0;
        for err in all {
            if matches!(err, Error::Channel { .. }) {
                // Refused by the sender, not sent as something else.
                assert!(matches!(
                    child.send(&Msg::Failed(err)),
                    Err(ChannelError::Encode { .. })
                ));
                continue;
            }
            let (name, text, errno) = (variant(&err), err.to_string(), err.errno());
            let json = serde_json::to_string(&err).unwrap();
            send_failure(&child, err);
            sent += 1;
            let back = match parent.recv().unwrap() {
                Some(Msg::Failed(back)) => back,
                other => panic!("{name}: got {other:?}"),
            };
            assert_eq!(variant(&back), name);
            assert_eq!(back.to_string(), text, "{name}");
            assert_eq!(back.errno(), errno, "{name}");
            assert_eq!(serde_json::to_string(&back).unwrap(), json, "{name}");
        }
        assert_eq!(sent, 41);
    }

    #[test]
    fn non_utf8_paths_and_other_io_errors_are_exact() {
        use std::os::unix::ffi::OsStrExt;
        let path = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b"/tmp/\xff\xfe"));
        let (parent, child) = pair().unwrap();
        send_failure(
            &child,
            Error::Chroot {
                path: path.clone(),
                source: io::Error::from_raw_os_error(libc::ENOENT),
            },
        );
        let Some(Msg::Failed(Error::Chroot { path: back, source })) = parent.recv().unwrap() else {
            panic!("not a chroot failure");
        };
        assert_eq!(back, path);
        assert_eq!(source.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn protocol_order_is_checked() {
        let (parent, child) = pair().unwrap();
        send(&child, &Msg::Go, "test").unwrap();
        let err = expect_ready(&parent, "child").unwrap_err().to_string();
        assert_eq!(
            err,
            "child broke the setup protocol: expected ready, got go"
        );
        send(&child, &Msg::Ready, "test").unwrap();
        assert!(expect_ready(&parent, "child").unwrap());
        send(&parent, &Msg::Commit, "test").unwrap();
        assert!(!told(&child, |m| matches!(m, Msg::Go)));
        drop(child);
        assert!(!expect_ready(&parent, "child").unwrap());
        expect_end(&parent).unwrap();
    }

    #[test]
    fn garbage_is_a_channel_error() {
        let (parent, child) = pair().unwrap();
        rustix::net::send(&child, &[3, 0, 9, 9, 9], rustix::net::SendFlags::empty()).unwrap();
        let err = expect_ready(&parent, "child").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Channel {
                    source: ChannelError::Decode { .. },
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.to_string(), "read from the child");
    }
}
