//! The limits a cgroup can be given, mirroring the OCI runtime spec's
//! `linux.resources` field by field (names in comments are the JSON keys),
//! without depending on any OCI crate: the runtime converts its spec types
//! into these. `None` (or an empty list/map) means "leave as is".
//!
//! Field names used in errors are the OCI JSON paths, e.g. `memory.limit`,
//! `cpu.shares`, `blockIO.throttleReadBpsDevice`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// `devices`: allow/deny rules, applied in order.
    pub devices: Vec<DeviceRule>,
    /// `memory`
    pub memory: Option<Memory>,
    /// `cpu`
    pub cpu: Option<Cpu>,
    /// `pids`
    pub pids: Option<Pids>,
    /// `blockIO`
    pub block_io: Option<BlockIo>,
    /// `hugepageLimits`
    pub hugepage_limits: Vec<HugepageLimit>,
    /// `network`
    pub network: Option<Network>,
    /// `rdma`: device name to limits.
    pub rdma: BTreeMap<String, Rdma>,
    /// `unified`: raw cgroup v2 file name to value.
    pub unified: BTreeMap<String, String>,
}

/// `memory`: byte values; -1 means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// `limit`
    pub limit: Option<i64>,
    /// `reservation` (soft limit; v2 memory.low)
    pub reservation: Option<i64>,
    /// `swap`: memory plus swap, as in v1's memsw.
    pub swap: Option<i64>,
    /// `kernel` (v1 only, deprecated by the kernel)
    pub kernel: Option<i64>,
    /// `kernelTCP` (v1 only)
    pub kernel_tcp: Option<i64>,
    /// `swappiness` (v1 only)
    pub swappiness: Option<u64>,
    /// `disableOOMKiller` (v1 only)
    pub disable_oom_killer: Option<bool>,
    /// `useHierarchy` (v1 only)
    pub use_hierarchy: Option<bool>,
}

/// `cpu`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cpu {
    /// `shares` (v1 cpu.shares, 2..=262144; v2 cpu.weight by conversion)
    pub shares: Option<u64>,
    /// `quota` in µs per period; -1 means no limit.
    pub quota: Option<i64>,
    /// `burst` in µs.
    pub burst: Option<u64>,
    /// `period` in µs.
    pub period: Option<u64>,
    /// `realtimeRuntime` in µs (v1 only)
    pub realtime_runtime: Option<i64>,
    /// `realtimePeriod` in µs (v1 only)
    pub realtime_period: Option<u64>,
    /// `cpus`: a cpu list such as `0-3,7`.
    pub cpus: Option<String>,
    /// `mems`: a memory node list.
    pub mems: Option<String>,
    /// `idle`: 1 makes the group SCHED_IDLE.
    pub idle: Option<i64>,
}

/// `pids`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pids {
    /// `limit`: 0 or -1 means no limit.
    pub limit: i64,
}

/// `blockIO`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockIo {
    /// `weight` (10..=1000)
    pub weight: Option<u16>,
    /// `leafWeight` (v1 CFQ only; gone from current kernels)
    pub leaf_weight: Option<u16>,
    /// `weightDevice`
    pub weight_device: Vec<WeightDevice>,
    /// `throttleReadBpsDevice`
    pub throttle_read_bps_device: Vec<ThrottleDevice>,
    /// `throttleWriteBpsDevice`
    pub throttle_write_bps_device: Vec<ThrottleDevice>,
    /// `throttleReadIOPSDevice`
    pub throttle_read_iops_device: Vec<ThrottleDevice>,
    /// `throttleWriteIOPSDevice`
    pub throttle_write_iops_device: Vec<ThrottleDevice>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightDevice {
    pub major: i64,
    pub minor: i64,
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleDevice {
    pub major: i64,
    pub minor: i64,
    /// bytes or I/O operations per second
    pub rate: u64,
}

/// `hugepageLimits[]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HugepageLimit {
    /// `pageSize` as the kernel names it: `2MB`, `1GB`, `64KB`.
    pub page_size: String,
    /// `limit` in bytes.
    pub limit: u64,
}

/// `network` (v1 net_cls / net_prio)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// `classID`
    pub class_id: Option<u32>,
    /// `priorities`
    pub priorities: Vec<InterfacePriority>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfacePriority {
    pub name: String,
    pub priority: u32,
}

/// `rdma.<device>`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rdma {
    /// `hcaHandles`
    pub hca_handles: Option<u32>,
    /// `hcaObjects`
    pub hca_objects: Option<u32>,
}

/// `devices[]`: one allow or deny rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRule {
    /// `allow`
    pub allow: bool,
    /// `type`: `a` (all, the default), `c` or `b`.
    pub kind: Option<char>,
    /// `major`; `None` or negative means any.
    pub major: Option<i64>,
    /// `minor`; `None` or negative means any.
    pub minor: Option<i64>,
    /// `access`: some of `rwm`; `None` means `rwm`.
    pub access: Option<String>,
}

impl Resources {
    /// True when nothing at all is asked for.
    pub fn is_empty(&self) -> bool {
        *self == Resources::default()
    }
}

/// A major:minor pair as cgroup files want it; a negative number is `*`.
pub(crate) fn dev_number(major: Option<i64>, minor: Option<i64>) -> String {
    let part = |n: Option<i64>| match n {
        Some(n) if n >= 0 => n.to_string(),
        _ => "*".to_owned(),
    };
    format!("{}:{}", part(major), part(minor))
}
