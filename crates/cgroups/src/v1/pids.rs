//! v1 pids: pids.max. The v2 file has the same name and format.

use std::path::Path;

use crate::controller::Controller;
use crate::error::Result;
use crate::fs::write_field;
use crate::resources::Resources;

pub struct Pids;

impl Controller for Pids {
    const NAME: &'static str = "pids";
    const FIELD: &'static str = "pids";

    fn needed(res: &Resources) -> bool {
        res.pids.is_some()
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        let Some(p) = &res.pids else { return Ok(()) };
        write_field("pids.limit", dir, "pids.max", &pids_max(p.limit))
    }
}

/// OCI's 0 and -1 both mean "no limit".
pub fn pids_max(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_or_max() {
        assert_eq!(pids_max(5), "5");
        assert_eq!(pids_max(0), "max");
        assert_eq!(pids_max(-1), "max");
        let t = nsbox_testutil::TempDir::new("cg-v1-pids");
        std::fs::write(t.join("pids.max"), "max\n").unwrap();
        let r = Resources {
            pids: Some(crate::resources::Pids { limit: 7 }),
            ..Default::default()
        };
        Pids::apply(&r, t.path()).unwrap();
        assert_eq!(std::fs::read_to_string(t.join("pids.max")).unwrap(), "7");
    }
}
