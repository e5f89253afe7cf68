//! v2 pids: pids.max, the same file and format as v1.

use std::path::Path;

use crate::controller::Controller;
use crate::error::Result;
use crate::resources::Resources;

pub struct Pids;

impl Controller for Pids {
    const NAME: &'static str = "pids";
    const FIELD: &'static str = "pids";

    fn needed(res: &Resources) -> bool {
        res.pids.is_some()
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        crate::v1::pids::Pids::apply(res, dir)
    }
}
