//! The eight namespace kinds, with the names the kernel and util-linux use for them.

use std::fmt;
use std::str::FromStr;

/// One kind of Linux namespace.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum NsKind {
    Mnt,
    Net,
    Time,
    Cgroup,
    Pid,
    User,
    Uts,
    Ipc,
}

impl NsKind {
    /// Every kind, user first: that is the order in which they must be joined
    /// (a user namespace grants the privilege needed to join the others).
    pub const ALL: [NsKind; 8] = [
        NsKind::User,
        NsKind::Cgroup,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::Net,
        NsKind::Pid,
        NsKind::Mnt,
        NsKind::Time,
    ];

    /// Name of the entry in `/proc/PID/ns/` (and lsns's TYPE column).
    pub fn proc_name(self) -> &'static str {
        match self {
            NsKind::Mnt => "mnt",
            NsKind::Net => "net",
            NsKind::Time => "time",
            NsKind::Cgroup => "cgroup",
            NsKind::Pid => "pid",
            NsKind::User => "user",
            NsKind::Uts => "uts",
            NsKind::Ipc => "ipc",
        }
    }

    /// The word util-linux uses in long options (`--mount`, `--net`, ...).
    pub fn long_name(self) -> &'static str {
        match self {
            NsKind::Mnt => "mount",
            other => other.proc_name(),
        }
    }

    /// The `CLONE_NEW*` flag that creates (or, for setns, names) this kind.
    pub fn clone_flag(self) -> u64 {
        let flag = match self {
            NsKind::Mnt => libc::CLONE_NEWNS,
            NsKind::Net => libc::CLONE_NEWNET,
            NsKind::Time => CLONE_NEWTIME,
            NsKind::Cgroup => libc::CLONE_NEWCGROUP,
            NsKind::Pid => libc::CLONE_NEWPID,
            NsKind::User => libc::CLONE_NEWUSER,
            NsKind::Uts => libc::CLONE_NEWUTS,
            NsKind::Ipc => libc::CLONE_NEWIPC,
        };
        flag as u32 as u64
    }

    /// The kind whose `CLONE_NEW*` flag is `flag` (what `NS_GET_NSTYPE` returns).
    pub fn from_clone_flag(flag: u64) -> Option<NsKind> {
        NsKind::ALL.into_iter().find(|k| k.clone_flag() == flag)
    }

    /// Entry in `/proc/PID/ns/` that names the namespace a process's future
    /// children get, where it can differ from the process's own (pid, time).
    pub fn for_children_name(self) -> Option<&'static str> {
        match self {
            NsKind::Pid => Some("pid_for_children"),
            NsKind::Time => Some("time_for_children"),
            _ => None,
        }
    }

    /// The sysctl that caps how many namespaces of this kind each user may own.
    pub fn limit_file(self) -> String {
        format!("/proc/sys/user/max_{}_namespaces", self.proc_name())
    }
}

/// `CLONE_NEWTIME` (Linux 5.6); older libc crates lack it.
pub const CLONE_NEWTIME: i32 = 0x80;

/// The flags of several kinds, or-ed together.
pub fn clone_flags(kinds: impl IntoIterator<Item = NsKind>) -> u64 {
    kinds.into_iter().fold(0, |acc, k| acc | k.clone_flag())
}

impl fmt::Display for NsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.proc_name())
    }
}

/// A namespace type name that is not one of the eight.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown namespace type {0:?} (expected one of mnt, net, ipc, user, pid, uts, cgroup, time)"
)]
pub struct UnknownKind(pub String);

impl FromStr for NsKind {
    type Err = UnknownKind;

    /// Accepts the proc names and the long names (`mount`, `network`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "mnt" | "mount" => NsKind::Mnt,
            "net" | "network" => NsKind::Net,
            "time" => NsKind::Time,
            "cgroup" => NsKind::Cgroup,
            "pid" => NsKind::Pid,
            "user" => NsKind::User,
            "uts" => NsKind::Uts,
            "ipc" => NsKind::Ipc,
            _ => return Err(UnknownKind(s.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in NsKind::ALL {
            assert_eq!(k.proc_name().parse::<NsKind>().unwrap(), k);
            assert_eq!(k.long_name().parse::<NsKind>().unwrap(), k);
            assert_eq!(NsKind::from_clone_flag(k.clone_flag()), Some(k));
        }
    }

    #[test]
    fn flags_are_distinct() {
        let all = clone_flags(NsKind::ALL);
        assert_eq!(all.count_ones(), 8);
    }

    #[test]
    fn unknown_kind_names_itself() {
        let err = "nett".parse::<NsKind>().unwrap_err();
        assert!(err.to_string().contains("\"nett\""));
    }

    #[test]
    fn user_comes_first_in_join_order() {
        assert_eq!(NsKind::ALL[0], NsKind::User);
    }
}
