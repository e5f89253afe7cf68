//! v1 memory: limit, soft limit (reservation), memory+swap, kernel and TCP
//! kernel memory, swappiness, the OOM killer switch.

use std::path::Path;

use crate::controller::Controller;
use crate::error::{Error, Result};
use crate::fs::{read_u64, write_field};
use crate::resources::Resources;

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW: &str = "memory.memsw.limit_in_bytes";

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
        let mut swap = m.swap;
        // Unlimited memory with swap left unset: lift memsw too, or a
        // previous memsw limit would stay in force.
        if m.limit == Some(-1) && swap.is_none() && dir.join(MEMSW).exists() {
            swap = Some(-1);
        }
        set_limit_and_swap(dir, m.limit, swap)?;
        if let Some(r) = m.reservation {
            write_field(
                "memory.reservation",
                dir,
                "memory.soft_limit_in_bytes",
                &r.to_string(),
            )?;
        }
        if let Some(k) = m.kernel {
            write_limit_checked("memory.kernel", dir, "memory.kmem.limit_in_bytes", k)?;
        }
        if let Some(k) = m.kernel_tcp {
            write_limit_checked("memory.kernelTCP", dir, "memory.kmem.tcp.limit_in_bytes", k)?;
        }
        if let Some(s) = m.swappiness {
            if s > 100 {
                return Err(Error::Invalid {
                    field: "memory.swappiness".to_owned(),
                    value: s.to_string(),
                    reason: "must be 0..=100",
                });
            }
            write_field(
                "memory.swappiness",
                dir,
                "memory.swappiness",
                &s.to_string(),
            )?;
        }
        if let Some(d) = m.disable_oom_killer {
            write_field(
                "memory.disableOOMKiller",
                dir,
                "memory.oom_control",
                if d { "1" } else { "0" },
            )?;
        }
        if let Some(h) = m.use_hierarchy {
            write_field(
                "memory.useHierarchy",
                dir,
                "memory.use_hierarchy",
                if h { "1" } else { "0" },
            )?;
        }
        Ok(())
    }
}

/// Writes a byte limit and reads it back: the kernel may take a write and
/// ignore it (`memory.kmem.limit_in_bytes` since Linux 6.1), and a limit
/// that is not in force must be an error, never a silent skip.
fn write_limit_checked(field: &str, dir: &Path, file: &str, value: i64) -> Result<()> {
    write_field(field, dir, file, &value.to_string())?;
    let path = dir.join(file);
    let found = crate::fs::read(&path)?;
    if honoured(value, found.trim(), rustix::param::page_size() as u64) {
        return Ok(());
    }
    Err(Error::Ignored {
        field: field.to_owned(),
        path,
        value,
        found: found.trim().to_owned(),
    })
}

/// Whether a v1 byte limit file reading `found` holds `value`: the kernel
/// rounds a limit down to whole pages and prints "unlimited" (-1) as
/// `i64::MAX` rounded down to a page.
fn honoured(value: i64, found: &str, page: u64) -> bool {
    let Ok(found) = found.parse::<u64>() else {
        return false;
    };
    let unlimited = (i64::MAX as u64) / page * page;
    match u64::try_from(value) {
        Err(_) => found >= unlimited,
        Ok(v) => found == v / page * page || found == v.min(unlimited),
    }
}

/// The kernel keeps memory limit <= memory+swap limit at every moment, so
/// the order of the two writes depends on where the values move.
fn set_limit_and_swap(dir: &Path, limit: Option<i64>, swap: Option<i64>) -> Result<()> {
    let write_limit = |l: i64| write_field("memory.limit", dir, LIMIT, &l.to_string());
    let write_swap = |s: i64| write_field("memory.swap", dir, MEMSW, &s.to_string());
    match (limit, swap) {
        (None, None) => Ok(()),
        (Some(l), None) => write_limit(l),
        (None, Some(s)) => write_swap(s),
        (Some(l), Some(s)) => {
            if s >= 0 && l >= 0 && s < l {
                return Err(Error::Invalid {
                    field: "memory.swap".to_owned(),
                    value: s.to_string(),
                    reason: "memory+swap is below the memory limit",
                });
            }
            if s >= 0 && l < 0 {
                return Err(Error::Invalid {
                    field: "memory.swap".to_owned(),
                    value: s.to_string(),
                    reason: "a swap limit needs a memory limit",
                });
            }
            let current = read_u64(&dir.join(LIMIT))?;
            // Raising memsw above the current limit is always allowed.
            if s < 0 || s as u64 >= current {
                write_swap(s)?;
                write_limit(l)
            } else {
                write_limit(l)?;
                write_swap(s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Memory as M;
    use std::fs;

    fn dir() -> nsbox_testutil::TempDir {
        let t = nsbox_testutil::TempDir::new("cg-v1-mem");
        for f in [
            LIMIT,
            MEMSW,
            "memory.soft_limit_in_bytes",
            "memory.swappiness",
            "memory.oom_control",
        ] {
            fs::write(t.join(f), "9223372036854771712\n").unwrap();
        }
        t
    }

    fn res(m: M) -> Resources {
        Resources {
            memory: Some(m),
            ..Default::default()
        }
    }

    #[test]
    fn writes_each_file() {
        let t = dir();
        let r = res(M {
            limit: Some(64 << 20),
            swap: Some(128 << 20),
            reservation: Some(32 << 20),
            swappiness: Some(10),
            disable_oom_killer: Some(true),
            ..Default::default()
        });
        assert!(Memory::needed(&r));
        Memory::apply(&r, t.path()).unwrap();
        let rd = |f: &str| fs::read_to_string(t.join(f)).unwrap();
        assert_eq!(rd(LIMIT), "67108864");
        assert_eq!(rd(MEMSW), "134217728");
        assert_eq!(rd("memory.soft_limit_in_bytes"), "33554432");
        assert_eq!(rd("memory.swappiness"), "10");
        assert_eq!(rd("memory.oom_control"), "1");
    }

    #[test]
    fn unlimited_lifts_swap() {
        let t = dir();
        Memory::apply(
            &res(M {
                limit: Some(-1),
                ..Default::default()
            }),
            t.path(),
        )
        .unwrap();
        assert_eq!(fs::read_to_string(t.join(MEMSW)).unwrap(), "-1");
    }

    #[test]
    fn rejects_bad_values_naming_field() {
        let t = dir();
        let e = Memory::apply(
            &res(M {
                limit: Some(200),
                swap: Some(100),
                ..Default::default()
            }),
            t.path(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "memory.swap: invalid value 100: memory+swap is below the memory limit"
        );
        let e = Memory::apply(
            &res(M {
                swappiness: Some(101),
                ..Default::default()
            }),
            t.path(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("memory.swappiness"), "{e}");
    }

    #[test]
    fn kernel_limits_read_back() {
        let t = dir();
        for f in [
            "memory.kmem.limit_in_bytes",
            "memory.kmem.tcp.limit_in_bytes",
        ] {
            fs::write(t.join(f), "0\n").unwrap();
        }
        let r = res(M {
            kernel: Some(64 << 20),
            kernel_tcp: Some(1 << 20),
            ..Default::default()
        });
        Memory::apply(&r, t.path()).unwrap();
        assert_eq!(
            fs::read_to_string(t.join("memory.kmem.limit_in_bytes")).unwrap(),
            "67108864"
        );
    }

    #[test]
    fn ignored_write_is_detected() {
        let page = 4096;
        assert!(honoured(1 << 20, "1048576", page));
        assert!(honoured(1_000_000, "999424", page));
        assert!(honoured(-1, "9223372036854771712", page));
        // What Linux >= 6.1 shows after accepting memory.kmem.limit_in_bytes.
        assert!(!honoured(1 << 20, "9223372036854771712", page));
        assert!(!honoured(1 << 20, "", page));
        let e = Error::Ignored {
            field: "memory.kernel".into(),
            path: "/x/memory.kmem.limit_in_bytes".into(),
            value: 1048576,
            found: "9223372036854771712".into(),
        };
        assert!(e.to_string().starts_with(
            "memory.kernel: wrote \"1048576\" to /x/memory.kmem.limit_in_bytes but the kernel ignored it"
        ));
    }

    #[test]
    fn missing_file_is_an_error_naming_field_and_file() {
        let t = dir();
        let e = Memory::apply(
            &res(M {
                kernel_tcp: Some(1 << 20),
                ..Default::default()
            }),
            t.path(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("memory.kernelTCP: write \"1048576\" to /tmp/"),
            "{e}"
        );
        assert!(
            e.to_string().ends_with("/memory.kmem.tcp.limit_in_bytes"),
            "{e}"
        );
        assert!(!Memory::needed(&Resources::default()));
    }
}
