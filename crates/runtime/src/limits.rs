//! `linux.resources` (oci-spec types) → `nsbox_cgroups::Resources` (plain
//! data, no OCI types below this crate), field by field; and the device
//! rules every container gets, as runc and crun give them.
//!
//! Engines send zeros for what the user did not set (Docker: `cpu.shares`
//! 0, `blockIO.weight` 0, `memory.disableOOMKiller` false), and runc reads
//! them as absent: its config conversion turns a missing value and a zero
//! into the same number and every cgroup writer skips zero. So here a zero
//! (or an empty string, or `false` for a switch that only turns something
//! on) becomes `None` before nsbox-cgroups sees it, where `Some` means
//! "write this": nothing is written, no controller is needed for it, and a
//! config of zeros counts as no limits at all. Values that are limits even
//! at zero stay: hugepage limits, throttle rates, interface priorities,
//! rdma counts, `cpu.burst` and `cpu.idle` (docs/resources.md has the
//! table).

use std::collections::BTreeMap;

use nsbox_cgroups::resources::{
    BlockIo, Cpu, DeviceRule, HugepageLimit, InterfacePriority, Memory, Network, Pids, Rdma,
    ThrottleDevice, WeightDevice,
};
use nsbox_cgroups::Resources;
use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType, LinuxResources, LinuxThrottleDevice,
};

use crate::Error;

/// Devices a container may always use (runc's `AllowedDevices`): mknod of
/// any node (using one is what the rules decide), the standard character
/// devices, the console and the ptys.
const STANDARD: &[(char, Option<i64>, Option<i64>, &str)] = &[
    ('c', None, None, "m"),
    ('b', None, None, "m"),
    ('c', Some(1), Some(3), "rwm"), // /dev/null
    ('c', Some(1), Some(5), "rwm"), // /dev/zero
    ('c', Some(1), Some(7), "rwm"), // /dev/full
    ('c', Some(1), Some(8), "rwm"), // /dev/random
    ('c', Some(1), Some(9), "rwm"), // /dev/urandom
    ('c', Some(5), Some(0), "rwm"), // /dev/tty
    ('c', Some(5), Some(1), "rwm"), // /dev/console
    ('c', Some(5), Some(2), "rwm"), // /dev/ptmx
    ('c', Some(136), None, "rwm"),  // /dev/pts/*
];

/// The resources of `res` (none: empty) plus, when the config has device
/// rules, the standard devices and `linux.devices` allowed (see
/// [`device_rules`]).
pub fn from_oci(res: Option<&LinuxResources>, devices: &[LinuxDevice]) -> Result<Resources, Error> {
    let Some(r) = res else {
        return Ok(Resources::default());
    };
    let mut out = Resources {
        devices: device_rules(r.devices().as_deref().unwrap_or(&[]), devices)?,
        ..Default::default()
    };
    if let Some(m) = r.memory() {
        out.memory = unless_empty(Memory {
            limit: set(m.limit()),
            reservation: set(m.reservation()),
            swap: set(m.swap()),
            kernel: None, // never written: see `ignored`
            kernel_tcp: set(m.kernel_tcp()),
            swappiness: m.swappiness(),
            disable_oom_killer: set(m.disable_oom_killer()),
            use_hierarchy: m.use_hierarchy(),
        });
    }
    if let Some(c) = r.cpu() {
        out.cpu = unless_empty(Cpu {
            shares: set(c.shares()),
            quota: set(c.quota()),
            burst: c.burst(),
            period: set(c.period()),
            realtime_runtime: set(c.realtime_runtime()),
            realtime_period: set(c.realtime_period()),
            cpus: set(c.cpus().clone()),
            mems: set(c.mems().clone()),
            idle: c.idle(),
        });
    }
    // oci-spec reads a missing `limit` as 0: either way, no limit to set
    // (runc 1.1 leaves pids.max alone; a negative is "max").
    if let Some(p) = r.pids().filter(|p| p.limit() != 0) {
        out.pids = Some(Pids { limit: p.limit() });
    }
    if let Some(b) = r.block_io() {
        let throttle = |v: &Option<Vec<LinuxThrottleDevice>>| -> Vec<ThrottleDevice> {
            v.iter()
                .flatten()
                .map(|t| ThrottleDevice {
                    major: t.major(),
                    minor: t.minor(),
                    rate: t.rate(),
                })
                .collect()
        };
        out.block_io = unless_empty(BlockIo {
            weight: set(b.weight()),
            leaf_weight: set(b.leaf_weight()),
            weight_device: b
                .weight_device()
                .iter()
                .flatten()
                .map(|w| WeightDevice {
                    major: w.major(),
                    minor: w.minor(),
                    weight: set(w.weight()),
                    leaf_weight: set(w.leaf_weight()),
                })
                .filter(|w| w.weight.is_some() || w.leaf_weight.is_some())
                .collect(),
            throttle_read_bps_device: throttle(b.throttle_read_bps_device()),
            throttle_write_bps_device: throttle(b.throttle_write_bps_device()),
            throttle_read_iops_device: throttle(b.throttle_read_iops_device()),
            throttle_write_iops_device: throttle(b.throttle_write_iops_device()),
        });
    }
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        let limit = u64::try_from(h.limit()).map_err(|_| Error::ConfigField {
            file: "config.json",
            field: format!("linux.resources.hugepageLimits[{i}].limit"),
            msg: format!("{} is negative", h.limit()),
        })?;
        out.hugepage_limits.push(HugepageLimit {
            page_size: h.page_size().clone(),
            limit,
        });
    }
    if let Some(n) = r.network() {
        out.network = unless_empty(Network {
            class_id: set(n.class_id()),
            priorities: n
                .priorities()
                .iter()
                .flatten()
                .map(|p| InterfacePriority {
                    name: p.name().clone(),
                    priority: p.priority(),
                })
                .collect(),
        });
    }
    for (dev, l) in r.rdma().iter().flatten() {
        out.rdma.insert(
            dev.clone(),
            Rdma {
                hca_handles: l.hca_handles(),
                hca_objects: l.hca_objects(),
            },
        );
    }
    if let Some(u) = r.unified() {
        out.unified = u
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>();
    }
    Ok(out)
}

/// What `from_oci` leaves alone on purpose, as warnings: the kernel memory
/// limit (`memory.kernel`). Linux deprecated it (v1 only; since 6.1 a write
/// is taken and ignored, and v2 never had it), and runc 1.1 warns and never
/// writes it, so an engine or a test suite that still sends it gets a
/// container, not an error. (`kernelTCP` is still in force on v1 and is
/// written; on v2 it is one of the v1-only fields, see [`take_v1_only`].)
/// `file` names where `res` came from.
pub fn ignored(res: Option<&LinuxResources>, file: &'static str) -> Vec<Error> {
    let kernel = res
        .and_then(|r| r.memory().as_ref())
        .and_then(|m| set(m.kernel()));
    kernel
        .map(|_| Error::Ignored {
            file,
            field: "linux.resources.memory.kernel".to_owned(),
            why: "kernel memory limits are deprecated and not applied \
                  (Linux 6.1 and later ignore them; runc ignores them too)",
        })
        .into_iter()
        .collect()
}

/// The fields `cg` cannot hold because cgroup v2 serves their controller
/// (nsbox_cgroups' `take_v1_only`), taken out of `res` and said as
/// warnings: runc ignores them on v2 silently, crun refuses the container;
/// nsbox runs it and says what it left out.
pub fn take_v1_only(
    cg: &nsbox_cgroups::Cgroup,
    res: &mut Resources,
    file: &'static str,
) -> Vec<Error> {
    cg.take_v1_only(res)
        .into_iter()
        .map(|f| Error::Ignored {
            file,
            field: format!("linux.resources.{f}"),
            why: "cgroup v2 has no such setting (runc ignores it too)",
        })
        .collect()
}

/// A value the config sets: `None` for a zero, an empty string or `false`,
/// which engines send for "not set" (see the module's comment).
fn set<T: Default + PartialEq>(value: Option<T>) -> Option<T> {
    value.filter(|v| *v != T::default())
}

/// A controller's part with nothing set in it is no part at all.
fn unless_empty<T: Default + PartialEq>(part: T) -> Option<T> {
    (part != T::default()).then_some(part)
}

/// The config's rules, plus the standard devices and every `linux.devices`
/// entry allowed. As in runc, those come after the config's rules (so
/// `devices.list` shows the config's entries in the config's order, which
/// runtime-tools checks) — except a standard device that a config rule
/// names (same type, major and minor): its allow goes right after the
/// config's last "deny all", before the config's own rule, so that
/// `deny c 1:3 r` takes reading of /dev/null away and leaves writing (the
/// last matching rule decides). No rules in the config: none at all (the
/// container inherits its parent cgroup's device access).
pub fn device_rules(
    config: &[LinuxDeviceCgroup],
    devices: &[LinuxDevice],
) -> Result<Vec<DeviceRule>, Error> {
    if config.is_empty() {
        return Ok(Vec::new());
    }
    let mut user = Vec::with_capacity(config.len());
    for (i, d) in config.iter().enumerate() {
        let kind = match d.typ().unwrap_or_default() {
            LinuxDeviceType::A => 'a',
            LinuxDeviceType::B => 'b',
            LinuxDeviceType::C | LinuxDeviceType::U => 'c',
            LinuxDeviceType::P => {
                return Err(Error::ConfigField {
                    file: "config.json",
                    field: format!("linux.resources.devices[{i}].type"),
                    msg: "\"p\" (a fifo) is not a device the cgroup controls; use a, b or c".into(),
                })
            }
        };
        user.push(DeviceRule {
            allow: d.allow(),
            kind: Some(kind),
            major: d.major(),
            minor: d.minor(),
            access: d.access().clone(),
        });
    }
    let mut standard: Vec<DeviceRule> = STANDARD
        .iter()
        .map(|&(kind, major, minor, access)| DeviceRule {
            allow: true,
            kind: Some(kind),
            major,
            minor,
            access: Some(access.to_owned()),
        })
        .collect();
    for d in devices {
        let kind = match d.typ() {
            LinuxDeviceType::B => 'b',
            LinuxDeviceType::C | LinuxDeviceType::U => 'c',
            _ => continue, // fifos are not the devices controller's business
        };
        standard.push(DeviceRule {
            allow: true,
            kind: Some(kind),
            major: Some(d.major()),
            minor: Some(d.minor()),
            access: Some("rwm".to_owned()),
        });
    }
    let named = |d: &DeviceRule| {
        user.iter().any(|u| {
            u.kind == d.kind && u.major.is_some() && u.major == d.major && u.minor == d.minor
        })
    };
    let (first, rest): (Vec<DeviceRule>, Vec<DeviceRule>) =
        standard.into_iter().partition(|d| named(d));
    let at = user.iter().rposition(denies_all).map_or(0, |i| i + 1);
    user.splice(at..at, first);
    user.extend(rest);
    Ok(user)
}

fn denies_all(r: &DeviceRule) -> bool {
    let any = |n: Option<i64>| n.is_none_or(|n| n < 0);
    !r.allow
        && r.kind.is_none_or(|k| k == 'a')
        && any(r.major)
        && any(r.minor)
        && r.access
            .as_deref()
            .is_none_or(|a| "rwm".chars().all(|c| a.contains(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_str(json).unwrap()
    }

    fn resources(json: &str) -> Resources {
        let r: LinuxResources = serde_json::from_str(json).unwrap();
        from_oci(Some(&r), &[]).unwrap()
    }

    /// What Docker sends for `docker run` without a limit flag: nothing to
    /// write, no controller needed (runc reads every zero as "not set").
    #[test]
    fn an_engines_zeros_are_no_limits() {
        let r = resources(
            r#"{"cpu":{"shares":0,"quota":0,"period":0,"realtimeRuntime":0,
                       "realtimePeriod":0,"cpus":"","mems":""},
                "blockIO":{"weight":0,"leafWeight":0,
                           "weightDevice":[{"major":8,"minor":0,"weight":0,"leafWeight":0}]},
                "memory":{"limit":0,"reservation":0,"swap":0,"kernel":0,"kernelTCP":0,
                          "disableOOMKiller":false},
                "pids":{"limit":0},
                "network":{"classID":0}}"#,
        );
        assert!(r.is_empty(), "{r:?}");
    }

    /// Each zero is dropped on its own; what is set beside it stays.
    #[test]
    fn zeros_beside_real_values() {
        let r = resources(
            r#"{"cpu":{"shares":0,"quota":50000,"period":100000},
                "blockIO":{"weight":0,"weightDevice":[{"major":8,"minor":0,"weight":0,"leafWeight":300},
                                                       {"major":8,"minor":16,"weight":0}]},
                "memory":{"limit":67108864,"swap":0,"disableOOMKiller":true},
                "pids":{"limit":64}}"#,
        );
        let cpu = r.cpu.unwrap();
        assert_eq!(
            (cpu.shares, cpu.quota, cpu.period),
            (None, Some(50000), Some(100000))
        );
        let io = r.block_io.unwrap();
        assert_eq!(io.weight, None);
        assert_eq!(io.weight_device.len(), 1);
        assert_eq!(
            (io.weight_device[0].weight, io.weight_device[0].leaf_weight),
            (None, Some(300))
        );
        let mem = r.memory.unwrap();
        assert_eq!((mem.limit, mem.swap), (Some(64 << 20), None));
        assert_eq!(mem.disable_oom_killer, Some(true));
        assert_eq!(r.pids.unwrap().limit, 64);
    }

    /// The kernel memory limit is never written; set, it is one warning
    /// (runc: "Kernel memory settings are ignored and will be removed").
    /// kernelTCP, still in force on v1, carries over.
    #[test]
    fn kernel_memory_is_a_warning_not_a_limit() {
        let json = r#"{"memory":{"limit":67108864,"kernel":33554432,"kernelTCP":-1}}"#;
        let r: LinuxResources = serde_json::from_str(json).unwrap();
        let m = from_oci(Some(&r), &[]).unwrap().memory.unwrap();
        assert_eq!(
            (m.limit, m.kernel, m.kernel_tcp),
            (Some(64 << 20), None, Some(-1))
        );
        let said: Vec<String> = ignored(Some(&r), "config.json")
            .iter()
            .map(|w| w.to_string())
            .collect();
        assert_eq!(
            said,
            [
                "config.json: linux.resources.memory.kernel: ignored: kernel memory limits are \
              deprecated and not applied (Linux 6.1 and later ignore them; runc ignores them too)"
            ]
        );
        let zeros: LinuxResources =
            serde_json::from_str(r#"{"memory":{"kernel":0,"kernelTCP":0}}"#).unwrap();
        assert!(ignored(Some(&zeros), "config.json").is_empty());
        assert!(ignored(None, "config.json").is_empty());
    }

    /// Values that are limits even at zero are kept: a hugepage limit of
    /// 0 forbids huge pages, a throttle rate of 0 removes a throttle.
    #[test]
    fn zeros_that_are_limits_stay() {
        let r = resources(
            r#"{"hugepageLimits":[{"pageSize":"2MB","limit":0}],
                "blockIO":{"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":0}]},
                "cpu":{"burst":0,"idle":0},
                "pids":{"limit":-1}}"#,
        );
        assert_eq!(r.hugepage_limits[0].limit, 0);
        assert_eq!(r.block_io.unwrap().throttle_read_bps_device[0].rate, 0);
        let cpu = r.cpu.unwrap();
        assert_eq!((cpu.burst, cpu.idle), (Some(0), Some(0)));
        assert_eq!(r.pids.unwrap().limit, -1);
    }

    #[test]
    fn config_rules_keep_their_order_and_win_over_standard_devices() {
        let r = device_rules(
            &rules(
                r#"[{"allow":false,"access":"rwm"},
                    {"allow":true,"type":"c","major":10,"minor":229,"access":"rwm"},
                    {"allow":false,"type":"c","major":1,"minor":3,"access":"r"}]"#,
            ),
            &[],
        )
        .unwrap();
        assert_eq!(r.len(), 3 + STANDARD.len());
        assert!(!r[0].allow && r[0].kind == Some('a'));
        // /dev/null, named by the config: allowed first, then refined
        assert!(r[1].allow && r[1].major == Some(1) && r[1].minor == Some(3));
        assert!(r[2].allow && r[2].major == Some(10));
        assert!(!r[3].allow && r[3].major == Some(1) && r[3].minor == Some(3));
        // the rest after the config's rules, as runc orders them
        assert_eq!(r[4].access.as_deref(), Some("m"));
        assert!(!r[4..]
            .iter()
            .any(|d| d.major == Some(1) && d.minor == Some(3)));
    }

    #[test]
    fn no_rules_stay_none() {
        assert!(device_rules(&[], &[]).unwrap().is_empty());
    }

    #[test]
    fn fifo_type_is_refused_naming_the_field() {
        let e = device_rules(&rules(r#"[{"allow":true,"type":"p"}]"#), &[]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config.json: linux.resources.devices[0].type"),
            "{e}"
        );
    }

    #[test]
    fn every_field_carries_over() {
        let r: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":67108864,"swap":134217728,"swappiness":10},
                "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0","mems":"0"},
                "pids":{"limit":64},
                "blockIO":{"weight":500,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1024}]},
                "hugepageLimits":[{"pageSize":"2MB","limit":4194304}],
                "network":{"classID":7,"priorities":[{"name":"lo","priority":2}]},
                "rdma":{"mlx":{"hcaHandles":3}},
                "unified":{"memory.high":"1000000"}}"#,
        )
        .unwrap();
        let out = from_oci(Some(&r), &[]).unwrap();
        let m = out.memory.unwrap();
        assert_eq!(
            (m.limit, m.swap, m.swappiness),
            (Some(64 << 20), Some(128 << 20), Some(10))
        );
        let c = out.cpu.unwrap();
        assert_eq!(
            (c.shares, c.quota, c.period),
            (Some(512), Some(50000), Some(100000))
        );
        assert_eq!(c.cpus.as_deref(), Some("0"));
        assert_eq!(out.pids.unwrap().limit, 64);
        let b = out.block_io.unwrap();
        assert_eq!(b.weight, Some(500));
        assert_eq!(b.throttle_read_bps_device[0].rate, 1024);
        assert_eq!(out.hugepage_limits[0].limit, 4 << 20);
        assert_eq!(out.network.unwrap().priorities[0].name, "lo");
        assert_eq!(out.rdma["mlx"].hca_handles, Some(3));
        assert_eq!(out.unified["memory.high"], "1000000");
        assert!(out.devices.is_empty());
    }
}
