//! Scheduling words of the config decoded to kernel values, and checked:
//! `process.scheduler` (sched_setattr(2)), `process.ioPriority`
//! (ioprio_set(2)), `linux.memoryPolicy` (set_mempolicy(2)) and the CPU
//! lists of `process.execCPUAffinity`. One place for both sides:
//! validation refuses a bad value before anything exists (naming the
//! field), init turns the same config into the syscall's arguments.

use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxMemoryPolicy, LinuxSchedulerFlag, LinuxSchedulerPolicy,
    MemoryPolicyFlagType, MemoryPolicyModeType, Process, Scheduler, Spec,
};

use crate::Error;

/// A value refused: the field below the checked object, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Bad {
    pub field: &'static str,
    pub msg: String,
}

fn bad(field: &'static str, msg: impl Into<String>) -> Bad {
    Bad {
        field,
        msg: msg.into(),
    }
}

/// `struct sched_attr` (`<linux/sched/types.h>`, SCHED_ATTR_SIZE_VER0).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

/// `SCHED_*` policy numbers (`<linux/sched.h>`); SCHED_ISO (4) was never
/// merged into Linux.
fn policy_number(p: LinuxSchedulerPolicy) -> Option<u32> {
    use LinuxSchedulerPolicy as P;
    Some(match p {
        P::SchedOther => 0,
        P::SchedFifo => 1,
        P::SchedRr => 2,
        P::SchedBatch => 3,
        P::SchedIso => return None,
        P::SchedIdle => 5,
        P::SchedDeadline => 6,
    })
}

/// `SCHED_FLAG_*` bits; `None` for the utilization clamps, which need
/// values the spec has no field for.
fn flag_bit(f: LinuxSchedulerFlag) -> Option<u64> {
    use LinuxSchedulerFlag as F;
    Some(match f {
        F::SchedResetOnFork => 0x01,
        F::SchedFlagReclaim => 0x02,
        F::SchedFlagDLOverrun => 0x04,
        F::SchedFlagKeepPolicy => 0x08,
        F::SchedFlagKeepParams => 0x10,
        F::SchedFlagUtilClampMin | F::SchedFlagUtilClampMax => return None,
    })
}

/// sched(7): deadline parameters are at least 1024 ns and below 2^63.
const DL_MIN: u64 = 1024;
const DL_MAX: u64 = 1 << 63;

/// `process.scheduler` as sched_setattr(2) takes it, checked as runc and
/// crun check it: nice in -20..19; a priority (1-99) only for the
/// real-time policies, which need one; runtime, deadline and period only
/// for SCHED_DEADLINE, which needs runtime <= deadline <= period.
pub fn sched_attr(s: &Scheduler) -> Result<SchedAttr, Bad> {
    use LinuxSchedulerPolicy as P;
    let policy = s.policy();
    let number = policy_number(*policy).ok_or_else(|| {
        bad(
            "policy",
            "SCHED_ISO is not a Linux policy (known: SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, \
             SCHED_FIFO, SCHED_RR, SCHED_DEADLINE)",
        )
    })?;
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(bad("nice", format!("{nice} is not in -20..19")));
    }
    let realtime = matches!(policy, P::SchedFifo | P::SchedRr);
    let priority = s.priority().unwrap_or(0);
    if realtime && !(1..=99).contains(&priority) {
        return Err(bad(
            "priority",
            format!("{policy} needs a priority in 1..99 (got {priority})"),
        ));
    }
    if !realtime && priority != 0 {
        return Err(bad(
            "priority",
            format!("only SCHED_FIFO and SCHED_RR take a priority, not {policy}"),
        ));
    }
    let mut flags = 0;
    for f in s.flags().iter().flatten() {
        flags |= flag_bit(*f).ok_or_else(|| {
            bad(
                "flags",
                format!("{f} needs utilization values the runtime spec has no field for"),
            )
        })?;
    }
    let (runtime, deadline, period) = (
        s.runtime().unwrap_or(0),
        s.deadline().unwrap_or(0),
        s.period().unwrap_or(0),
    );
    if *policy == P::SchedDeadline {
        deadline_params(runtime, deadline, period)?;
    } else {
        for (field, v) in [
            ("runtime", runtime),
            ("deadline", deadline),
            ("period", period),
        ] {
            if v != 0 {
                return Err(bad(
                    field,
                    format!("only SCHED_DEADLINE takes it, not {policy}"),
                ));
            }
        }
    }
    Ok(SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy: number,
        flags,
        nice,
        priority: priority as u32,
        runtime,
        deadline,
        period,
    })
}

/// SCHED_DEADLINE's three times (a period of 0 means the deadline).
fn deadline_params(runtime: u64, deadline: u64, period: u64) -> Result<(), Bad> {
    for (field, v) in [("runtime", runtime), ("deadline", deadline)] {
        if v == 0 {
            return Err(bad(field, "required with SCHED_DEADLINE"));
        }
    }
    for (field, v) in [
        ("runtime", runtime),
        ("deadline", deadline),
        ("period", period),
    ] {
        if v != 0 && !(DL_MIN..DL_MAX).contains(&v) {
            return Err(bad(
                field,
                format!("{v} ns is not in {DL_MIN}..2^63 ns (sched(7))"),
            ));
        }
    }
    if runtime > deadline {
        return Err(bad(
            "runtime",
            format!("{runtime} is above the deadline {deadline}"),
        ));
    }
    if period != 0 && deadline > period {
        return Err(bad(
            "deadline",
            format!("{deadline} is above the period {period}"),
        ));
    }
    Ok(())
}

/// `process.ioPriority` as ioprio_set(2) takes it: class << 13 | level,
/// the level in 0..7 (`<linux/ioprio.h>`).
pub fn ioprio(p: &LinuxIOPriority) -> Result<u32, Bad> {
    let class = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    let level = p.priority();
    if !(0..=7).contains(&level) {
        return Err(bad("priority", format!("{level} is not in 0..7")));
    }
    Ok(class << 13 | level as u32)
}

/// set_mempolicy(2)'s arguments: mode with its flags, and the node mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemPolicy {
    pub mode: i32,
    pub nodes: Vec<u64>,
}

/// `linux.memoryPolicy`, checked as runc checks it: MPOL_DEFAULT and
/// MPOL_LOCAL take no nodes; BIND, INTERLEAVE, WEIGHTED_INTERLEAVE and
/// PREFERRED_MANY at least one; PREFERRED any. Static and relative node
/// numbers exclude each other.
pub fn mem_policy(m: &LinuxMemoryPolicy) -> Result<MemPolicy, Bad> {
    use MemoryPolicyModeType as M;
    let (mode, needs_nodes) = match m.mode() {
        M::MpolDefault => (0, Some(false)),
        M::MpolPreferred => (1, None),
        M::MpolBind => (2, Some(true)),
        M::MpolInterleave => (3, Some(true)),
        M::MpolLocal => (4, Some(false)),
        M::MpolPreferredMany => (5, Some(true)),
        M::MpolWeightedInterleave => (6, Some(true)),
    };
    let nodes = match m.nodes().as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(list) => id_list(list).map_err(|msg| bad("nodes", msg))?,
    };
    let empty = nodes.iter().all(|w| *w == 0);
    match needs_nodes {
        Some(true) if empty => {
            return Err(bad(
                "nodes",
                format!("{} needs at least one node", m.mode()),
            ));
        }
        Some(false) if !empty => {
            return Err(bad("nodes", format!("{} takes no nodes", m.mode())));
        }
        _ => {}
    }
    let mut flags = 0;
    for f in m.flags().iter().flatten() {
        flags |= match f {
            MemoryPolicyFlagType::MpolFStaticNodes => MPOL_F_STATIC_NODES,
            MemoryPolicyFlagType::MpolFRelativeNodes => MPOL_F_RELATIVE_NODES,
            MemoryPolicyFlagType::MpolFNumaBalancing => MPOL_F_NUMA_BALANCING,
        };
    }
    if flags & MPOL_F_STATIC_NODES != 0 && flags & MPOL_F_RELATIVE_NODES != 0 {
        return Err(bad(
            "flags",
            "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other",
        ));
    }
    Ok(MemPolicy {
        mode: mode | flags,
        nodes,
    })
}

const MPOL_F_STATIC_NODES: i32 = 1 << 15;
const MPOL_F_RELATIVE_NODES: i32 = 1 << 14;
const MPOL_F_NUMA_BALANCING: i32 = 1 << 13;

/// The memory policy modes and flags nsbox applies (for `features`).
pub const MEMPOLICY_MODES: [&str; 7] = [
    "MPOL_DEFAULT",
    "MPOL_PREFERRED",
    "MPOL_BIND",
    "MPOL_INTERLEAVE",
    "MPOL_LOCAL",
    "MPOL_PREFERRED_MANY",
    "MPOL_WEIGHTED_INTERLEAVE",
];
pub const MEMPOLICY_FLAGS: [&str; 3] = [
    "MPOL_F_NUMA_BALANCING",
    "MPOL_F_RELATIVE_NODES",
    "MPOL_F_STATIC_NODES",
];

/// The highest CPU or node number a list may name (runc's bound): a
/// larger one is a typo, not a machine, and would size a huge mask.
pub const MAX_ID: usize = 64 * 1024;

/// A kernel list ("0-3,7", as cpuset and numactl write them) as a bit
/// mask in 64-bit words.
pub fn id_list(list: &str) -> Result<Vec<u64>, String> {
    let mut words: Vec<u64> = Vec::new();
    for part in list.split(',').map(str::trim) {
        let number = |s: &str| -> Result<usize, String> {
            let n: usize = s
                .trim()
                .parse()
                .map_err(|_| format!("{part:?} in {list:?} is not a number or a range"))?;
            if n > MAX_ID {
                return Err(format!("{n} is above {MAX_ID}"));
            }
            Ok(n)
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let n = number(part)?;
                (n, n)
            }
        };
        if lo > hi {
            return Err(format!("range {part:?} runs backwards"));
        }
        if words.len() <= hi / 64 {
            words.resize(hi / 64 + 1, 0);
        }
        for i in lo..=hi {
            words[i / 64] |= 1 << (i % 64);
        }
    }
    Ok(words)
}

/// A CPU list of the config and its mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuSet {
    pub list: String,
    pub mask: Vec<u64>,
}

/// `process.execCPUAffinity`: the sets before and after the move into the
/// container, each when given and not empty.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExecAffinity {
    pub initial: Option<CpuSet>,
    pub last: Option<CpuSet>,
}

pub fn exec_affinity(p: &Process) -> Result<ExecAffinity, Bad> {
    let Some(a) = p.exec_cpu_affinity() else {
        return Ok(ExecAffinity::default());
    };
    let set = |field: &'static str, s: &Option<String>| match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(list) => id_list(list)
            .map(|mask| {
                Some(CpuSet {
                    list: list.to_string(),
                    mask,
                })
            })
            .map_err(|msg| bad(field, msg)),
    };
    Ok(ExecAffinity {
        initial: set("execCPUAffinity.initial", a.initial())?,
        last: set("execCPUAffinity.final", a.cpu_affinity_final())?,
    })
}

/// Checks a process's scheduler, I/O priority and exec CPU affinity;
/// `prefix` is where the process sits in `file` (`process.` in
/// config.json, nothing in an exec's process.json).
pub fn check_process(file: &'static str, prefix: &str, p: &Process) -> Result<(), Error> {
    let named = |object: &str, b: Bad| Error::ConfigField {
        file,
        field: format!("{prefix}{object}.{}", b.field),
        msg: b.msg,
    };
    if let Some(s) = p.scheduler() {
        sched_attr(s).map_err(|b| named("scheduler", b))?;
    }
    if let Some(io) = p.io_priority() {
        ioprio(io).map_err(|b| named("ioPriority", b))?;
    }
    exec_affinity(p).map_err(|b| Error::ConfigField {
        file,
        field: format!("{prefix}{}", b.field),
        msg: b.msg,
    })?;
    Ok(())
}

/// An exec's process: what a process.json leaves out of scheduler, I/O
/// priority and CPU affinity comes from config.json's process (as runc
/// does), and a process.json is checked here (config.json was at load).
/// Returns the initial CPU set, for nsbox to move onto before the clone.
pub fn exec_process(
    p: &mut Process,
    from_file: bool,
    base: Option<&Process>,
) -> Result<Option<CpuSet>, Error> {
    if let Some(base) = base {
        if p.scheduler().is_none() {
            p.set_scheduler(base.scheduler().clone());
        }
        if p.io_priority().is_none() {
            p.set_io_priority(*base.io_priority());
        }
        if p.exec_cpu_affinity().is_none() {
            p.set_exec_cpu_affinity(base.exec_cpu_affinity().clone());
        }
    }
    if from_file {
        check_process("process.json", "", p)?;
    }
    Ok(exec_affinity(p).expect("checked: execCPUAffinity").initial)
}

/// config.json's scheduling fields: the process's and `linux.memoryPolicy`.
pub fn check(spec: &Spec) -> Result<(), Error> {
    if let Some(p) = spec.process() {
        check_process(super::CONFIG, "process.", p)?;
    }
    if let Some(m) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().as_ref())
    {
        mem_policy(m)
            .map_err(|b| super::field(&format!("linux.memoryPolicy.{}", b.field), b.msg))?;
    }
    Ok(())
}

/// oci-spec 0.10 spells two scheduler flags unlike the runtime spec
/// (`SCHED_RESET_ON_FORK`, `SCHED_FLAG_D_L_OVERRUN`); the spec's words,
/// which runc and crun read, are turned into the crate's before parsing.
/// `None` when the text has neither (the common case: no second parse).
pub fn spec_flag_words(text: &str) -> Option<serde_json::Value> {
    const WORDS: [(&str, &str); 2] = [
        ("SCHED_FLAG_RESET_ON_FORK", "SCHED_RESET_ON_FORK"),
        ("SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_D_L_OVERRUN"),
    ];
    if !WORDS.iter().any(|(spec, _)| text.contains(spec)) {
        return None;
    }
    let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
    // config.json holds the process under `process`; process.json is one.
    for pointer in ["/process/scheduler/flags", "/scheduler/flags"] {
        let Some(flags) = value.pointer_mut(pointer).and_then(|f| f.as_array_mut()) else {
            continue;
        };
        for f in flags.iter_mut() {
            if let Some((_, ours)) = WORDS.iter().find(|(spec, _)| f == spec) {
                *f = serde_json::Value::from(*ours);
            }
        }
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(json: &str) -> Result<SchedAttr, Bad> {
        sched_attr(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn scheduler_values() {
        let a = sched(r#"{"policy": "SCHED_BATCH", "nice": 5}"#).unwrap();
        assert_eq!((a.policy, a.nice, a.size), (3, 5, 48));
        let a =
            sched(r#"{"policy": "SCHED_FIFO", "priority": 10, "flags": ["SCHED_RESET_ON_FORK"]}"#)
                .unwrap();
        assert_eq!((a.policy, a.priority, a.flags), (1, 10, 1));
        let a = sched(
            r#"{"policy": "SCHED_DEADLINE", "runtime": 100000, "deadline": 1000000, "period": 1000000}"#,
        )
        .unwrap();
        assert_eq!(
            (a.policy, a.runtime, a.deadline, a.period),
            (6, 100000, 1000000, 1000000)
        );
        for (json, field) in [
            (r#"{"policy": "SCHED_ISO"}"#, "policy"),
            (r#"{"policy": "SCHED_OTHER", "nice": 20}"#, "nice"),
            (r#"{"policy": "SCHED_FIFO"}"#, "priority"),
            (r#"{"policy": "SCHED_OTHER", "priority": 3}"#, "priority"),
            (r#"{"policy": "SCHED_OTHER", "runtime": 3000}"#, "runtime"),
            (
                r#"{"policy": "SCHED_DEADLINE", "runtime": 5000}"#,
                "deadline",
            ),
            (
                r#"{"policy": "SCHED_DEADLINE", "runtime": 5000, "deadline": 4000}"#,
                "runtime",
            ),
            (
                r#"{"policy": "SCHED_DEADLINE", "runtime": 5, "deadline": 4000}"#,
                "runtime",
            ),
            (
                r#"{"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_UTIL_CLAMP_MIN"]}"#,
                "flags",
            ),
        ] {
            assert_eq!(sched(json).unwrap_err().field, field, "{json}");
        }
    }

    #[test]
    fn io_priority_values() {
        let io = |json: &str| ioprio(&serde_json::from_str(json).unwrap());
        assert_eq!(io(r#"{"class": "IOPRIO_CLASS_IDLE"}"#), Ok(3 << 13));
        assert_eq!(
            io(r#"{"class": "IOPRIO_CLASS_BE", "priority": 6}"#),
            Ok(2 << 13 | 6)
        );
        assert_eq!(
            io(r#"{"class": "IOPRIO_CLASS_RT", "priority": 8}"#)
                .unwrap_err()
                .field,
            "priority"
        );
    }

    #[test]
    fn lists_and_memory_policies() {
        assert_eq!(id_list("0-3,7").unwrap(), vec![0x8f]);
        assert_eq!(id_list("64").unwrap(), vec![0, 1]);
        assert_eq!(id_list(" 1 , 0 ").unwrap(), vec![3]);
        for bad in ["3-1", "x", "1,,2", "99999999"] {
            assert!(id_list(bad).is_err(), "{bad}");
        }
        let mp = |json: &str| mem_policy(&serde_json::from_str(json).unwrap());
        assert_eq!(
            mp(r#"{"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}"#),
            Ok(MemPolicy {
                mode: 2 | 1 << 15,
                nodes: vec![1]
            })
        );
        assert_eq!(
            mp(r#"{"mode": "MPOL_LOCAL"}"#),
            Ok(MemPolicy {
                mode: 4,
                nodes: vec![]
            })
        );
        assert_eq!(mp(r#"{"mode": "MPOL_BIND"}"#).unwrap_err().field, "nodes");
        assert_eq!(
            mp(r#"{"mode": "MPOL_DEFAULT", "nodes": "0"}"#)
                .unwrap_err()
                .field,
            "nodes"
        );
        assert_eq!(
            mp(r#"{"mode": "MPOL_PREFERRED", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}"#)
                .unwrap_err()
                .field,
            "flags"
        );
    }

    #[test]
    fn spec_flag_words_become_the_crates() {
        let text = r#"{"process": {"scheduler": {"policy": "SCHED_OTHER",
            "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_DL_OVERRUN"]}},
            "annotations": {"a": "SCHED_FLAG_RESET_ON_FORK"}}"#;
        let v = spec_flag_words(text).unwrap();
        assert_eq!(
            v["process"]["scheduler"]["flags"],
            serde_json::json!(["SCHED_RESET_ON_FORK", "SCHED_FLAG_D_L_OVERRUN"])
        );
        assert_eq!(v["annotations"]["a"], "SCHED_FLAG_RESET_ON_FORK");
        assert!(spec_flag_words(r#"{"process": {}}"#).is_none());
    }
}
