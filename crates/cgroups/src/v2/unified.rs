//! OCI `unified`: raw cgroup v2 files and values, written as given after the
//! typed controllers so that they can override them. A key must name an
//! existing file directly in the cgroup directory.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fs::write_field;
use crate::resources::Resources;

/// The controller a key belongs to (`memory.high` → `memory`); `None` for
/// core files (`cgroup.*`), which need no controller.
pub fn controller_of(key: &str) -> Option<&str> {
    let c = key.split('.').next()?;
    (c != "cgroup").then_some(c)
}

pub fn apply(res: &Resources, dir: &Path) -> Result<()> {
    for (key, value) in &res.unified {
        let field = format!("unified[{key}]");
        if key.is_empty() || key.contains('/') || key.starts_with('.') || !key.contains('.') {
            return Err(Error::Invalid {
                field,
                value: format!("{key:?}"),
                reason: "not a cgroup v2 file name",
            });
        }
        write_field(&field, dir, key, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_keys() {
        let t = nsbox_testutil::TempDir::new("cg-v2-unified");
        std::fs::write(t.join("memory.high"), "max\n").unwrap();
        let mut r = Resources::default();
        r.unified.insert("memory.high".into(), "1000000".into());
        apply(&r, t.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.join("memory.high")).unwrap(),
            "1000000"
        );
        assert_eq!(controller_of("memory.high"), Some("memory"));
        assert_eq!(controller_of("cgroup.max.depth"), None);

        r.unified.clear();
        r.unified.insert("../memory.high".into(), "1".into());
        assert!(apply(&r, t.path()).is_err());
        r.unified.clear();
        r.unified.insert("memory.nope".into(), "1".into());
        let e = apply(&r, t.path()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unified[memory.nope]: write \"1\" to"),
            "{e}"
        );
        assert!(!t.join("memory.nope").exists());
    }
}
