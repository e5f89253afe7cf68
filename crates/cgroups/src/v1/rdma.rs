//! rdma.max, the same file in v1 and v2: `dev hca_handle=N hca_object=N`.

use std::path::Path;

use crate::controller::{rdma_lines, Controller};
use crate::error::Result;
use crate::fs::write_field;
use crate::resources::Resources;

pub struct Rdma;

impl Controller for Rdma {
    const NAME: &'static str = "rdma";
    const FIELD: &'static str = "rdma";

    fn needed(res: &Resources) -> bool {
        !res.rdma.is_empty()
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        for (field, line) in rdma_lines(res) {
            write_field(&field, dir, "rdma.max", &line)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdma_max_line() {
        let t = nsbox_testutil::TempDir::new("cg-rdma");
        std::fs::write(t.join("rdma.max"), "").unwrap();
        let mut r = Resources::default();
        r.rdma.insert(
            "mlx4_0".into(),
            crate::resources::Rdma {
                hca_handles: Some(2),
                hca_objects: None,
            },
        );
        Rdma::apply(&r, t.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.join("rdma.max")).unwrap(),
            "mlx4_0 hca_handle=2 hca_object=max"
        );
    }
}
