//! v1 devices: each rule becomes one line written to devices.allow or
//! devices.deny, in order (`c 1:3 rwm`, `a` for everything).
//! cgroup v2 has no such files: see `v2::devices` for its eBPF filter.

use std::path::Path;

use crate::controller::Controller;
use crate::error::{Error, Result};
use crate::fs::write_field;
use crate::resources::{dev_number, DeviceRule, Resources};

pub struct Devices;

impl Controller for Devices {
    const NAME: &'static str = "devices";
    const FIELD: &'static str = "devices";

    fn needed(res: &Resources) -> bool {
        !res.devices.is_empty()
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        for (i, rule) in res.devices.iter().enumerate() {
            let field = format!("devices[{i}]");
            let line = rule_line(rule).map_err(|(value, reason)| Error::Invalid {
                field: field.clone(),
                value,
                reason,
            })?;
            let file = if rule.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            write_field(&field, dir, file, &line)?;
        }
        Ok(())
    }
}

/// The line the kernel wants for one rule.
pub fn rule_line(rule: &DeviceRule) -> Result<String, (String, &'static str)> {
    let kind = rule.kind.unwrap_or('a');
    let access = rule.access.as_deref().unwrap_or("rwm");
    if !matches!(kind, 'a' | 'b' | 'c') {
        return Err((kind.to_string(), "type must be a, b or c"));
    }
    if access.is_empty() || !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err((access.to_owned(), "access must be some of rwm"));
    }
    if kind == 'a' {
        return Ok("a".to_owned());
    }
    Ok(format!(
        "{kind} {} {access}",
        dev_number(rule.major, rule.minor)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        allow: bool,
        kind: Option<char>,
        maj: Option<i64>,
        min: Option<i64>,
        acc: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major: maj,
            minor: min,
            access: Some(acc.into()),
        }
    }

    #[test]
    fn lines() {
        assert_eq!(
            rule_line(&rule(false, None, None, None, "rwm")).unwrap(),
            "a"
        );
        assert_eq!(
            rule_line(&rule(true, Some('c'), Some(1), Some(3), "rw")).unwrap(),
            "c 1:3 rw"
        );
        assert_eq!(
            rule_line(&rule(true, Some('c'), Some(136), None, "rwm")).unwrap(),
            "c 136:* rwm"
        );
        assert_eq!(
            rule_line(&rule(true, Some('b'), Some(-1), Some(-1), "m")).unwrap(),
            "b *:* m"
        );
        assert!(rule_line(&rule(true, Some('x'), None, None, "r")).is_err());
        assert!(rule_line(&rule(true, Some('c'), None, None, "rx")).is_err());
    }

    #[test]
    fn writes_in_order_to_allow_or_deny() {
        let t = nsbox_testutil::TempDir::new("cg-v1-dev");
        std::fs::write(t.join("devices.allow"), "").unwrap();
        std::fs::write(t.join("devices.deny"), "").unwrap();
        let r = Resources {
            devices: vec![
                rule(false, Some('a'), None, None, "rwm"),
                rule(true, Some('c'), Some(1), Some(3), "rwm"),
            ],
            ..Default::default()
        };
        Devices::apply(&r, t.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.join("devices.deny")).unwrap(),
            "a"
        );
        assert_eq!(
            std::fs::read_to_string(t.join("devices.allow")).unwrap(),
            "c 1:3 rwm"
        );
        let bad = Resources {
            devices: vec![rule(true, Some('z'), None, None, "r")],
            ..Default::default()
        };
        let e = Devices::apply(&bad, t.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "devices[0]: invalid value z: type must be a, b or c"
        );
    }
}
