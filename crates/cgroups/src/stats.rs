//! Statistics for `events --stats`, in runc's JSON shape (its
//! `types.Stats`): cpu usage in nanoseconds, memory in bytes, pids.
//! Readers per version take the cgroup directory; the manager picks which
//! hierarchy each part comes from.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::fs::{keyed, parse_u64, read, read_keyed, read_u64, read_u64_opt};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuStats {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

/// Nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MemoryStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

/// Bytes; a limit of "max" is `u64::MAX` as in runc.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PidsStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// 0 when unlimited, as runc reports it.
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn numbers(text: &str) -> Vec<u64> {
    text.split_whitespace().filter_map(parse_u64).collect()
}

fn flat(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), parse_u64(v.trim())?))
        })
        .collect()
}

/// USER_HZ ticks (cpuacct.stat) to nanoseconds.
fn ticks_to_ns(ticks: u64) -> u64 {
    // SAFETY: sysconf only reads a constant of the C library; no pointers.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    ticks.saturating_mul(1_000_000_000 / hz)
}

/// v1: usage from the cpuacct directory, throttling from the cpu one.
pub fn cpu_v1(cpuacct: Option<&Path>, cpu: Option<&Path>) -> Result<CpuStats> {
    let mut s = CpuStats::default();
    if let Some(d) = cpuacct {
        s.usage.total = read_u64(&d.join("cpuacct.usage"))?;
        s.usage.percpu = numbers(&read(&d.join("cpuacct.usage_percpu"))?);
        for (file, v) in [
            ("cpuacct.usage_percpu_sys", &mut s.usage.percpu_kernel),
            ("cpuacct.usage_percpu_user", &mut s.usage.percpu_user),
        ] {
            if d.join(file).exists() {
                *v = numbers(&read(&d.join(file))?);
            }
        }
        let stat = read(&d.join("cpuacct.stat"))?;
        s.usage.user = ticks_to_ns(keyed(&stat, "user").unwrap_or(0));
        s.usage.kernel = ticks_to_ns(keyed(&stat, "system").unwrap_or(0));
    }
    if let Some(d) = cpu {
        let stat = read(&d.join("cpu.stat"))?;
        s.throttling = Throttling {
            periods: keyed(&stat, "nr_periods").unwrap_or(0),
            throttled_periods: keyed(&stat, "nr_throttled").unwrap_or(0),
            throttled_time: keyed(&stat, "throttled_time").unwrap_or(0),
        };
    }
    Ok(s)
}

/// v2: cpu.stat (present in every non-root cgroup, controller or not).
pub fn cpu_v2(dir: &Path) -> Result<CpuStats> {
    let stat = read(&dir.join("cpu.stat"))?;
    let us = |k| keyed(&stat, k).unwrap_or(0).saturating_mul(1000);
    Ok(CpuStats {
        usage: CpuUsage {
            total: us("usage_usec"),
            kernel: us("system_usec"),
            user: us("user_usec"),
            ..Default::default()
        },
        throttling: Throttling {
            periods: keyed(&stat, "nr_periods").unwrap_or(0),
            throttled_periods: keyed(&stat, "nr_throttled").unwrap_or(0),
            throttled_time: us("throttled_usec"),
        },
    })
}

fn entry_v1(dir: &Path, prefix: &str) -> Result<MemoryEntry> {
    if !dir.join(format!("{prefix}.usage_in_bytes")).exists() {
        return Ok(MemoryEntry::default());
    }
    Ok(MemoryEntry {
        limit: read_u64(&dir.join(format!("{prefix}.limit_in_bytes")))?,
        usage: read_u64(&dir.join(format!("{prefix}.usage_in_bytes")))?,
        max: read_u64(&dir.join(format!("{prefix}.max_usage_in_bytes")))?,
        failcnt: read_u64(&dir.join(format!("{prefix}.failcnt")))?,
    })
}

pub fn memory_v1(dir: &Path) -> Result<MemoryStats> {
    let raw = flat(&read(&dir.join("memory.stat"))?);
    Ok(MemoryStats {
        cache: raw.get("cache").copied().unwrap_or(0),
        usage: entry_v1(dir, "memory")?,
        swap: entry_v1(dir, "memory.memsw")?,
        kernel: entry_v1(dir, "memory.kmem")?,
        raw,
    })
}

/// v2 has no memsw: like runc, swap is reported as memory+swap so that the
/// numbers mean what v1's did.
pub fn memory_v2(dir: &Path) -> Result<MemoryStats> {
    let raw = flat(&read(&dir.join("memory.stat"))?);
    let usage = MemoryEntry {
        limit: read_u64(&dir.join("memory.max"))?,
        usage: read_u64(&dir.join("memory.current"))?,
        max: read_u64_opt(&dir.join("memory.peak"))?.unwrap_or(0),
        failcnt: read_keyed(&dir.join("memory.events"), "max")?,
    };
    let swap = match read_u64_opt(&dir.join("memory.swap.current"))? {
        Some(cur) => MemoryEntry {
            limit: read_u64(&dir.join("memory.swap.max"))?.saturating_add(usage.limit),
            usage: cur.saturating_add(usage.usage),
            max: 0,
            failcnt: 0,
        },
        None => MemoryEntry::default(),
    };
    Ok(MemoryStats {
        cache: raw.get("file").copied().unwrap_or(0),
        usage,
        swap,
        kernel: MemoryEntry::default(),
        raw,
    })
}

/// pids.current and pids.max, the same in v1 and v2.
pub fn pids(dir: &Path) -> Result<PidsStats> {
    let limit = read_u64(&dir.join("pids.max"))?;
    Ok(PidsStats {
        current: read_u64(&dir.join("pids.current"))?,
        limit: if limit == u64::MAX { 0 } else { limit },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn v2_tree() {
        let t = nsbox_testutil::TempDir::new("cg-stats-v2");
        let w = |f: &str, s: &str| fs::write(t.join(f), s).unwrap();
        w("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20\n");
        w("memory.stat", "anon 4096\nfile 8192\n");
        w("memory.max", "67108864\n");
        w("memory.current", "12288\n");
        w("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
        w("memory.swap.current", "0\n");
        w("memory.swap.max", "max\n");
        w("pids.current", "2\n");
        w("pids.max", "max\n");
        let s = Stats {
            cpu: cpu_v2(t.path()).unwrap(),
            memory: memory_v2(t.path()).unwrap(),
            pids: pids(t.path()).unwrap(),
        };
        assert_eq!(s.cpu.usage.total, 1_500_000);
        assert_eq!(s.cpu.throttling.throttled_time, 20_000);
        assert_eq!(s.memory.usage.limit, 64 << 20);
        assert_eq!(s.memory.usage.failcnt, 3);
        assert_eq!(s.memory.cache, 8192);
        assert_eq!(s.memory.swap.limit, u64::MAX);
        assert_eq!(s.pids.limit, 0);
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["memory"]["usage"]["usage"], 12288);
        assert_eq!(j["pids"]["current"], 2);
        assert!(j["pids"].get("limit").is_none());
        assert_eq!(j["cpu"]["usage"]["user"], 1_000_000);
    }

    #[test]
    fn v1_tree() {
        let t = nsbox_testutil::TempDir::new("cg-stats-v1");
        let w = |f: &str, s: &str| fs::write(t.join(f), s).unwrap();
        w("cpuacct.usage", "3000\n");
        w("cpuacct.usage_percpu", "1000 2000 \n");
        w("cpuacct.stat", "user 1\nsystem 2\n");
        w(
            "cpu.stat",
            "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
        );
        w("memory.stat", "cache 100\nrss 200\n");
        for (f, v) in [
            ("limit_in_bytes", "1000"),
            ("usage_in_bytes", "300"),
            ("max_usage_in_bytes", "400"),
            ("failcnt", "0"),
        ] {
            w(&format!("memory.{f}"), v);
        }
        let c = cpu_v1(Some(t.path()), Some(t.path())).unwrap();
        assert_eq!(c.usage.total, 3000);
        assert_eq!(c.usage.percpu, [1000, 2000]);
        assert!(c.usage.kernel > c.usage.user);
        let m = memory_v1(t.path()).unwrap();
        assert_eq!(m.usage.max, 400);
        assert_eq!(m.cache, 100);
        assert_eq!(m.swap, MemoryEntry::default());
    }
}
