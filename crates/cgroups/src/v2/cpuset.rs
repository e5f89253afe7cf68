//! v2 cpuset: cpuset.cpus and cpuset.mems. Unlike v1, an empty v2 cpuset
//! inherits its parent's, so nothing needs copying.

use std::path::Path;

use crate::controller::Controller;
use crate::error::Result;
use crate::resources::Resources;

pub struct Cpuset;

impl Controller for Cpuset {
    const NAME: &'static str = "cpuset";
    const FIELD: &'static str = "cpu";

    fn needed(res: &Resources) -> bool {
        crate::v1::cpuset::Cpuset::needed(res)
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        // Same file names and formats as v1.
        crate::v1::cpuset::Cpuset::apply(res, dir)
    }
}
