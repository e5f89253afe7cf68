//! `linux.timeOffsets`: the clocks of a new time namespace. The plan keeps
//! that namespace out of the clone (`plan::with_time_offsets`); init
//! unshares it, writes the offsets here, then forks into it.

use nsbox_ns::{ClockOffset, TimeOffsets};
use oci_spec::runtime::Spec;

use super::Failure;
use crate::protocol::Step;

/// The clocks a time namespace can offset, as the config names them.
pub const CLOCKS: [&str; 2] = ["monotonic", "boottime"];

/// The config's offsets (validated: known clocks, nanosecs below 1 s).
pub fn offsets(spec: &Spec) -> TimeOffsets {
    let map = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref());
    let clock = |name: &str| {
        map.and_then(|m| m.get(name)).map(|o| ClockOffset {
            secs: o.secs().unwrap_or(0),
            nanos: o.nanosecs().unwrap_or(0),
        })
    };
    TimeOffsets {
        monotonic: clock("monotonic"),
        boottime: clock("boottime"),
    }
}

/// Whether the config sets any offset.
pub fn asked(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
        .is_some_and(|m| !m.is_empty())
}

/// Writes the offsets of the time namespace just unshared.
pub fn apply(spec: &Spec) -> Result<(), Failure> {
    nsbox_ns::timens::write_offsets(&offsets(spec)).map_err(|e| Failure {
        step: Step::TimeOffsets,
        errno: e.errno().unwrap_or(libc::EIO),
    })
}
