//! Words for what discovery found: process facts (read once per pid, only for
//! rows that are printed), user names and holder descriptions.

use std::collections::HashMap;

use nsbox_ns::catalog::{Discovery, Holder};
use nsbox_ns::discover;
use nsbox_ns::passwd::Users;
use nsbox_ns::NsKind;

/// Caches per-pid lookups so that a pid shared by many rows is read once.
#[derive(Default)]
pub struct Describer {
    users: Option<Users>,
    uids: HashMap<u32, Option<u32>>,
    commands: HashMap<u32, Option<String>>,
    comms: HashMap<u32, Option<String>>,
}

impl Describer {
    pub fn uid(&mut self, pid: u32) -> Option<u32> {
        *self
            .uids
            .entry(pid)
            .or_insert_with(|| discover::uid_of(pid))
    }

    pub fn user(&mut self, pid: u32) -> Option<String> {
        let uid = self.uid(pid)?;
        Some(self.user_name(uid))
    }

    pub fn user_name(&mut self, uid: u32) -> String {
        self.users.get_or_insert_with(Users::load).name(uid)
    }

    pub fn command(&mut self, pid: u32) -> Option<String> {
        self.commands
            .entry(pid)
            .or_insert_with(|| discover::command_of(pid))
            .clone()
    }

    /// The short name (`/proc/PID/comm`) used inside holder descriptions.
    fn comm(&mut self, pid: u32) -> String {
        self.comms
            .entry(pid)
            .or_insert_with(|| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .ok()
                    .map(|s| s.trim_end_matches('\n').to_string())
            })
            .clone()
            .unwrap_or_else(|| "?".to_string())
    }

    /// One holder, as the HOLDER column shows it.
    pub fn holder(&mut self, d: &Discovery, kind: NsKind, h: &Holder) -> String {
        let name_of = |ino: u64| {
            d.get(ino)
                .map_or_else(|| format!("[{ino}]"), |n| format!("{}:[{ino}]", n.kind))
        };
        match h {
            Holder::Fd { pid, fd } => format!("fd {fd} of pid {pid} ({})", self.comm(*pid)),
            Holder::Socket { pid, fd } => {
                format!("socket fd {fd} of pid {pid} ({})", self.comm(*pid))
            }
            Holder::Mount {
                path, mnt_ns: None, ..
            } => format!("mount {}", path.display()),
            Holder::Mount {
                path,
                mnt_ns: Some(m),
                ..
            } => format!("mount {} in mnt:[{m}]", path.display()),
            Holder::ForChildren { pid } => format!(
                "{} of pid {pid} ({})",
                kind.for_children_name().unwrap_or("for_children"),
                self.comm(*pid)
            ),
            Holder::OwnerOf { of } => format!("owner of {}", name_of(*of)),
            Holder::ParentOf { of } => format!("parent of {}", name_of(*of)),
        }
    }

    /// Every holder of namespace `i`.
    pub fn holders(&mut self, d: &Discovery, i: usize) -> Vec<String> {
        let ns = &d.namespaces[i];
        ns.holders
            .iter()
            .map(|h| self.holder(d, ns.kind, h))
            .collect()
    }
}
