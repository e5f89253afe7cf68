//! v2 cpu: cpu.weight (converted from shares), cpu.max ("quota period"),
//! cpu.max.burst, cpu.idle. Realtime scheduling has no v2 interface.

use std::path::Path;

use crate::controller::{shares_to_weight, Controller};
use crate::error::{Error, Result};
use crate::fs::{read, write_field};
use crate::resources::Resources;

pub struct Cpu;

impl Controller for Cpu {
    const NAME: &'static str = "cpu";
    const FIELD: &'static str = "cpu";

    fn needed(res: &Resources) -> bool {
        crate::v1::cpu::Cpu::needed(res)
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        let Some(c) = &res.cpu else { return Ok(()) };
        if c.realtime_runtime.is_some() || c.realtime_period.is_some() {
            return Err(Error::Unsupported {
                field: "cpu.realtimeRuntime/realtimePeriod".to_owned(),
                version: "v2",
            });
        }
        if let Some(s) = c.shares.filter(|s| *s != 0) {
            let w = shares_to_weight(s);
            write_field("cpu.shares", dir, "cpu.weight", &w.to_string())?;
        }
        let quota = c.quota.filter(|q| *q != 0);
        let period = c.period.filter(|p| *p != 0);
        if quota.is_some() || period.is_some() {
            let q = match quota {
                Some(q) if q > 0 => q.to_string(),
                Some(_) => "max".to_owned(),
                // Keep the quota in force when only the period changes.
                None => current_quota(dir)?,
            };
            let line = match period {
                Some(p) => format!("{q} {p}"),
                None => q,
            };
            let field = if quota.is_some() {
                "cpu.quota"
            } else {
                "cpu.period"
            };
            write_field(field, dir, "cpu.max", &line)?;
        }
        if let Some(b) = c.burst {
            write_field("cpu.burst", dir, "cpu.max.burst", &b.to_string())?;
        }
        if let Some(i) = c.idle {
            write_field("cpu.idle", dir, "cpu.idle", &i.to_string())?;
        }
        Ok(())
    }
}

fn current_quota(dir: &Path) -> Result<String> {
    let text = read(&dir.join("cpu.max"))?;
    Ok(text.split_whitespace().next().unwrap_or("max").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Cpu as C;
    use std::fs;

    fn setup() -> nsbox_testutil::TempDir {
        let t = nsbox_testutil::TempDir::new("cg-v2-cpu");
        fs::write(t.join("cpu.weight"), "100\n").unwrap();
        fs::write(t.join("cpu.max"), "max 100000\n").unwrap();
        fs::write(t.join("cpu.max.burst"), "0\n").unwrap();
        t
    }

    fn res(c: C) -> Resources {
        Resources {
            cpu: Some(c),
            ..Default::default()
        }
    }

    #[test]
    fn weight_and_max() {
        let t = setup();
        Cpu::apply(
            &res(C {
                shares: Some(1024),
                quota: Some(50_000),
                period: Some(100_000),
                burst: Some(1000),
                ..Default::default()
            }),
            t.path(),
        )
        .unwrap();
        let rd = |f: &str| fs::read_to_string(t.join(f)).unwrap();
        assert_eq!(rd("cpu.weight"), "39");
        assert_eq!(rd("cpu.max"), "50000 100000");
        assert_eq!(rd("cpu.max.burst"), "1000");
        Cpu::apply(
            &res(C {
                quota: Some(-1),
                ..Default::default()
            }),
            t.path(),
        )
        .unwrap();
        assert_eq!(rd("cpu.max"), "max");
        fs::write(t.join("cpu.max"), "20000 100000\n").unwrap();
        Cpu::apply(
            &res(C {
                period: Some(50_000),
                ..Default::default()
            }),
            t.path(),
        )
        .unwrap();
        assert_eq!(rd("cpu.max"), "20000 50000");
    }

    #[test]
    fn realtime_is_v1_only() {
        let t = setup();
        let e = Cpu::apply(
            &res(C {
                realtime_runtime: Some(1),
                ..Default::default()
            }),
            t.path(),
        )
        .unwrap_err();
        assert!(e.to_string().ends_with("not supported by cgroup v2"), "{e}");
    }
}
