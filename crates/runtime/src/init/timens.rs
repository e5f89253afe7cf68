//! `linux.timeOffsets`: the clocks of a new time namespace. The plan keeps
//! that namespace out of the clone (`plan::with_time_offsets`); init
//! unshares it, writes the offsets here, then forks into it.

use oci_spec::runtime::Spec;

use crate::bundle::decode::time_offsets;
use crate::step::{Failure, Step};

/// Writes the offsets of the time namespace just unshared.
pub fn apply(spec: &Spec) -> Result<(), Failure> {
    nsbox_ns::timens::write_offsets(&time_offsets(spec)).map_err(|e| Failure {
        step: Step::TimeOffsets,
        errno: e.errno().unwrap_or(libc::EIO),
    })
}
