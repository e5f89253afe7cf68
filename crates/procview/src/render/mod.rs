//! Pure functions that render each file of the view from plain inputs: the
//! host's own file text and the cgroup's limits and counters. Nothing here
//! reads a file, so every rule is unit-tested on fixed text.

pub mod cpus;
pub mod diskstats;
pub mod loadavg;
pub mod meminfo;
pub mod stat;
pub mod swaps;
pub mod uptime;

/// The value of `Key:   N ...` in a `/proc/meminfo`-style text.
pub(crate) fn field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, rest) = l.split_once(':')?;
        if k != key {
            return None;
        }
        rest.split_whitespace().next()?.parse().ok()
    })
}
