//! Clock offsets of a time namespace (`/proc/self/timens_offsets`): written
//! after the namespace is created (unshare) and before any process enters
//! it; the first process to enter freezes them.

use std::path::PathBuf;

use crate::Error;

/// One clock's offset: seconds plus nanoseconds (`0..1_000_000_000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockOffset {
    pub secs: i64,
    pub nanos: u32,
}

/// The offsets a new time namespace gets; `None` leaves a clock as the host's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeOffsets {
    pub monotonic: Option<ClockOffset>,
    pub boottime: Option<ClockOffset>,
}

impl TimeOffsets {
    pub fn is_empty(&self) -> bool {
        self.monotonic.is_none() && self.boottime.is_none()
    }

    /// The text `timens_offsets` takes: `<clock> <secs> <nanos>` lines.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for (name, off) in [("monotonic", self.monotonic), ("boottime", self.boottime)] {
            if let Some(o) = off {
                text.push_str(&format!("{name} {} {}\n", o.secs, o.nanos));
            }
        }
        text
    }
}

/// Writes `offsets` for the time namespace the caller's children will be
/// born into (the one just unshared). Nothing is written when empty.
pub fn write_offsets(offsets: &TimeOffsets) -> Result<(), Error> {
    if offsets.is_empty() {
        return Ok(());
    }
    let path = PathBuf::from("/proc/self/timens_offsets");
    std::fs::write(&path, offsets.text()).map_err(|source| Error::Write { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_has_one_line_per_clock() {
        let o = TimeOffsets {
            monotonic: Some(ClockOffset { secs: -5, nanos: 0 }),
            boottime: Some(ClockOffset {
                secs: 86400,
                nanos: 7,
            }),
        };
        assert_eq!(o.text(), "monotonic -5 0\nboottime 86400 7\n");
        assert!(TimeOffsets::default().is_empty());
        assert_eq!(TimeOffsets::default().text(), "");
    }
}
