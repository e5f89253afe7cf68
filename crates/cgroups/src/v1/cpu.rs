//! v1 cpu: shares, CFS quota/period/burst, realtime runtime/period, idle.

use std::path::Path;

use crate::controller::Controller;
use crate::error::{Error, Result};
use crate::fs::write_field;
use crate::resources::Resources;

pub struct Cpu;

impl Controller for Cpu {
    const NAME: &'static str = "cpu";
    const FIELD: &'static str = "cpu";

    fn needed(res: &Resources) -> bool {
        res.cpu.as_ref().is_some_and(|c| {
            c.shares.is_some()
                || c.quota.is_some()
                || c.period.is_some()
                || c.burst.is_some()
                || c.realtime_runtime.is_some()
                || c.realtime_period.is_some()
                || c.idle.is_some()
        })
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        let Some(c) = &res.cpu else { return Ok(()) };
        if let Some(s) = c.shares.filter(|s| *s != 0) {
            if !(2..=262_144).contains(&s) {
                return Err(Error::Invalid {
                    field: "cpu.shares".to_owned(),
                    value: s.to_string(),
                    reason: "must be 2..=262144",
                });
            }
            write_field("cpu.shares", dir, "cpu.shares", &s.to_string())?;
        }
        // Period first: the quota is checked against it.
        if let Some(p) = c.period.filter(|p| *p != 0) {
            write_field("cpu.period", dir, "cpu.cfs_period_us", &p.to_string())?;
        }
        if let Some(q) = c.quota.filter(|q| *q != 0) {
            let q = if q < 0 { -1 } else { q };
            write_field("cpu.quota", dir, "cpu.cfs_quota_us", &q.to_string())?;
        }
        // Burst after quota: the kernel wants burst <= quota.
        if let Some(b) = c.burst {
            write_field("cpu.burst", dir, "cpu.cfs_burst_us", &b.to_string())?;
        }
        if let Some(p) = c.realtime_period.filter(|p| *p != 0) {
            write_field(
                "cpu.realtimePeriod",
                dir,
                "cpu.rt_period_us",
                &p.to_string(),
            )?;
        }
        if let Some(r) = c.realtime_runtime {
            write_field(
                "cpu.realtimeRuntime",
                dir,
                "cpu.rt_runtime_us",
                &r.to_string(),
            )?;
        }
        if let Some(i) = c.idle {
            write_field("cpu.idle", dir, "cpu.idle", &i.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Cpu as C;
    use std::fs;

    #[test]
    fn writes_v1_files() {
        let t = nsbox_testutil::TempDir::new("cg-v1-cpu");
        for f in [
            "cpu.shares",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us",
            "cpu.cfs_burst_us",
        ] {
            fs::write(t.join(f), "0\n").unwrap();
        }
        let r = Resources {
            cpu: Some(C {
                shares: Some(512),
                quota: Some(50_000),
                period: Some(100_000),
                burst: Some(10_000),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(Cpu::needed(&r));
        Cpu::apply(&r, t.path()).unwrap();
        let rd = |f: &str| fs::read_to_string(t.join(f)).unwrap();
        assert_eq!(rd("cpu.shares"), "512");
        assert_eq!(rd("cpu.cfs_quota_us"), "50000");
        assert_eq!(rd("cpu.cfs_period_us"), "100000");
        assert_eq!(rd("cpu.cfs_burst_us"), "10000");
    }

    #[test]
    fn cpuset_only_needs_no_cpu_controller() {
        let r = Resources {
            cpu: Some(C {
                cpus: Some("0".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(!Cpu::needed(&r));
    }

    #[test]
    fn realtime_missing_names_field() {
        let t = nsbox_testutil::TempDir::new("cg-v1-cpu-rt");
        let r = Resources {
            cpu: Some(C {
                realtime_runtime: Some(1000),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = Cpu::apply(&r, t.path()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cpu.realtimeRuntime: write \"1000\""),
            "{e}"
        );
    }
}
