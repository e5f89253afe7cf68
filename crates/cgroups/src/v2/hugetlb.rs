//! v2 hugetlb: hugetlb.<size>.max.

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
            let file = format!("hugetlb.{}.max", h.page_size);
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
    fn per_size_max() {
        let t = nsbox_testutil::TempDir::new("cg-v2-huge");
        std::fs::write(t.join("hugetlb.2MB.max"), "max\n").unwrap();
        let r = Resources {
            hugepage_limits: vec![HugepageLimit {
                page_size: "2MB".into(),
                limit: 2 << 20,
            }],
            ..Default::default()
        };
        Hugetlb::apply(&r, t.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.join("hugetlb.2MB.max")).unwrap(),
            "2097152"
        );
    }
}
