//! The resource flags of `nsbox run -- CMD`, docker's words: `--memory`,
//! `--cpus`, `--pids-limit`, `--cpuset-cpus` fill `linux.resources` of the
//! generated spec, so create's cgroup step applies them before the command
//! exists.
//!
//! Each `parse_*` checks one flag's value the way docker does and returns a
//! one-line reason, so the binary can report a bad value as a usage error
//! (exit 2) before anything is created.

use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};

use crate::error::{build, Error};

/// The CFS period `--cpus` is expressed in (µs), as docker's.
pub const CPU_PERIOD: u64 = 100_000;

/// Docker's smallest memory limit: below it not even a shell starts.
pub const MIN_MEMORY: i64 = 6 << 20;

/// The limits asked for; `None` leaves the field out of the spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// `--memory`: bytes.
    pub memory: Option<i64>,
    /// `--cpus`: a CFS quota per [`CPU_PERIOD`] (µs).
    pub cpu_quota: Option<i64>,
    /// `--pids-limit`: at most this many tasks.
    pub pids: Option<i64>,
    /// `--cpuset-cpus`: a cpu list (`0-2,5`).
    pub cpuset_cpus: Option<String>,
}

impl Limits {
    /// `linux.resources` for these limits, `None` when none is set.
    pub fn resources(&self) -> Result<Option<LinuxResources>, Error> {
        if *self == Limits::default() {
            return Ok(None);
        }
        let mut res = LinuxResourcesBuilder::default();
        if let Some(limit) = self.memory {
            res = res.memory(build(LinuxMemoryBuilder::default().limit(limit).build())?);
        }
        if self.cpu_quota.is_some() || self.cpuset_cpus.is_some() {
            let mut cpu = LinuxCpuBuilder::default();
            if let Some(q) = self.cpu_quota {
                cpu = cpu.quota(q).period(CPU_PERIOD);
            }
            if let Some(c) = &self.cpuset_cpus {
                cpu = cpu.cpus(c.clone());
            }
            res = res.cpu(build(cpu.build())?);
        }
        if let Some(limit) = self.pids {
            res = res.pids(build(LinuxPidsBuilder::default().limit(limit).build())?);
        }
        build(res.build()).map(Some)
    }
}

/// `--memory`: bytes, or a number with `k`, `m`, `g`, `t` (powers of
/// 1024, an optional `b`, any case), at least 6 MiB.
pub fn parse_memory(text: &str) -> Result<i64, String> {
    let bytes = nsbox_runtime::update::parse_bytes("--memory", text).map_err(|_| {
        format!("invalid size {text:?} (bytes, or a number with k, m, g or t, as 64m)")
    })?;
    if bytes < MIN_MEMORY {
        return Err(format!("{text:?} is below the minimum of 6m"));
    }
    Ok(bytes)
}

/// `--cpus`: how many cores' worth of time (`0.5`, `1.5`), from 0.01 to
/// the number of online cpus; the CFS quota per [`CPU_PERIOD`].
pub fn parse_cpus(text: &str) -> Result<i64, String> {
    cpus_quota(text, online_cpus().map(|c| c.len()))
}

fn cpus_quota(text: &str, online: Option<usize>) -> Result<i64, String> {
    let n: f64 = text
        .trim()
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite())
        .ok_or_else(|| format!("invalid number of cpus {text:?} (as 0.5 or 2)"))?;
    let max = online.unwrap_or(usize::MAX) as f64;
    if !(0.01..=max).contains(&n) {
        return Err(match online {
            Some(c) => format!("{text:?} is out of range: from 0.01 to {c} (the online cpus)"),
            None => format!("{text:?} is out of range: at least 0.01"),
        });
    }
    Ok((n * CPU_PERIOD as f64).round() as i64)
}

/// `--pids-limit`: a positive number of tasks; `0` or `-1` is no limit,
/// as docker's (see [`pids_limit`]).
pub fn parse_pids(text: &str) -> Result<i64, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if n >= -1 => Ok(n),
        _ => Err(format!(
            "invalid pids limit {text:?} (a positive number; 0 or -1 for none)"
        )),
    }
}

/// A parsed `--pids-limit` as a limit: `None` for `0` and `-1`.
pub fn pids_limit(n: Option<i64>) -> Option<i64> {
    n.filter(|n| *n > 0)
}

/// `--cpuset-cpus`: a cpu list (`0`, `0-1`, `0,2-3`) of online cpus,
/// returned in the kernel's form.
pub fn parse_cpuset(text: &str) -> Result<String, String> {
    let cpus =
        cpu_list(text).ok_or_else(|| format!("invalid cpu list {text:?} (as 0, 0-3 or 0,2)"))?;
    if let Some(online) = online_cpus() {
        if let Some(c) = cpus.iter().find(|c| !online.contains(c)) {
            return Err(format!(
                "cpu {c} in {text:?} is not online (online: {})",
                std::fs::read_to_string(ONLINE).unwrap_or_default().trim()
            ));
        }
    }
    Ok(text.trim().to_string())
}

const ONLINE: &str = "/sys/devices/system/cpu/online";

fn online_cpus() -> Option<Vec<u32>> {
    cpu_list(&std::fs::read_to_string(ONLINE).ok()?)
}

/// `0-2,5` → [0, 1, 2, 5]; `None` when malformed or empty.
fn cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        if a > b || b - a > 65536 {
            return None;
        }
        cpus.extend(a..=b);
    }
    Some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_cpus_and_pids_as_docker_reads_them() {
        assert_eq!(parse_memory("64m"), Ok(64 << 20));
        assert_eq!(parse_memory("1g"), Ok(1 << 30));
        assert_eq!(parse_memory("33554432"), Ok(32 << 20));
        assert!(parse_memory("1m").unwrap_err().contains("minimum"));
        assert!(parse_memory("lots")
            .unwrap_err()
            .starts_with("invalid size"));
        assert!(parse_memory("-1").is_err());
        assert_eq!(cpus_quota("0.5", Some(2)), Ok(50_000));
        assert_eq!(cpus_quota("2", Some(2)), Ok(200_000));
        assert!(cpus_quota("3", Some(2))
            .unwrap_err()
            .contains("from 0.01 to 2"));
        assert!(cpus_quota("0", Some(2)).is_err());
        assert!(cpus_quota("nan", None).is_err());
        assert!(cpus_quota("half", None).is_err());
        assert_eq!(pids_limit(parse_pids("10").ok()), Some(10));
        assert_eq!(pids_limit(parse_pids("-1").ok()), None);
        assert_eq!(pids_limit(parse_pids("0").ok()), None);
        assert!(parse_pids("-2").is_err());
        assert!(parse_pids("x").is_err());
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list("0-2,5"), Some(vec![0, 1, 2, 5]));
        assert_eq!(cpu_list("0\n"), Some(vec![0]));
        for bad in ["", "a", "2-1", "0,", "-1"] {
            assert_eq!(cpu_list(bad), None, "{bad:?}");
        }
        assert!(parse_cpuset("0").is_ok());
        assert!(parse_cpuset("4095").unwrap_err().contains("not online"));
    }

    #[test]
    fn limits_fill_linux_resources() {
        assert_eq!(Limits::default().resources().unwrap(), None);
        let l = Limits {
            memory: Some(32 << 20),
            cpu_quota: Some(50_000),
            pids: Some(10),
            cpuset_cpus: Some("0".into()),
        };
        let r = l.resources().unwrap().unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(32 << 20));
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(
            (cpu.quota(), cpu.period()),
            (Some(50_000), Some(CPU_PERIOD))
        );
        assert_eq!(cpu.cpus().as_deref(), Some("0"));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 10);
    }
}
