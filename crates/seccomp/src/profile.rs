//! A seccomp profile as plain data: what an OCI `linux.seccomp` says, without
//! the OCI types (the runtime crate converts).

/// What the kernel does when a rule matches (or, as default, when none does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    KillProcess,
    /// SCMP_ACT_KILL and SCMP_ACT_KILL_THREAD.
    KillThread,
    Trap,
    /// Fail the call with this errno (EPERM when the profile gives none).
    Errno(u32),
    Trace(u32),
    Allow,
    Log,
    /// Hand the call to a supervisor through a listener fd.
    Notify,
}

/// An argument comparison: `args[index] OP value` (for MaskedEq:
/// `args[index] & value == value_two`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArgCondition {
    pub index: u32,
    pub value: u64,
    pub value_two: u64,
    pub op: CompareOp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    NotEqual,
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
    MaskedEqual,
}

/// One entry of `syscalls`: every name gets `action` when the conditions hold.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    pub names: Vec<String>,
    pub action: Action,
    pub args: Vec<ArgCondition>,
}

/// Flags given to seccomp(2) when loading (`SECCOMP_FILTER_FLAG_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LoadFlags {
    pub log: bool,
    pub spec_allow: bool,
    pub wait_killable_recv: bool,
}

impl LoadFlags {
    /// Parses the OCI flag names; an unknown one is an error naming it.
    pub fn from_names<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<LoadFlags, crate::Error> {
        let mut flags = LoadFlags::default();
        for name in names {
            match name {
                "SECCOMP_FILTER_FLAG_LOG" => flags.log = true,
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => flags.spec_allow = true,
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => flags.wait_killable_recv = true,
                // Filters are loaded before any thread exists: TSYNC has nothing to sync.
                "SECCOMP_FILTER_FLAG_TSYNC" => {}
                other => return Err(crate::Error::UnknownFlag(other.to_string())),
            }
        }
        Ok(flags)
    }
}

/// A whole profile.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Profile {
    pub default_action: Action,
    /// `SCMP_ARCH_*` names; empty means the native architecture only.
    pub architectures: Vec<String>,
    pub flags: LoadFlags,
    pub rules: Vec<Rule>,
}

impl Profile {
    /// Whether loading must ask the kernel for a notification listener fd.
    pub fn needs_listener(&self) -> bool {
        self.default_action == Action::Notify
            || self.rules.iter().any(|r| r.action == Action::Notify)
    }
}
