//! v1 cpuset: cpus and mems. A new v1 cpuset cgroup starts with empty cpus
//! and mems, and no process can join it until both are set, so `init`
//! copies the parent's values into each directory we create.

use std::path::Path;

use crate::controller::Controller;
use crate::error::Result;
use crate::fs::{read, write, write_field};
use crate::resources::Resources;

pub struct Cpuset;

impl Controller for Cpuset {
    const NAME: &'static str = "cpuset";
    const FIELD: &'static str = "cpu";

    fn needed(res: &Resources) -> bool {
        res.cpu
            .as_ref()
            .is_some_and(|c| c.cpus.is_some() || c.mems.is_some())
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        let Some(c) = &res.cpu else { return Ok(()) };
        if let Some(cpus) = &c.cpus {
            write_field("cpu.cpus", dir, "cpuset.cpus", cpus)?;
        }
        if let Some(mems) = &c.mems {
            write_field("cpu.mems", dir, "cpuset.mems", mems)?;
        }
        Ok(())
    }
}

/// Copies cpuset.cpus and cpuset.mems from the parent of `dir` into `dir`
/// when `dir`'s are empty. Call for each newly made directory, outermost first.
pub fn init(dir: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for f in ["cpuset.cpus", "cpuset.mems"] {
        let mine = read(&dir.join(f))?;
        if mine.trim().is_empty() {
            let theirs = read(&parent.join(f))?;
            write(&dir.join(f), theirs.trim())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn init_copies_parent_then_apply_overrides() {
        let t = nsbox_testutil::TempDir::new("cg-v1-cpuset");
        fs::write(t.join("cpuset.cpus"), "0-1\n").unwrap();
        fs::write(t.join("cpuset.mems"), "0\n").unwrap();
        let c = t.join("c");
        fs::create_dir(&c).unwrap();
        fs::write(c.join("cpuset.cpus"), "\n").unwrap();
        fs::write(c.join("cpuset.mems"), "\n").unwrap();
        init(&c).unwrap();
        assert_eq!(fs::read_to_string(c.join("cpuset.cpus")).unwrap(), "0-1");
        assert_eq!(fs::read_to_string(c.join("cpuset.mems")).unwrap(), "0");
        let r = Resources {
            cpu: Some(crate::resources::Cpu {
                cpus: Some("1".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(Cpuset::needed(&r));
        Cpuset::apply(&r, &c).unwrap();
        assert_eq!(fs::read_to_string(c.join("cpuset.cpus")).unwrap(), "1");
    }
}
