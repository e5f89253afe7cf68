//! v2 rdma: rdma.max, same format as v1.

use std::path::Path;

use crate::controller::Controller;
use crate::error::Result;
use crate::resources::Resources;

pub struct Rdma;

impl Controller for Rdma {
    const NAME: &'static str = "rdma";
    const FIELD: &'static str = "rdma";

    fn needed(res: &Resources) -> bool {
        !res.rdma.is_empty()
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        crate::v1::rdma::Rdma::apply(res, dir)
    }
}
