//! The `linux.resources` fields cgroup v2 has no file for (kernel memory,
//! swappiness, the OOM killer switch, `useHierarchy: false`, realtime CPU,
//! blkio leaf weights, net_cls/net_prio): [`take`] lifts them out of a
//! request for a cgroup whose controllers live in the unified hierarchy,
//! so the caller decides what to say (runc ignores them there, crun
//! refuses them). What stays in the request is what v2 can apply; the v2
//! writers still refuse any of these by name if handed one.

use crate::resources::Resources;

/// Removes from `res` the v1-only fields whose controller `on_v2` says is
/// served by cgroup v2 (`memory`, `cpu`, `blkio`, `net_cls`), and returns
/// their names as the config spells them (`memory.swappiness`). A neutral
/// value (`disableOOMKiller: false`, `useHierarchy: true`) is dropped
/// without being named: it asks for what v2 does anyway.
pub fn take(res: &mut Resources, on_v2: impl Fn(&str) -> bool) -> Vec<&'static str> {
    let mut taken = Vec::new();
    let mut name = |was_set: bool, field| {
        if was_set {
            taken.push(field);
        }
    };
    if let Some(m) = res.memory.as_mut().filter(|_| on_v2("memory")) {
        name(m.kernel.take().is_some(), "memory.kernel");
        name(m.kernel_tcp.take().is_some(), "memory.kernelTCP");
        name(m.swappiness.take().is_some(), "memory.swappiness");
        name(
            m.disable_oom_killer.take() == Some(true),
            "memory.disableOOMKiller",
        );
        name(m.use_hierarchy.take() == Some(false), "memory.useHierarchy");
    }
    if let Some(c) = res.cpu.as_mut().filter(|_| on_v2("cpu")) {
        name(c.realtime_runtime.take().is_some(), "cpu.realtimeRuntime");
        name(c.realtime_period.take().is_some(), "cpu.realtimePeriod");
    }
    if let Some(b) = res.block_io.as_mut().filter(|_| on_v2("blkio")) {
        name(b.leaf_weight.take().is_some(), "blockIO.leafWeight");
        let mut per_device = false;
        for d in &mut b.weight_device {
            per_device |= d.leaf_weight.take().is_some();
        }
        b.weight_device.retain(|d| d.weight.is_some());
        name(per_device, "blockIO.weightDevice[].leafWeight");
    }
    if on_v2("net_cls") {
        if let Some(n) = res.network.take() {
            name(n.class_id.is_some(), "network.classID");
            name(!n.priorities.is_empty(), "network.priorities");
        }
    }
    if res
        .memory
        .as_ref()
        .is_some_and(|m| *m == Default::default())
    {
        res.memory = None;
    }
    if res.cpu.as_ref().is_some_and(|c| *c == Default::default()) {
        res.cpu = None;
    }
    if res
        .block_io
        .as_ref()
        .is_some_and(|b| *b == Default::default())
    {
        res.block_io = None;
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{BlockIo, Cpu, InterfacePriority, Memory, Network, WeightDevice};

    fn everything() -> Resources {
        Resources {
            memory: Some(Memory {
                limit: Some(64 << 20),
                kernel: Some(1),
                kernel_tcp: Some(2),
                swappiness: Some(10),
                disable_oom_killer: Some(true),
                use_hierarchy: Some(false),
                ..Default::default()
            }),
            cpu: Some(Cpu {
                realtime_runtime: Some(950000),
                realtime_period: Some(1000000),
                ..Default::default()
            }),
            block_io: Some(BlockIo {
                weight: Some(500),
                leaf_weight: Some(300),
                weight_device: vec![
                    WeightDevice {
                        major: 8,
                        minor: 0,
                        weight: Some(600),
                        leaf_weight: Some(200),
                    },
                    WeightDevice {
                        major: 8,
                        minor: 16,
                        weight: None,
                        leaf_weight: Some(200),
                    },
                ],
                ..Default::default()
            }),
            network: Some(Network {
                class_id: Some(7),
                priorities: vec![InterfacePriority {
                    name: "lo".into(),
                    priority: 1,
                }],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn on_v2_every_v1_only_field_is_taken_and_named() {
        let mut r = everything();
        let taken = take(&mut r, |_| true);
        assert_eq!(
            taken,
            [
                "memory.kernel",
                "memory.kernelTCP",
                "memory.swappiness",
                "memory.disableOOMKiller",
                "memory.useHierarchy",
                "cpu.realtimeRuntime",
                "cpu.realtimePeriod",
                "blockIO.leafWeight",
                "blockIO.weightDevice[].leafWeight",
                "network.classID",
                "network.priorities",
            ]
        );
        // what v2 can apply stays; a part left empty is gone
        assert_eq!(r.memory.unwrap().limit, Some(64 << 20));
        assert_eq!(r.cpu, None);
        let b = r.block_io.unwrap();
        assert_eq!(b.weight, Some(500));
        assert_eq!(b.weight_device.len(), 1);
        assert_eq!(b.weight_device[0].weight, Some(600));
        assert_eq!(r.network, None);
    }

    #[test]
    fn controllers_held_by_v1_keep_their_fields() {
        let mut r = everything();
        let taken = take(&mut r, |c| c == "cpu");
        assert_eq!(taken, ["cpu.realtimeRuntime", "cpu.realtimePeriod"]);
        assert_eq!(r, {
            let mut e = everything();
            e.cpu = None;
            e
        });
    }

    #[test]
    fn neutral_values_are_dropped_unnamed() {
        let mut r = Resources {
            memory: Some(Memory {
                disable_oom_killer: Some(false),
                use_hierarchy: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(take(&mut r, |_| true).is_empty());
        assert_eq!(r.memory, None);
    }
}
