//! `linux.resources` as systemd unit properties, for the limits systemd
//! has a property for (what it then keeps across `daemon-reload` and shows
//! in `systemctl show`). The driver writes every limit to the unit's cgroup
//! files afterwards as well, with the same code as cgroupfs, so values
//! systemd rounds or cannot express still hold exactly as the config says.
//! Conversions follow runc's: CPU weight from shares, quota per second
//! rounded up to systemd's 10 ms, cpusets as bitmasks.

use crate::resources::{DeviceRule, Resources};

/// One property value, in the D-Bus type systemd expects for its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prop {
    /// `b`
    Bool(bool),
    /// `t`
    U64(u64),
    /// `s`
    Str(String),
    /// `ay`: a CPU or memory node bitmask.
    Bytes(Vec<u8>),
    /// `au`: process ids.
    Pids(Vec<u32>),
    /// `a(ss)`: device path or class, and access.
    Devices(Vec<(String, String)>),
}

/// systemd's "infinity" for `t` limits.
pub const INFINITY: u64 = u64::MAX;

/// The properties a new unit always gets: no implicit dependencies (it
/// must not wait for or stop with the system's targets), the cgroup
/// delegated to the container, and accounting on so that systemd enables
/// the controllers the limits need.
pub fn base(description: &str, unified: bool) -> Vec<(&'static str, Prop)> {
    let mut p = vec![
        ("Description", Prop::Str(description.to_owned())),
        ("DefaultDependencies", Prop::Bool(false)),
        ("Delegate", Prop::Bool(true)),
        ("MemoryAccounting", Prop::Bool(true)),
        ("CPUAccounting", Prop::Bool(true)),
        ("TasksAccounting", Prop::Bool(true)),
    ];
    p.push((
        if unified {
            "IOAccounting"
        } else {
            "BlockIOAccounting"
        },
        Prop::Bool(true),
    ));
    p
}

/// The limits of `res` that systemd has properties for; `unified` says
/// whether the unit's controllers are cgroup v2 ones (pure v2 host);
/// `proc_devices` is the text of /proc/devices (names for whole majors).
pub fn limits(res: &Resources, unified: bool, proc_devices: &str) -> Vec<(&'static str, Prop)> {
    let mut p = Vec::new();
    if let Some(m) = &res.memory {
        let limit = m.limit.filter(|&v| v != 0);
        if unified {
            if let Some(v) = limit {
                p.push(("MemoryMax", Prop::U64(bytes(v))));
            }
            if let Some(v) = m.reservation.filter(|&v| v != 0) {
                p.push(("MemoryLow", Prop::U64(bytes(v))));
            }
            // OCI's swap is memory plus swap; systemd's is swap alone
            match (m.swap.filter(|&v| v != 0), limit) {
                (Some(-1), _) => p.push(("MemorySwapMax", Prop::U64(INFINITY))),
                (Some(s), Some(l)) if l > 0 && s >= l => {
                    p.push(("MemorySwapMax", Prop::U64((s - l) as u64)))
                }
                _ => {}
            }
        } else if let Some(v) = limit {
            p.push(("MemoryLimit", Prop::U64(bytes(v))));
        }
    }
    if unified {
        if let Some(v) = res.unified.get("memory.high") {
            let high = if v.trim() == "max" {
                Some(INFINITY)
            } else {
                v.trim().parse().ok()
            };
            if let Some(h) = high {
                p.push(("MemoryHigh", Prop::U64(h)));
            }
        }
    }
    if let Some(c) = &res.cpu {
        if let Some(s) = c.shares.filter(|&s| s != 0) {
            if unified {
                p.push(("CPUWeight", Prop::U64(cpu_weight(s))));
            } else {
                p.push(("CPUShares", Prop::U64(s)));
            }
        }
        let quota = c.quota.filter(|&q| q != 0);
        let period = c.period.filter(|&v| v != 0);
        if let Some(period) = period {
            p.push(("CPUQuotaPeriodUSec", Prop::U64(period)));
        }
        if quota.is_some() || period.is_some() {
            p.push((
                "CPUQuotaPerSecUSec",
                Prop::U64(quota_per_sec(
                    quota.unwrap_or(-1),
                    period.unwrap_or(100_000),
                )),
            ));
        }
        if unified {
            // systemd drives cpusets on cgroup v2 only
            if let Some(mask) = c
                .cpus
                .as_deref()
                .filter(|s| !s.is_empty())
                .and_then(bitmask)
            {
                p.push(("AllowedCPUs", Prop::Bytes(mask)));
            }
            if let Some(mask) = c
                .mems
                .as_deref()
                .filter(|s| !s.is_empty())
                .and_then(bitmask)
            {
                p.push(("AllowedMemoryNodes", Prop::Bytes(mask)));
            }
        }
    }
    if let Some(pids) = &res.pids {
        if pids.limit != 0 {
            let v = if pids.limit < 0 {
                INFINITY
            } else {
                pids.limit as u64
            };
            p.push(("TasksMax", Prop::U64(v)));
        }
    }
    if let Some(w) = res
        .block_io
        .as_ref()
        .and_then(|b| b.weight)
        .filter(|&w| w != 0)
    {
        if unified {
            p.push(("IOWeight", Prop::U64(io_weight(w))));
        } else {
            p.push(("BlockIOWeight", Prop::U64(u64::from(w))));
        }
    }
    if let Some((policy, allow)) = devices(&res.devices, proc_devices) {
        p.push(("DevicePolicy", Prop::Str(policy.to_owned())));
        if !allow.is_empty() {
            p.push(("DeviceAllow", Prop::Devices(allow)));
        }
    }
    p
}

/// A byte limit: -1 (no limit) is systemd's infinity.
fn bytes(v: i64) -> u64 {
    if v < 0 {
        INFINITY
    } else {
        v as u64
    }
}

/// cgroup v1 shares (2..=262144) as a v2 weight (1..=10000), runc's
/// formula, so a value means the same under either driver.
pub fn cpu_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// blkio weight (10..=1000) as an io weight (1..=10000), runc's formula.
pub fn io_weight(blkio: u16) -> u64 {
    let w = u64::from(blkio.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

/// A quota per period as systemd's quota per second, rounded up to its
/// 10 ms granularity (as runc does, so the kernel gets at least the quota
/// asked); a negative quota is no limit.
pub fn quota_per_sec(quota: i64, period: u64) -> u64 {
    if quota < 0 || period == 0 {
        return INFINITY;
    }
    let per_sec = quota as u64 * 1_000_000 / period;
    per_sec.div_ceil(10_000) * 10_000
}

/// A cpu or memory node list (`0-3,7`) as systemd's bitmask: bit n of
/// byte n/8 for each number n. `None` when the list does not parse.
pub fn bitmask(list: &str) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    for part in list.trim().split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<usize>().ok()?, b.trim().parse().ok()?),
            None => {
                let n = part.trim().parse().ok()?;
                (n, n)
            }
        };
        if lo > hi || hi > 8191 {
            return None;
        }
        for n in lo..=hi {
            if out.len() <= n / 8 {
                out.resize(n / 8 + 1, 0);
            }
            out[n / 8] |= 1 << (n % 8);
        }
    }
    Some(out)
}

/// Device rules as systemd's policy and allow list, when they take the
/// shape systemd can say: "deny all" and allow rules (what engines send;
/// a "deny all" takes back every allow before it). A rule list of any
/// other shape (a narrower deny, a whole major /proc/devices has no name
/// for) gets no device property (systemd's policy stays `auto`) and is
/// left to the cgroup files alone.
fn devices(
    rules: &[DeviceRule],
    proc_devices: &str,
) -> Option<(&'static str, Vec<(String, String)>)> {
    if rules.is_empty() {
        return None;
    }
    let all = |r: &DeviceRule| {
        r.kind.unwrap_or('a') == 'a'
            && r.major.is_none_or(|m| m < 0)
            && r.minor.is_none_or(|m| m < 0)
    };
    let mut allow = Vec::new();
    let mut open = true;
    for r in rules {
        if !r.allow {
            if all(r) {
                open = false;
                allow.clear();
                continue;
            }
            return None;
        }
        if all(r) {
            open = true;
            allow.clear();
            continue;
        }
        let kind = match r.kind {
            Some('c') => "char",
            Some('b') => "block",
            _ => return None,
        };
        let access: String = r
            .access
            .as_deref()
            .unwrap_or("rwm")
            .chars()
            .filter(|c| "rwm".contains(*c))
            .collect();
        let path = match (r.major.filter(|&m| m >= 0), r.minor.filter(|&m| m >= 0)) {
            (None, None) => format!("{kind}-*"),
            // one minor of every major: systemd has no such rule
            (None, Some(_)) => return None,
            (Some(major), Some(minor)) => format!("/dev/{kind}/{major}:{minor}"),
            // a whole major goes by its name in /proc/devices
            (Some(major), None) => format!("{kind}-{}", major_name(proc_devices, kind, major)?),
        };
        allow.push((path, access));
    }
    if open {
        Some(("auto", Vec::new()))
    } else {
        Some(("strict", allow))
    }
}

/// The name /proc/devices gives `major` in its section for `kind`
/// ("Character devices:" or "Block devices:").
fn major_name<'a>(proc_devices: &'a str, kind: &str, major: i64) -> Option<&'a str> {
    let header = if kind == "char" {
        "Character devices:"
    } else {
        "Block devices:"
    };
    proc_devices
        .lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.trim().split_once(' '))
        .find(|(n, _)| n.parse() == Ok(major))
        .map(|(_, name)| name.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{BlockIo, Cpu, Memory, Pids};

    #[test]
    fn conversions_match_runcs() {
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(1024), 39);
        assert_eq!(cpu_weight(262_144), 10_000);
        assert_eq!(io_weight(10), 1);
        assert_eq!(io_weight(500), 4950);
        assert_eq!(io_weight(1000), 10_000);
        assert_eq!(quota_per_sec(50_000, 100_000), 500_000);
        assert_eq!(quota_per_sec(1234, 100_000), 20_000);
        assert_eq!(quota_per_sec(-1, 100_000), INFINITY);
        assert_eq!(bitmask("0-2,9").unwrap(), vec![0b0000_0111, 0b0000_0010]);
        assert_eq!(bitmask("1").unwrap(), vec![0b10]);
        assert!(bitmask("x").is_none());
        assert!(bitmask("3-1").is_none());
    }

    #[test]
    fn limits_on_v2_and_on_v1() {
        let res = Resources {
            memory: Some(Memory {
                limit: Some(64 << 20),
                swap: Some(96 << 20),
                reservation: Some(1 << 20),
                ..Default::default()
            }),
            cpu: Some(Cpu {
                shares: Some(1024),
                quota: Some(50_000),
                period: Some(100_000),
                cpus: Some("0".into()),
                ..Default::default()
            }),
            pids: Some(Pids { limit: 64 }),
            block_io: Some(BlockIo {
                weight: Some(500),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            limits(&res, true, ""),
            vec![
                ("MemoryMax", Prop::U64(64 << 20)),
                ("MemoryLow", Prop::U64(1 << 20)),
                ("MemorySwapMax", Prop::U64(32 << 20)),
                ("CPUWeight", Prop::U64(39)),
                ("CPUQuotaPeriodUSec", Prop::U64(100_000)),
                ("CPUQuotaPerSecUSec", Prop::U64(500_000)),
                ("AllowedCPUs", Prop::Bytes(vec![1])),
                ("TasksMax", Prop::U64(64)),
                ("IOWeight", Prop::U64(4950)),
            ]
        );
        assert_eq!(
            limits(&res, false, ""),
            vec![
                ("MemoryLimit", Prop::U64(64 << 20)),
                ("CPUShares", Prop::U64(1024)),
                ("CPUQuotaPeriodUSec", Prop::U64(100_000)),
                ("CPUQuotaPerSecUSec", Prop::U64(500_000)),
                ("TasksMax", Prop::U64(64)),
                ("BlockIOWeight", Prop::U64(500)),
            ]
        );
        // an engine's zeros ask for nothing
        let zeros = Resources {
            memory: Some(Memory {
                limit: Some(0),
                swap: Some(0),
                ..Default::default()
            }),
            pids: Some(Pids { limit: 0 }),
            ..Default::default()
        };
        assert!(limits(&zeros, true, "").is_empty());
    }

    const PROC_DEVICES: &str =
        "Character devices:\n  1 mem\n  4 /dev/vc/0\n136 pts\n\nBlock devices:\n  8 sd\n";

    #[test]
    fn device_rules_become_a_strict_allow_list() {
        let rule =
            |allow, kind: Option<char>, major: Option<i64>, minor: Option<i64>, access: &str| {
                DeviceRule {
                    allow,
                    kind,
                    major,
                    minor,
                    access: Some(access.into()),
                }
            };
        // runc's order: the config's rules, then the standard devices
        let rules = vec![
            rule(true, Some('b'), Some(8), Some(0), "r"),
            rule(false, None, None, None, "rwm"),
            rule(true, Some('c'), Some(1), Some(3), "rwm"),
            rule(true, Some('c'), None, None, "m"),
            rule(true, Some('c'), Some(136), None, "rwm"),
        ];
        assert_eq!(
            limits(
                &Resources {
                    devices: rules,
                    ..Default::default()
                },
                true,
                PROC_DEVICES
            ),
            vec![
                ("DevicePolicy", Prop::Str("strict".into())),
                (
                    "DeviceAllow",
                    Prop::Devices(vec![
                        ("/dev/char/1:3".into(), "rwm".into()),
                        ("char-*".into(), "m".into()),
                        ("char-pts".into(), "rwm".into())
                    ])
                ),
            ]
        );
        // a major /proc/devices does not name, a narrower deny: the files
        let unnamed = vec![
            rule(false, None, None, None, "rwm"),
            rule(true, Some('c'), Some(99), None, "rwm"),
        ];
        assert!(limits(
            &Resources {
                devices: unnamed,
                ..Default::default()
            },
            true,
            PROC_DEVICES
        )
        .is_empty());
        assert_eq!(major_name(PROC_DEVICES, "block", 8), Some("sd"));
        let rules = vec![
            rule(true, None, None, None, "rwm"),
            rule(false, Some('c'), Some(1), Some(3), "rwm"),
        ];
        assert!(limits(
            &Resources {
                devices: rules,
                ..Default::default()
            },
            true,
            PROC_DEVICES
        )
        .is_empty());
    }
}
