//! v1 hugetlb: hugetlb.<size>.limit_in_bytes.

use std::path::Path;

use crate::controller::{check_page_size, Controller};
use crate::error::Result;
use crate::fs::write_field;
use crate::resources::Resources;

pub struct Hugetlb;

impl Controller for Hugetlb {
    const NAME: &'static str = "hugetlb";
    const FIELD: &'static str = "hugepageLimits";

    fn needed(res: &Resources) -> bool {
        !res.hugepage_limits.is_empty()
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        for h in &res.hugepage_limits {
            check_page_size(&h.page_size)?;
            let field = format!("hugepageLimits[{}]", h.page_size);
            let file = format!("hugetlb.{}.limit_in_bytes", h.page_size);
            write_field(&field, dir, &file, &h.limit.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::HugepageLimit;

    #[test]
    fn per_size_file() {
        let t = nsbox_testutil::TempDir::new("cg-v1-huge");
        std::fs::write(t.join("hugetlb.2MB.limit_in_bytes"), "").unwrap();
        let mut r = Resources {
            hugepage_limits: vec![HugepageLimit {
                page_size: "2MB".into(),
                limit: 4 << 20,
            }],
            ..Default::default()
        };
        Hugetlb::apply(&r, t.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.join("hugetlb.2MB.limit_in_bytes")).unwrap(),
            "4194304"
        );
        r.hugepage_limits[0].page_size = "1GB".into();
        let e = Hugetlb::apply(&r, t.path()).unwrap_err();
        assert!(
            e.to_string().starts_with("hugepageLimits[1GB]: write"),
            "{e}"
        );
        r.hugepage_limits[0].page_size = "../x".into();
        assert!(Hugetlb::apply(&r, t.path()).is_err());
    }
}
