//! v2 memory: memory.max, memory.low (reservation), memory.swap.max (OCI's
//! memory+swap converted to swap alone). v1-only knobs are errors here.

use std::path::Path;

use crate::controller::{v2_bytes, v2_swap, Controller};
use crate::error::{Error, Result};
use crate::fs::write_field;
use crate::resources::Resources;

const SWAP: &str = "memory.swap.max";

pub struct Memory;

impl Controller for Memory {
    const NAME: &'static str = "memory";
    const FIELD: &'static str = "memory";

    fn needed(res: &Resources) -> bool {
        res.memory
            .as_ref()
            .is_some_and(|m| *m != Default::default())
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        let Some(m) = &res.memory else { return Ok(()) };
        let unsupported = |field: &str| Error::Unsupported {
            field: field.to_owned(),
            version: "v2",
        };
        if m.swappiness.is_some() {
            return Err(unsupported("memory.swappiness"));
        }
        if m.kernel.is_some() {
            return Err(unsupported("memory.kernel"));
        }
        if m.kernel_tcp.is_some() {
            return Err(unsupported("memory.kernelTCP"));
        }
        if m.disable_oom_killer == Some(true) {
            return Err(unsupported("memory.disableOOMKiller"));
        }
        if m.use_hierarchy == Some(false) {
            return Err(unsupported("memory.useHierarchy=false"));
        }
        let mut swap = v2_swap(m.limit, m.swap)?;
        // Unlimited memory with swap left unset: lift swap too (as v1 lifts
        // memsw, and as runc does), or an old swap limit would stay.
        if m.limit.is_some_and(|l| l < 0) && m.swap.is_none() && dir.join(SWAP).exists() {
            swap = Some("max".to_owned());
        }
        // Swap before the limit: a failing swap write leaves the old limit.
        if let Some(s) = swap {
            write_field("memory.swap", dir, SWAP, &s)?;
        }
        if let Some(l) = m.limit.filter(|l| *l != 0) {
            write_field("memory.limit", dir, "memory.max", &v2_bytes(l))?;
        }
        if let Some(r) = m.reservation.filter(|r| *r != 0) {
            write_field("memory.reservation", dir, "memory.low", &v2_bytes(r))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Memory as M;
    use std::fs;

    fn setup() -> nsbox_testutil::TempDir {
        let t = nsbox_testutil::TempDir::new("cg-v2-mem");
        for f in ["memory.max", "memory.low", "memory.swap.max"] {
            fs::write(t.join(f), "max\n").unwrap();
        }
        t
    }

    #[test]
    fn converts_swap_and_writes() {
        let t = setup();
        let r = Resources {
            memory: Some(M {
                limit: Some(64 << 20),
                swap: Some(96 << 20),
                reservation: Some(-1),
                ..Default::default()
            }),
            ..Default::default()
        };
        Memory::apply(&r, t.path()).unwrap();
        let rd = |f: &str| fs::read_to_string(t.join(f)).unwrap();
        assert_eq!(rd("memory.max"), "67108864");
        assert_eq!(rd("memory.swap.max"), "33554432");
        assert_eq!(rd("memory.low"), "max");
    }

    /// Back to unlimited with swap unset: swap.max goes to max too, as
    /// v1's memsw does; with no swap accounting (no file) only memory.max.
    #[test]
    fn unlimited_lifts_swap_where_there_is_swap() {
        let t = setup();
        fs::write(t.join("memory.swap.max"), "1048576\n").unwrap();
        let r = Resources {
            memory: Some(M {
                limit: Some(-1),
                ..Default::default()
            }),
            ..Default::default()
        };
        Memory::apply(&r, t.path()).unwrap();
        let rd = |f: &str| fs::read_to_string(t.join(f)).unwrap();
        assert_eq!(
            (rd("memory.max"), rd("memory.swap.max")),
            ("max".into(), "max".into())
        );
        fs::remove_file(t.join("memory.swap.max")).unwrap();
        Memory::apply(&r, t.path()).unwrap();
        assert!(!t.join("memory.swap.max").exists());
    }

    #[test]
    fn v1_knobs_are_errors() {
        let t = setup();
        let r = Resources {
            memory: Some(M {
                swappiness: Some(0),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = Memory::apply(&r, t.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "memory.swappiness: not supported by cgroup v2"
        );
        let r = Resources {
            memory: Some(M {
                disable_oom_killer: Some(false),
                limit: Some(-1),
                ..Default::default()
            }),
            ..Default::default()
        };
        Memory::apply(&r, t.path()).unwrap();
    }
}
